"""Telegram failing: the group notice still arrives exactly once, a crash between commit and
send loses nothing, and a referrer who blocked the bot does not hold up anyone else."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator, ScriptedGroup
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import HIV_PLAN, BotFiles, BotProcess, drain, drained, in_process


class FastClock:
    """Wall-clock time plus an offset the test moves on: the worker's back-off (2, 4, 8 s...)
    passes without waiting for it. Injected into the bot like the real clock."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@contextlib.asynccontextmanager
async def time_passes(runtime: Runtime, clock: FastClock) -> AsyncIterator[None]:
    """Every 50 ms, five seconds pass for the bot and its delivery worker looks again."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.05)
            clock.offset += timedelta(seconds=5)
            runtime.worker.wake()

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def outbox_rows(files: BotFiles, reference: str) -> list[tuple[str, str, int, str | None]]:
    """(kind, state, attempts, error) of the referral's outbox rows, oldest first."""
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        return db.execute(
            "SELECT o.kind, o.state, o.attempts, o.error FROM outbox o"
            " JOIN referrals r ON r.id = o.referral_id WHERE r.reference = ? ORDER BY o.id",
            (reference,),
        ).fetchall()


def in_group(group: ScriptedGroup, reference: str) -> list[str]:
    return [m.text or "" for m in group.bot_messages if reference in (m.text or "")]


def group_sends(emulator: BotApiEmulator) -> list[tuple[int, str | None]]:
    return [
        (r.status, r.fault)
        for r in emulator.requests_for("sendMessage")
        if str(r.params.get("chat_id")) == str(GROUP_ID)
    ]


async def test_group_errors_timeouts_and_flood_then_one_notice(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    # Without PTB's own rate limiter, the 429 reaches the delivery worker (with it, PTB retries
    # the 429 itself and the worker never sees it).
    settings = files.settings(emulator).model_copy(update={"rate_limit": False})
    clock = FastClock()
    runtime = Runtime(settings, files.config(), files.key, emulator.token, clock, poll_timeout=1)
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5701, "Robin")
    errors = emulator.fail_next("sendMessage", status=500, times=2, chat_id=GROUP_ID)
    timeout = emulator.fail_next("sendMessage", kind="timeout", hold=0.5, chat_id=GROUP_ID)
    flood = emulator.fail_next("sendMessage", status=429, retry_after=1, chat_id=GROUP_ID)
    async with runtime:
        reference = await refer(robin, HIV_PLAN, files.config())
        await emulator.wait_until(lambda: errors.triggered == 1, what="first 500")
        async with time_passes(runtime, clock):
            await group_notice(group, reference, timeout=15)
            await drain(runtime, emulator)
        assert (errors.triggered, timeout.triggered, flood.triggered) == (2, 1, 1)
        assert len(in_group(group, reference)) == 1
        # Four failed attempts (500, 500, connection held then closed, 429), one success.
        assert [s for s, _ in group_sends(emulator)] == [500, 500, 499, 429, 200]
        notice = outbox_rows(files, reference)[0]
        assert notice == ("notice", "sent", 5, None)
        clock.offset += timedelta(minutes=10)  # the longest back-off: still nothing more
        runtime.worker.wake()
        await drain(runtime, emulator)
        assert len(in_group(group, reference)) == 1


async def test_killed_between_commit_and_send_then_one_notice(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5702, "Robin")
    bot = BotProcess(files, emulator)
    hang = emulator.fail_next("sendMessage", kind="timeout", hold=60, chat_id=GROUP_ID)
    await bot.start()
    try:
        reference = await refer(robin, HIV_PLAN, files.config())
        # The notice is committed and its sendMessage is on the wire, never answered.
        await emulator.wait_until(lambda: hang.triggered == 1, what="notice in flight")
        assert outbox_rows(files, reference)[0][:2] == ("notice", "pending")
        await bot.kill()
        assert in_group(group, reference) == []
        emulator.clear_faults()
        await bot.start()
        await group_notice(group, reference, timeout=10)
        # Marked sent: it cannot go out again.
        await emulator.wait_until(
            lambda: outbox_rows(files, reference)[0][:2] == ("notice", "sent"), what="marked"
        )
        assert len(in_group(group, reference)) == 1
    finally:
        await bot.stop()


@pytest.fixture
async def service(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator):
        yield files


async def test_a_referrer_who_blocked_the_bot_is_given_up_on(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5703, "Robin")
    sam = emulator.user(5704, "Sam")
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    reference = await refer(robin, HIV_PLAN, service.config())
    await group_notice(group, reference)
    await drained(emulator)  # everything for Robin's form is delivered; then Robin blocks
    robin.block()

    await cora.press("Claim", chat=group)
    details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Write to them", message=details)
    await cora.wait_for(lambda m: "Type your message" in m.text)
    await cora.send("Hello Robin, are you still there?")
    await cora.wait_for(lambda m: "Sent to the person" in m.text)

    # Given up on, never retried: tried once and refused (403), or, once Robin is marked as
    # having blocked the bot (the 403, or Telegram's my_chat_member update), not tried at all.
    settled = {("failed", 1, "blocked"), ("dropped", 0, "blocked")}

    def given_up() -> bool:
        rows = {kind: (s, a, e) for kind, s, a, e in outbox_rows(service, reference)}
        return rows.get("news") in settled and rows.get("to_referrer") in settled

    await emulator.wait_until(given_up, timeout=10, what="news and message given up")

    # Everyone else is still served: another referral reaches the group, and Cora works on.
    other = await refer(sam, HIV_PLAN, service.config())
    await group_notice(group, other, timeout=10)
    await drained(emulator)
    to_robin = [
        r for r in emulator.requests_for("sendMessage") if str(r.params["chat_id"]) == "5703"
    ]
    assert {r.status for r in to_robin if r.status != 200} <= {403}
    assert len([r for r in to_robin if r.status != 200]) <= 2
    assert not [m for m in robin.bot_messages if "picked up your form" in m.text]
