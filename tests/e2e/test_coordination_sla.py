"""Service levels: the group is reminded of a referral nobody claimed, the holder of one nobody
contacted; recording contact stops it; reminders survive a crash. Second-scale service levels
come from the test config (claim_within_hours, contact_within_days)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sandbox.emulator import BotApiEmulator, ScriptedGroup, ScriptedUser, StoredMessage
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import HIV_PLAN, BotFiles, BotProcess, MovableClock, in_process, later

GROUP_REMINDER = "Reminder: a referral is still waiting"


def reminders_in(group: ScriptedGroup, reference: str) -> list[StoredMessage]:
    return [
        m
        for m in group.chat.messages.values()
        if m.from_bot
        and reference in (m.text or "")
        and GROUP_REMINDER in ((m.edits[0] if m.edits else None) or m.text or "")
    ]


def contact_reminders(person: ScriptedUser, reference: str) -> list[StoredMessage]:
    text = f"Reminder: {reference} is waiting for first contact."
    return [m for m in person.bot_messages if m.text == text]


def outbox(files: BotFiles, reference: str, kind: str) -> list[str]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        rows = db.execute(
            "SELECT o.state FROM outbox o JOIN referrals r ON r.id = o.referral_id"
            " WHERE r.reference = ? AND o.kind = ? ORDER BY o.id",
            (reference, kind),
        ).fetchall()
    return [state for (state,) in rows]


async def seed_referral(files: BotFiles, telegram_id: int) -> str:
    """A waiting referral written through the storage API (no form, no group notice)."""
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            now = datetime.now(UTC)
            person = await uow.people.create(telegram_id, now)
            answers = json.dumps({"name": "Sam"}).encode()
            referral = await uow.referrals.create(person, "hiv", answers, urgent=False, now=now)
            return referral.reference
    finally:
        await store.close()


async def test_reminders_for_the_group_and_the_holder(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    # Claim within 1.8 s, first contact within 1.73 s (of the bot's clock, moved on by the test).
    config = write_config(tmp_path, claim_within_hours=0.0005, contact_within_days=0.00002)
    files = BotFiles(tmp_path, config_path=config)
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(6001, "Robin")
    cora = emulator.user(CORA, "Cora")
    clock = MovableClock()
    async with in_process(files, emulator, clock) as runtime:
        await cora.send("/start")
        waiting = await refer(robin, HIV_PLAN, files.config())

        # Another referral, claimed in private and contacted at once, before anything is due.
        contacted = await seed_referral(files, 6002)
        await cora.send(f"/referral {contacted}")
        await cora.wait_for(lambda m: m.text.startswith(contacted))
        await cora.press("Claim")
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {contacted}"))
        await cora.press("Contacted", message=details)
        await cora.wait_for(lambda m: f"{contacted} is now contacted" in m.text)

        # Robin's referral waits: the group is reminded, with a Claim button.
        await later(runtime, emulator, clock, 1.8)
        await emulator.wait_until(lambda: reminders_in(group, waiting), what="group reminder")
        reminder = reminders_in(group, waiting)[-1]
        assert reminder.button_texts == ["Claim"]
        assert "Robin" not in reminder.text and "Lawson Unit" not in reminder.text
        await cora.press("Claim", chat=group, message=reminder)
        await cora.wait_for(lambda m: m.text.startswith(f"Referral {waiting}"))

        # Claimed, not contacted: the holder is reminded, with a Contacted button.
        await later(runtime, emulator, clock, 1.8)
        nudge = await cora.wait_for(
            lambda m: m.text == f"Reminder: {waiting} is waiting for first contact."
        )
        assert nudge.button_texts == ["Contacted"]
        await cora.press("Contacted", message=nudge)
        await cora.wait_for(lambda m: f"{waiting} is now contacted" in m.text)
        await emulator.wait_until(lambda: "claimed by Cora" in reminder.text, timeout=8)
        reminded = len(reminders_in(group, waiting))

        # A little more than one more period of each: nothing else arrives.
        await later(runtime, emulator, clock, 2.0)
        assert len(reminders_in(group, waiting)) == reminded
        assert reminders_in(group, contacted) == []
        assert len(contact_reminders(cora, waiting)) == 1
        assert contact_reminders(cora, contacted) == []
        assert "pending" not in outbox(files, waiting, "notice_reminder")
        assert outbox(files, waiting, "contact_reminder") == ["sent"]
        assert outbox(files, contacted, "contact_reminder") == ["dropped"]


async def test_reminders_survive_a_crash(tmp_path: Path, emulator: BotApiEmulator) -> None:
    # Claim within 3.6 s, first contact within 3.5 s.
    config = write_config(tmp_path, claim_within_hours=0.001, contact_within_days=0.00004)
    files = BotFiles(tmp_path, config_path=config)
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(6003, "Robin")
    cora = emulator.user(CORA, "Cora")
    bot = BotProcess(files, emulator)
    await bot.start()
    try:
        await cora.send("/start")
        reference = await refer(robin, HIV_PLAN, files.config())
        await group_notice(group, reference)
        await bot.kill()  # before the reminder is due
        assert reminders_in(group, reference) == []
        await bot.start()
        await emulator.wait_until(
            lambda: reminders_in(group, reference), timeout=10, what="group reminder"
        )
        # Marked sent (the next one pending): this one cannot go out again.
        await emulator.wait_until(
            lambda: outbox(files, reference, "notice_reminder") == ["sent", "pending"],
            what="the reminder marked sent",
        )
        assert len(reminders_in(group, reference)) == 1

        reminder = reminders_in(group, reference)[0]
        await cora.press("Claim", chat=group, message=reminder)
        await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"), timeout=8)
        await bot.kill()  # claimed, the contact reminder not yet due
        assert outbox(files, reference, "contact_reminder") == ["pending"]
        await bot.start()
        await emulator.wait_until(
            lambda: contact_reminders(cora, reference), timeout=10, what="contact reminder"
        )
        await emulator.wait_until(
            lambda: outbox(files, reference, "contact_reminder") == ["sent"],
            what="the contact reminder marked sent",
        )
        assert len(contact_reminders(cora, reference)) == 1
    finally:
        await bot.stop()
