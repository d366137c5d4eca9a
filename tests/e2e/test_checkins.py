"""Check-ins end to end, with second-scale intervals from the test config: a waiting check-in
arrives once, never without consent; a deferral's "door stays open" arrives once; /stop ends
them and /start offers them again; a restart in the middle of a due batch neither doubles nor
loses one; a 429 burst still delivers; a person who blocked the bot is marked and not retried."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.delivery import kinds
from bot.services import preferences
from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from tests.e2e.coordination import CORA, refer, write_config
from tests.e2e.harness import (
    CHOICES_KEY,
    HIV_PLAN,
    BotFiles,
    BotProcess,
    MovableClock,
    drained,
    in_process,
    later,
)

CHECKIN = "Hello, just checking in."
WAITING = "still waiting for someone from our team"
DOOR = "Our door stays open"
AGREE = {**HIV_PLAN, CHOICES_KEY: ["Short check-in messages"]}
DAY = 86400.0


def days(seconds: float) -> float:
    return seconds / DAY


def checkins(person: ScriptedUser, words: str = WAITING) -> list[StoredMessage]:
    return [m for m in person.bot_messages if words in (m.text or "")]


async def poll(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Wait for a condition on the database (the emulator is not told of those changes)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(0.1)


def outbox(files: BotFiles, kind: str) -> list[tuple[str, str | None, str | None]]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        rows = db.execute(
            "SELECT state, slot, error FROM outbox WHERE kind = ? ORDER BY id", (kind,)
        ).fetchall()
    return [(state, slot, error) for state, slot, error in rows]


async def test_a_waiting_checkin_arrives_once_and_never_without_consent(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    # First check-in 1.5 s after sending; the next a day later (not within this test).
    config = write_config(tmp_path, waiting_after_days=days(1.5), waiting_every_days=1)
    files = BotFiles(tmp_path, config_path=config)
    robin = emulator.user(6101, "Robin")  # agrees to check-ins
    sam = emulator.user(6102, "Sam")  # does not
    clock = MovableClock()
    async with in_process(files, emulator, clock) as runtime:
        await refer(robin, AGREE, files.config())
        await refer(sam, HIV_PLAN, files.config())
        await later(runtime, emulator, clock, 1.5)
        message = await robin.wait_for(lambda m: WAITING in m.text)
        assert message.text.startswith(CHECKIN)  # neutral first line
        assert "/stop" in message.text
        await later(runtime, emulator, clock, 2.0)
        assert len(checkins(robin)) == 1
        assert checkins(sam) == []
    rows = outbox(files, kinds.CHECKIN)
    assert [(s, slot) for s, slot, _ in rows] == [("sent", "w0"), ("pending", "w1")]


async def test_a_deferral_gets_the_door_stays_open_once(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    # "The door stays open" 2 s after the deferral; waiting check-ins not within the test.
    config = write_config(tmp_path, deferred_after_weeks=days(2.0) / 7)
    files = BotFiles(tmp_path, config_path=config)
    robin = emulator.user(6111, "Robin")
    cora = emulator.user(CORA, "Cora")
    clock = MovableClock()
    async with in_process(files, emulator, clock) as runtime:
        await cora.send("/start")
        reference = await refer(robin, AGREE, files.config())
        await cora.send(f"/referral {reference}")
        await cora.wait_for(lambda m: m.text.startswith(reference))
        await cora.press("Claim")
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        await cora.press("Defer", message=details)
        await cora.wait_for(lambda m: "which services" in m.text)
        await cora.press("Send and defer")
        await robin.wait_for(lambda m: "not a no" in m.text, timeout=8)
        await later(runtime, emulator, clock, 2.0)
        door = await robin.wait_for(lambda m: DOOR in m.text)
        assert door.text.startswith(CHECKIN)
        await later(runtime, emulator, clock, 2.5)
        assert len(checkins(robin, DOOR)) == 1
        assert checkins(robin) == []  # deferred: no more "still waiting"
    assert [s for s, _, _ in outbox(files, kinds.DOOR_OPEN)] == ["sent"]
    assert [s for s, _, _ in outbox(files, kinds.CHECKIN)] == ["dropped"]  # not waiting now


async def test_stop_ends_checkins_and_start_offers_them_again(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    # Every 1.5 s after the first at 1.5 s.
    config = write_config(tmp_path, waiting_after_days=days(1.5), waiting_every_days=days(1.5))
    files = BotFiles(tmp_path, config_path=config)
    robin = emulator.user(6121, "Robin")
    clock = MovableClock()
    async with in_process(files, emulator, clock) as runtime:
        await refer(robin, AGREE, files.config())
        await later(runtime, emulator, clock, 1.5)
        await robin.wait_for(lambda m: WAITING in m.text)
        await robin.send("/stop")
        await robin.wait_for(lambda m: "not send you check-ins any more" in m.text)
        stopped_with = len(checkins(robin))
        await later(runtime, emulator, clock, 3.5)  # two more periods
        assert len(checkins(robin)) == stopped_with
        assert all(state != "pending" for state, _, _ in outbox(files, kinds.CHECKIN))

        await robin.send("/start")
        offer = await robin.wait_for(lambda m: "Would you like them again?" in m.text)
        assert offer.button_texts == ["Yes, check in with me"]
        await robin.press("Yes, check in with me", message=offer)
        await robin.wait_for(lambda m: "We will check in with you now and then" in m.text)
        await later(runtime, emulator, clock, 1.5)
        await robin.wait_for(lambda m: WAITING in m.text)

    store = await files.open_store()
    try:
        async with store.unit() as uow:
            person = await uow.people.find(robin.id)
            assert person is not None
            prefs = await preferences.load(uow, person)
            actions = [e.action for e in await uow.audit.entries()]
    finally:
        await store.close()
    consent = prefs.consents["checkins"]
    assert consent.given and consent.version == "1"
    assert prefs.checkins_stopped_at is None
    assert actions.count("choice:checkins") == 2  # the stop and the resume, no content


# -- many at once: restarts, floods, blocked people ---------------------------------------------


async def seed(files: BotFiles, ids: list[int], due: datetime) -> None:
    """Consenting people with waiting referrals and a check-in due at `due`, written through
    the storage API (no form, no group notice)."""
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            for telegram_id in ids:
                person = await uow.people.create(telegram_id, due)
                answers = json.dumps({"name": "Sam"}).encode()
                referral = await uow.referrals.create(
                    person, "hiv", answers, urgent=False, now=due - timedelta(days=8)
                )
                prefs = await preferences.load(uow, person)
                prefs.language = "en"
                prefs.record("checkins", True, "1", due)
                await preferences.save(uow, person, prefs, due)
                await uow.outbox.schedule(
                    kinds.CHECKIN, slot="w0", referral=referral, due_at=due, now=due
                )
    finally:
        await store.close()


def people(emulator: BotApiEmulator, ids: list[int]) -> list[ScriptedUser]:
    """Emulated people who wrote to the bot before (their private chats exist)."""
    found = []
    for i in ids:
        person = emulator.user(i, "Person")
        person.chat.exists = True
        found.append(person)
    return found


def delivered_per_chat(emulator: BotApiEmulator, ids: list[int]) -> dict[int, int]:
    return {i: len(checkins(emulator.user(i))) for i in ids}


async def test_a_restart_in_the_middle_of_a_due_batch_doubles_and_loses_nothing(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    ids = list(range(8000, 8090))
    people(emulator, ids)
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    files.data_dir.mkdir(parents=True, exist_ok=True)
    await seed(files, ids, datetime.now(UTC))
    bot = BotProcess(files, emulator)
    await bot.start()
    try:
        await emulator.wait_until(
            lambda: sum(delivered_per_chat(emulator, ids).values()) >= 30,
            timeout=20,
            what="a third of the batch",
        )
        await bot.kill()  # in the middle of sending (about 30 a second)
        mid = sum(delivered_per_chat(emulator, ids).values())
        assert mid < len(ids)
        await bot.start()
        await poll(
            lambda: all(state != "pending" for state, _, _ in outbox_w0(files)),
            timeout=30,
            what="every due check-in settled",
        )
    finally:
        await bot.stop()  # the worker finishes what it has in hand; nothing is sent after
    counts = delivered_per_chat(emulator, ids)
    assert max(counts.values()) == 1  # nobody twice
    ambiguous = [r for r in outbox_w0(files) if r[2] == "ambiguous"]
    missing = [i for i, n in counts.items() if n == 0]
    # At most the one that was on the wire at the kill is in doubt; it is never sent again,
    # and whether it arrived is Telegram's secret. Everything else arrived exactly once.
    assert len(ambiguous) <= 1
    assert len(missing) <= len(ambiguous)
    assert {s for s, _, _ in outbox_w0(files)} <= {"failed", "sent"}
    assert emulator.too_many_requests == []


def outbox_w0(files: BotFiles) -> list[tuple[str, str | None, str | None]]:
    return [r for r in outbox(files, kinds.CHECKIN) if r[1] == "w0"]


async def test_a_burst_of_429_still_delivers(tmp_path: Path, emulator: BotApiEmulator) -> None:
    ids = [8101, 8102, 8103]
    people(emulator, ids)
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    files.data_dir.mkdir(parents=True, exist_ok=True)
    emulator.fail_next("sendMessage", status=429, retry_after=1, times=3)
    await seed(files, ids, datetime.now(UTC))
    async with in_process(files, emulator):
        await emulator.wait_until(
            lambda: all(n == 1 for n in delivered_per_chat(emulator, ids).values()),
            timeout=20,
            what="every check-in",
        )
        await drained(emulator)
    assert delivered_per_chat(emulator, ids) == dict.fromkeys(ids, 1)
    assert len([t for t in emulator.too_many_requests if t.injected]) == 3
    assert [s for s, _, _ in outbox_w0(files)] == ["sent"] * 3


async def test_a_person_who_blocked_the_bot_is_marked_and_not_retried(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    # Check-ins every 1 s, to show the next ones are not even tried.
    config = write_config(tmp_path, waiting_every_days=days(1.0))
    files = BotFiles(tmp_path, config_path=config)
    files.data_dir.mkdir(parents=True, exist_ok=True)
    (alex,) = people(emulator, [8201])
    # Blocked while the bot was not looking (its my_chat_member update lost): the 403 tells.
    alex.chat.blocked = True
    await seed(files, [alex.id], datetime.now(UTC))
    clock = MovableClock()
    async with in_process(files, emulator, clock) as runtime:
        await poll(lambda: any(s == "failed" for s, _, _ in outbox_w0(files)), 10, "gave up")
        await later(runtime, emulator, clock, 2.5)
        tries = [
            r
            for r in emulator.requests_for("sendMessage")
            if str(r.params.get("chat_id")) == str(alex.id)
        ]
        assert len(tries) == 1  # one 403, no retries, nothing more
        assert outbox_w0(files) == [("failed", "w0", "blocked")]
        assert await blocked(files, alex.id)

        alex.chat.blocked = False
        await alex.send("/status")  # they write again
        await alex.wait_for(lambda m: "Your reference is" in m.text)
        await later(runtime, emulator, clock, 1.0)
        await emulator.wait_until(lambda: checkins(alex), what="a new check-in")
    assert not await blocked(files, alex.id)


async def blocked(files: BotFiles, telegram_id: int) -> bool:
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            person = await uow.people.find(telegram_id)
            assert person is not None
            return (await preferences.load(uow, person)).blocked
    finally:
        await store.close()
