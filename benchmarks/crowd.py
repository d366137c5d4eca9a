"""The emulator and the simulated people, in their own process (driven by `interactions`).

    python -m benchmarks.crowd --token TOKEN

Reads one JSON command per line on stdin and answers one JSON line on stdout:

- `{"cmd": "record", "person": ID}`: one person walks the example intake with the semantic
  driver of `people` (reads each screen, answers from HIV_PLAN); the answer is the walk, one
  step per action: typed text or the label of a pressed button, and how many visible requests
  (send*/edit*) the bot made in answer, after it went quiet.
- `{"cmd": "run", "walk": [...], "first_person": ID, "people": N, "pace": S, ...}`: N people
  replay the walk at once. A step is answered when that many visible requests to the
  person's chat succeeded; the person then goes on (at once, or `pace` seconds after the
  previous action at the earliest). Nothing reads screens here: replaying is cheap.
- `{"cmd": "limits", "telegram": true|false}`: flood limits on (30/s overall counting edits,
  20/min per group, a bucket of 3 and 1/s per private chat) or off.

Timestamps are the emulator's clock: t0 just before the update is queued, `RecordedRequest.at`
when a request reaches the emulator (before it is carried out).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import time
from typing import Any

from sandbox.emulator import (
    BotApiEmulator,
    Bucket,
    RateLimits,
    RecordedRequest,
    ScriptedUser,
    Window,
)

from .watch import ChatLog, RequestLog, install, is_visible

TELEGRAM = RateLimits(
    overall=Window(30, 1.0),
    per_group=Window(20, 60.0),
    per_private_chat=Bucket(1.0, 3),
    count_edits=True,
)


def _window_before(
    requests: list[RecordedRequest], at: float, start: float
) -> list[tuple[float, str, str, int | None]]:
    """Each send or edit that reached the emulator in the 1.1 s up to `at`: its time from the
    phase's start, method, kind of chat (private, group, none) and answer status."""
    seen = []
    for r in requests:
        if at - 1.1 <= r.at <= at and is_visible(r.method):
            chat = str(r.params.get("chat_id", ""))
            kind = "group" if chat.startswith("-") else ("private" if chat else "none")
            seen.append((round(r.at - start, 3), r.method, kind, r.status))
    return seen


def ok_visible(log: ChatLog, t0: float) -> list[RecordedRequest]:
    return [r for r in log.since(t0) if r.status == 200 and is_visible(r.method)]


def on_screen(person: ScriptedUser, label: str) -> bool:
    """Some bot message in the chat has a button whose text is or holds `label`.

    Newest first, straight from the chat's messages and keyboards (`StoredMessage.buttons`
    reads the same `reply_markup`): `person.bot_messages` built a list of every message in the
    chat at each check, which grew with the walk."""
    for message in reversed(person.chat.messages.values()):
        if message.deleted or not message.from_bot:
            continue
        for row in (message.reply_markup or {}).get("inline_keyboard") or []:
            if any(label in button.get("text", "") for button in row):
                return True
    return False


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Crowd:
    def __init__(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator
        self.requests: RequestLog = install(emulator)

    # -- recording -------------------------------------------------------------------------

    async def record(self, person_id: int) -> dict[str, Any]:
        from bot.config_file import load_config
        from tests.e2e.harness import EXAMPLE_CONFIG

        from .people import Action, Driver, fill_in_hiv_form

        programme = load_config(EXAMPLE_CONFIG).programme("hiv")
        assert programme is not None
        emulator, steps = self.emulator, []

        class Recorder(Driver):
            async def act(self, action: Action, until: Any, *, contains: bool = False) -> Any:
                t0 = emulator.clock.now()
                result = await super().act(action, until, contains=contains)
                await emulator.settle(quiet=0.3, timeout=30)
                visible = len(ok_visible(self.log, t0))
                steps.append(
                    {"kind": action.kind, "label": action.label, "contains": contains,
                     "visible": visible}
                )  # fmt: skip
                return result

        person = emulator.user(person_id, "Recorder")
        driver = Recorder(emulator, self.requests, person, 60.0)
        await fill_in_hiv_form(driver, programme)
        return {"walk": steps, "reference": driver.outcome.reference}

    # -- replaying -------------------------------------------------------------------------

    async def replay(
        self, person_id: int, walk: list[dict[str, Any]], pace: float, step_timeout: float
    ) -> dict[str, Any]:
        emulator = self.emulator
        person = emulator.user(person_id, f"P{person_id}")
        log = self.requests.chat(person_id)
        first: list[float] = []
        full: list[float] = []
        started = finished = emulator.clock.now()
        error = None
        for index, step in enumerate(walk):
            t0 = emulator.clock.now()
            if index == 0:
                started = t0
            try:
                if step["kind"] == "text":
                    await person.send(step["label"])
                else:
                    await person.press(step["label"], contains=step["contains"])
                wanted = step["visible"]
                after = walk[index + 1] if index + 1 < len(walk) else None
                button = after["label"] if after and after["kind"] == "press" else None

                def answered(
                    t0: float = t0, wanted: int = wanted, button: str | None = button
                ) -> list[RecordedRequest]:
                    seen = ok_visible(log, t0)
                    if len(seen) < wanted:
                        return []
                    # a late request of an earlier answer (retried after a 429) can make up
                    # the count: the next button must be on screen too
                    if button is not None and not on_screen(person, button):
                        return []
                    return seen

                seen = await log.wait(answered, step_timeout)
            except TimeoutError:
                error = f"step {index} ({step['kind']} {step['label']!r}) not answered in time"
                break
            except AssertionError as exc:
                error = f"step {index}: {str(exc).splitlines()[0]}"
                break
            first.append(seen[0].at - t0)
            full.append(seen[step["visible"] - 1].at - t0)
            finished = seen[step["visible"] - 1].at
            if pace > 0:
                await asyncio.sleep(max(0.0, t0 + pace - emulator.clock.now()))
        return {
            "person": person_id,
            "first": first,
            "full": full,
            "started": started,
            "finished": finished,
            "error": error,
            "last_text": (person.last_bot_message.content if person.last_bot_message else None),
        }

    async def run(self, command: dict[str, Any]) -> dict[str, Any]:
        emulator = self.emulator
        first_person, people = int(command["first_person"]), int(command["people"])
        walk, pace = command["walk"], float(command.get("pace", 0.0))
        step_timeout = float(command.get("step_timeout", 120.0))
        start_index = len(emulator.world.requests)
        # What earlier phases left (every request and message is kept) is not garbage: out of
        # the collector's full passes. Each of them walked it all and froze this process for
        # 100 ms and more after a few rounds; the requests the bot sent meanwhile were then
        # stamped at once, four in the same millisecond, and drew Telegram's overall 429 although
        # the bot had paced them 1/29 s apart (before_first_429 showed it).
        gc.collect()
        gc.freeze()
        start_429 = len(emulator.too_many_requests)
        cpu_before, wall_before = cpu(), time.monotonic()
        phase_start = emulator.clock.now()
        outcomes = await asyncio.gather(
            *(self.replay(first_person + i, walk, pace, step_timeout) for i in range(people))
        )
        wall = time.monotonic() - wall_before
        await emulator.settle(quiet=0.5, timeout=30)
        requests = emulator.world.requests[start_index:]
        calls: dict[str, int] = {}
        refused: dict[str, int] = {}
        ours = set(range(first_person, first_person + people))
        for record in requests:
            if record.method.lower() == "getupdates":
                continue
            chat = record.params.get("chat_id")
            where = (
                "person"
                if chat is not None and str(chat).lstrip("-").isdigit() and int(str(chat)) in ours
                else "other"
            )
            key = f"{record.method}@{where}"
            if record.status == 200:
                calls[key] = calls.get(key, 0) + 1
            else:
                refused[f"{key}:{record.status}"] = refused.get(f"{key}:{record.status}", 0) + 1
        too_many = emulator.too_many_requests[start_429:]
        return {
            "outcomes": outcomes,
            "calls": calls,
            "refused": refused,
            "too_many_requests": len(too_many),
            "too_many_in_private_chats": sum(1 for t in too_many if t.chat_id in ours),
            # when each 429 was answered, in seconds from the phase's start (are they a burst?)
            "too_many_at": [round(t.at - phase_start, 3) for t in too_many],
            # what the emulator counted in the second before the first 429: what filled it
            "before_first_429": _window_before(requests, too_many[0].at, phase_start)
            if too_many
            else [],
            "too_many_by_limit": {
                limit: sum(1 for t in too_many if t.limit == limit)
                for limit in {t.limit for t in too_many}
            },
            "crowd_cpu_seconds": cpu() - cpu_before,
            "crowd_wall_seconds": wall,
        }

    def limits(self, telegram: bool) -> dict[str, Any]:
        limits = self.emulator.world.flood.limits
        fresh = TELEGRAM if telegram else RateLimits.off()
        for name in ("enabled", "overall", "per_group", "per_private_chat", "count_edits"):
            setattr(limits, name, getattr(fresh, name))
        return {"limits": "telegram" if telegram else "off"}


async def serve(token: str) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with BotApiEmulator(token=token, rate_limits=False) as emulator:
        crowd = Crowd(emulator)
        emit({"base_url": emulator.base_url})
        while line := await reader.readline():
            command = json.loads(line)
            name = command["cmd"]
            if name == "quit":
                break
            if name == "record":
                emit(await crowd.record(int(command["person"])))
            elif name == "run":
                emit(await crowd.run(command))
            elif name == "limits":
                emit(crowd.limits(bool(command["telegram"])))
            else:
                emit({"error": f"unknown command {name!r}"})


def emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.crowd")
    parser.add_argument("--token", required=True)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop if installed")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop  # type: ignore[import-not-found,unused-ignore]

        uvloop.run(serve(args.token))
    else:
        asyncio.run(serve(args.token))


if __name__ == "__main__":
    main()
