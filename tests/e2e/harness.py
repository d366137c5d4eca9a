"""Running the real bot against the emulator, and scripted people who fill in the form."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config_file import load_config
from bot.settings import Settings
from bot.telegram.app import Runtime
from conversations.forms import Programme, Question, ServiceConfig
from conversations.screens import question_text
from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from sandbox.emulator.scripting import wait_until
from storage import KeyRing, Store

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "bot" / "example_config.toml"
REFERENCE = re.compile(r"\bPD-[0-9A-Z]{6}\b")

#: How a scripted person answers: a button label, several labels (multi), typed text, or
#: SKIP for the Skip / Prefer not to say button.
SKIP = object()
#: In a plan: labels of the choices to tick on the last step (check-ins, feedback, ...).
CHOICES_KEY = "__choices__"
Plan = Mapping[str, object]


@dataclass
class BotFiles:
    """Where one bot keeps its things: a config, a key, a data folder."""

    root: Path
    config_path: Path = EXAMPLE_CONFIG
    key: bytes = field(default_factory=KeyRing.generate)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def database(self) -> Path:
        return self.data_dir / "peerdoor.db"

    def settings(self, emulator: BotApiEmulator) -> Settings:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return Settings(
            telegram_token=emulator.token,  # type: ignore[arg-type]
            telegram_api_url=emulator.base_url,
            config=self.config_path,
            data_dir=self.data_dir,
            key_file=self.root / "unused.key",
            pace_private_chats=False,  # a second of real time per message (unit-tested)
        )

    def config(self) -> ServiceConfig:
        return load_config(self.config_path)

    def env(self, emulator: BotApiEmulator) -> dict[str, str]:
        from bot.ops.keys import encode_key

        return {
            **os.environ,
            "PEERDOOR_TELEGRAM_TOKEN": emulator.token,
            "PEERDOOR_TELEGRAM_API_URL": emulator.base_url,
            "PEERDOOR_CONFIG": str(self.config_path),
            "PEERDOOR_DATA_DIR": str(self.data_dir),
            "PEERDOOR_MASTER_KEY": encode_key(self.key),
        }

    async def open_store(self) -> Store:
        return await Store.open(self.database, KeyRing(self.key))

    def raw_bytes(self) -> bytes:
        """Everything SQLite has on disk: the database, its WAL and shared memory files."""
        parts = [self.database, Path(f"{self.database}-wal"), Path(f"{self.database}-shm")]
        return b"".join(p.read_bytes() for p in parts if p.exists())


class MovableClock:
    """The bot's clock in a test: it stands still (at the moment it was made) until the test
    moves it on (`advance`), so that hours, days and back-offs pass at once instead of being
    waited out, and nothing falls due while the test is not looking."""

    def __init__(self) -> None:
        self.start = datetime.now(UTC)
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return self.start + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


#: The bot running in this process against each emulator (for `drained`).
_RUNNING: weakref.WeakKeyDictionary[BotApiEmulator, Runtime] = weakref.WeakKeyDictionary()


class InProcess(Runtime):
    """A Runtime that, once entered, can be found from its emulator (`drained`)."""

    emulator: BotApiEmulator | None = None

    async def __aenter__(self) -> InProcess:
        await super().__aenter__()
        if self.emulator is not None:
            _RUNNING[self.emulator] = self
        return self


def in_process(
    files: BotFiles, emulator: BotApiEmulator, clock: MovableClock | None = None
) -> InProcess:
    """The real bot (Application, handlers, storage) in this process: `async with` it.
    With `clock`, the bot reads the time from it (see `later`)."""
    settings = files.settings(emulator)
    runtime = InProcess(settings, files.config(), files.key, emulator.token, poll_timeout=1)
    runtime.emulator = emulator
    if clock is not None:
        runtime.clock = clock
    return runtime


async def drained(emulator: BotApiEmulator, timeout: float = 10.0) -> None:
    """`drain` the bot running in this process against `emulator`."""
    await drain(_RUNNING[emulator], emulator, timeout)


async def drain(runtime: Runtime, emulator: BotApiEmulator, timeout: float = 10.0) -> None:
    """Wait until the bot has done everything it can do now, so that "nothing more was sent"
    can be asserted right after (no waiting in silence):

    - the emulator has no request in flight and every update was confirmed (the bot took each
      into its update queue and asked for the next),
    - every update taken was handled (the update queue joined, no handler running),
    - the delivery worker, woken once more, found nothing due by the bot's clock and waits
      with no wake-up signalled (what is due later is for `later` to bring forward).

    Each step is waited for by its own signal; the whole is checked once more at the end, in
    one go, and started over if anything moved meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    app, worker = runtime.app, runtime.worker
    processor = app.update_processor

    def left() -> float:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(
                f"the bot still busy after {timeout}s: emulator idle={emulator.idle()} "
                f"queued updates={app.update_queue.qsize()} "
                f"handling={processor.current_concurrent_updates} worker idle={worker.idle}"
                f"\nworker at: {_where(worker)}"
            )
        return remaining

    def still() -> bool:
        return (
            emulator.idle()
            and app.update_queue.qsize() == 0
            and processor.current_concurrent_updates == 0
            and worker.idle
        )

    while True:
        await emulator.wait_until(emulator.idle, timeout=left(), what="the emulator idle")
        await asyncio.wait_for(app.update_queue.join(), left())
        # One more round of the worker, by the bot's clock now (a timer it armed may not
        # have fired yet): it goes idle only once a round found nothing due.
        worker.wake()
        while not worker.idle:  # a state to reach, polled: the worker has no event for it
            left()
            await asyncio.sleep(0.005)
        if still():
            return
        left()


def _where(worker: object) -> str:
    """Where the delivery worker's task is (for a drain that timed out)."""
    task = getattr(worker, "_task", None)
    if task is None:
        return "not running"
    frames = task.get_stack()
    return " > ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in frames) or "done"


async def later(
    runtime: Runtime, emulator: BotApiEmulator, clock: MovableClock, seconds: float
) -> None:
    """`seconds` pass for the bot at once: its clock moves on, the delivery worker looks at
    what fell due, and the bot is drained."""
    await drain(runtime, emulator, timeout=30.0)
    clock.advance(seconds)
    runtime.worker.wake()
    await drain(runtime, emulator, timeout=30.0)


#: Process ids of `peerdoor run` processes the tests started; a test that failed half way
#: may leave one running, and tests/e2e/conftest.py kills what is left after each test.
STARTED: set[int] = set()


class BotProcess:
    """`peerdoor run` as a real process, for restarts and kills."""

    def __init__(self, files: BotFiles, emulator: BotApiEmulator) -> None:
        self.files, self.emulator = files, emulator
        self.process: asyncio.subprocess.Process | None = None
        self.log = files.root / "bot.log"
        self.started_at = 0  # where the log of the current process begins

    async def start(self, *, ready: bool = True, **env: str) -> None:
        """Start `peerdoor run` and wait until it polls (with `ready`). Extra PEERDOOR_*
        settings in `env`; PEERDOOR_CRASH_AT names a crash point (storage/crashpoints.py)."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.started_at = offset
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.ops.cli",
                "run",
                env={
                    **self.files.env(self.emulator),
                    "PEERDOOR_PACE_PRIVATE_CHATS": "false",  # as in settings() above
                    **env,
                },
                cwd=self.files.root,
                stdout=log,
                stderr=log,
            )
        STARTED.add(self.process.pid)
        if ready:
            await wait_for_log(self.log, "bot.started", offset=offset)

    async def crashed(self, point: str, timeout: float = 30.0) -> None:
        """Wait for the process to die at crash point `point`, and prove it died there: its
        exit status is the crash points' and the point is named in its log."""
        from storage.crashpoints import CRASH_STATUS

        assert self.process is not None
        status = await asyncio.wait_for(self.process.wait(), timeout)
        log = self.log.read_bytes()[self.started_at :].decode(errors="replace")
        assert status == CRASH_STATUS, f"exit status {status}, not a crash point:\n{log[-3000:]}"
        assert f"crash_point.hit point={point}\n" in log, log[-3000:]

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an out-of-memory kill."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 20)
        return self.process.returncode or 0


async def wait_for_log(
    path: Path,
    marker: str,
    timeout: float = 20.0,
    offset: int = 0,
) -> None:
    """Wait until `marker` appears in the log after byte `offset`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if path.exists() and marker.encode() in path.read_bytes()[offset:]:
            return
        await asyncio.sleep(0.05)
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    raise AssertionError(f"{marker!r} not in the bot's log within {timeout}s:\n{text[-3000:]}")


def asked(programme: Programme, message: StoredMessage, language: str) -> Question | None:
    """Which question a bot message asks (the longest question text it contains)."""
    hits = [q for q in programme.form if question_text(programme, q, language) in message.text]
    return max(hits, key=lambda q: len(question_text(programme, q, language)), default=None)


async def consent(person: ScriptedUser, payload: str = "hiv", agree: str = "Yes, I agree") -> None:
    """/start, then tap Yes (or `agree`) under the privacy notice and wait for the answer."""
    await person.send(f"/start {payload}")
    await person.wait_for(
        lambda m: any((b.data or "").startswith("c:y:") for row in m.buttons for b in row)
    )
    shown = len(person.chat.shown_by_bot)
    await person.press(agree)
    # The answer (the notice edited into the first question, or a new message), left unread.
    await wait_until(
        person.world,
        lambda: len(person.chat.shown_by_bot) > shown,
        5.0,
        lambda: f"no answer to {agree!r}:\n{person.transcript()}",
    )


async def answer_question(
    person: ScriptedUser,
    programme: Programme,
    plan: Plan,
    language: str,
    skip_label: str = "Skip",
    prefer_label: str = "Prefer not to say",
    done: str = "Done",
    proceed: str = "Continue",
    stop_at: str | None = None,
) -> Question | None:
    """Wait for the next question, answer it from `plan`; None once the review is shown.

    With `stop_at`, the question with that id is returned unanswered."""
    message = await person.wait_for(lambda m: bool(m.buttons), timeout=10)
    if any((b.data or "").endswith(":S") for row in message.buttons for b in row):
        return None  # the review screen: its Send button
    if any((b.data or "").endswith(":cd") for row in message.buttons for b in row):
        person.skip_sent()
        for label in plan.get(CHOICES_KEY, ()):  # type: ignore[attr-defined]
            await person.press(str(label), contains=True)
        await person.press(done)  # the choices step: consents stay unticked unless planned
        return await answer_question(
            person, programme, plan, language, skip_label, prefer_label, done, proceed, stop_at
        )
    question = asked(programme, message, language)
    assert question is not None, f"not a question: {message.text!r}"
    if question.id == stop_at:
        return question
    value = plan.get(question.id, SKIP if not question.required else None)
    person.skip_sent()
    if question.kind == "info":
        await person.press(proceed)
    elif value is SKIP:
        await person.press(prefer_label if question.skip_label == "prefer_not" else skip_label)
    elif question.kind == "multi":
        assert isinstance(value, Sequence)
        for label in value:
            await person.press(label, contains=True)
        await person.press(done)
    elif question.kind in ("single", "yesno"):
        await person.press(str(value))
    else:
        assert value is not None, f"the plan has no answer for {question.id}"
        await person.send(str(value))
    return question


async def fill_form(
    person: ScriptedUser,
    programme: Programme,
    plan: Plan,
    language: str = "en",
    stop_at: str | None = None,
    **labels: str,
) -> list[str]:
    """Answer questions until the review screen (or until question `stop_at` is asked,
    leaving it unanswered); returns the ids asked, in order."""
    seen: list[str] = []
    for _ in range(len(programme.form) + 2):
        question = await answer_question(
            person, programme, plan, language, stop_at=stop_at, **labels
        )
        if question is None:
            return seen
        seen.append(question.id)
        if question.id == stop_at:
            return seen
    raise AssertionError(f"no review after {seen}")


#: Answers to the shipped HIV form, as a person would give them.
HIV_PLAN: dict[str, object] = {
    "name": "Robin",
    "contact_route": "Only through this chat",
    "age_band": "25 to 34",
    "area": "Brighton",
    "clinic": "Lawson Unit",
    "medication": SKIP,
    "change": "I want to feel less alone",
    "support_type": "One-to-one with a peer supporter",
    "supporter_gender": "I do not mind",
    "languages": ["English"],
    "availability": ["Weekday evenings"],
    "start_date": SKIP,
    "setting": "Online",
    "interests": "Art and walking",
    "heard_from": "From my clinic",
}
