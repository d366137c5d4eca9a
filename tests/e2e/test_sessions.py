"""Sessions end to end, with second-scale reminders from a test config: a supporter plans a
meeting and is reminded with a calendar file; the person is told and opts in to reminders; the
log after the meeting and a concern reaching the coordinator (never its words); a coordinator
plans and cancels; a reminder whose moment passed while the bot was down is dropped; a restart
in the middle of a due batch sends nobody a reminder twice."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from bot import outbox_kinds as kinds
from storage import Store
from tests.e2e.coordination import CORA, GROUP_ID, refer, write_config
from tests.e2e.harness import CHOICES_KEY, HIV_PLAN, BotFiles, in_process
from tests.emulator import BotApiEmulator, ScriptedUser, StoredMessage

AGREE = {**HIV_PLAN, CHOICES_KEY: ["Short check-in messages"]}
LONDON = ZoneInfo("Europe/London")
HOUR = 3600.0


def session_config(
    folder: Path, remind: list[float], log_after: float, **service_levels: float
) -> Path:
    """The coordination test config, with the HIV programme's session timings in seconds."""
    path = write_config(folder, **service_levels)
    text = path.read_text(encoding="utf-8")
    hours = ", ".join(f"{s / HOUR:.8f}" for s in remind)
    for key, value in (
        ("remind_before_hours", f"[{hours}]"),
        ("log_after_hours", f"{log_after / HOUR:.8f}"),
    ):
        text = re.sub(rf"\n{key} = [^\n]*\n", f"\n{key} = {value}\n", text, count=1)
    path.write_text(text, encoding="utf-8")
    return path


def outbox(files: BotFiles, kind: str) -> list[tuple[str, str | None, str | None]]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        rows = db.execute(
            "SELECT state, slot, error FROM outbox WHERE kind = ? ORDER BY id", (kind,)
        ).fetchall()
    return [(state, slot, error) for state, slot, error in rows]


def documents(person: ScriptedUser) -> list[StoredMessage]:
    return [m for m in person.bot_messages if m.document is not None]


async def match(store: Store, reference: str, supporter_id: int) -> str:
    """The referral is matched with an accepted engagement (written through the storage API;
    the hand-over buttons are the matching flow's own tests)."""
    now = datetime.now(UTC)
    async with store.unit() as uow:
        supporter = await uow.people.find(supporter_id) or await uow.people.create(
            supporter_id, now
        )
        await uow.roles.grant(supporter, "supporter", "hiv", now)
        referral = await uow.referrals.by_reference(reference)
        coordinator = await uow.people.find(CORA)
        assert referral is not None and coordinator is not None
        engagement = await uow.engagements.offer(referral, supporter, coordinator, b"{}", now)
        assert engagement is not None
        assert await uow.engagements.decide(engagement, "accepted", now)
        await uow.referrals.set_status(referral, "matched", now)
    return engagement.id


async def claimed(cora: ScriptedUser, reference: str) -> StoredMessage:
    await cora.send(f"/referral {reference}")
    await cora.wait_for(lambda m: m.content.startswith(reference))
    await cora.press("Claim")
    return await cora.wait_for(lambda m: m.content.startswith(f"Referral {reference}"))


def supporter(emulator: BotApiEmulator, telegram_id: int) -> ScriptedUser:
    person = emulator.user(telegram_id, "Sam")
    person.chat.exists = True
    return person


async def test_a_supporter_plans_a_meeting_and_both_are_reminded(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    # A start on the next minute at least 40 s away; reminders 14 s and 18 s from now.
    now = datetime.now(UTC)
    start = (now + timedelta(seconds=100)).replace(second=0, microsecond=0)
    lead = (start - now).total_seconds()
    config = session_config(tmp_path, remind=[lead - 14, lead - 18], log_after=3600)
    files = BotFiles(tmp_path, config_path=config)
    robin, cora, sam = emulator.user(6301, "Robin"), emulator.user(CORA, "Cora"), None
    sam = supporter(emulator, 6351)
    async with in_process(files, emulator) as runtime:
        await cora.send("/start")
        reference = await refer(robin, AGREE, files.config())
        await claimed(cora, reference)
        await match(runtime.store, reference, sam.id)

        await sam.send("/sessions")
        listing = await sam.wait_for(lambda m: reference in m.content)
        assert "no meeting planned" in listing.content
        await sam.press(f"Plan: {reference}", message=listing)
        picker = await sam.wait_for(lambda m: "Which day?" in m.content)
        assert picker.button_texts[-1] == "Cancel"
        local = start.astimezone(LONDON)
        today = datetime.now(UTC).astimezone(LONDON).date()
        await sam.press("Today" if local.date() == today else "Tomorrow", message=picker)
        await emulator.wait_until(lambda: "What time" in picker.content, what="the time step")
        await sam.send("half past")
        await sam.wait_for(lambda m: "could not read that time" in m.content)
        await sam.send(local.strftime("%H:%M"))
        where = await sam.wait_for(lambda m: "online or in person" in m.content)
        await sam.press("In person", message=where)
        await emulator.wait_until(lambda: "Where will you meet" in where.content, what="place")
        await sam.send("Jubilee Library, North Road")
        check = await sam.wait_for(lambda m: "Please check" in m.content)
        assert "Jubilee Library, North Road" in check.content
        await sam.press("Yes, save it", message=check)
        await emulator.wait_until(lambda: "Saved" in check.content, what="saved")

        news = await robin.wait_for(lambda m: "A time is set" in m.content, timeout=10)
        assert news.content.startswith("A time is set for your next meeting.\n")
        assert local.strftime("%H:%M") in news.content
        await robin.press("Yes, remind me", message=news)
        await robin.wait_for(lambda m: "short reminder before each meeting" in m.content)

        await emulator.wait_until(lambda: len(documents(sam)) == 2, timeout=30, what="reminders")
        await robin.wait_for(lambda m: m.content.startswith("A short reminder"), timeout=10)
        await emulator.settle(quiet=0.5)

    first, second = documents(sam)
    assert first.protect_content and second.protect_content
    assert first.content.startswith("A reminder: you have a meeting on")
    assert first.document is not None and second.document is not None
    assert first.document.filename == "meeting.ics"
    event = next(iter(icalendar.Calendar.from_ical(first.document.data).walk("VEVENT")))
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(hours=1)
    assert str(event["SUMMARY"]) == "Meeting"
    assert str(event["LOCATION"]) == "Jubilee Library, North Road"
    assert b"DTSTART:" + start.strftime("%Y%m%dT%H%M%SZ").encode() in first.document.data
    again = next(iter(icalendar.Calendar.from_ical(second.document.data).walk("VEVENT")))
    assert str(again["UID"]) == str(event["UID"])  # the same event, updated, not a second one
    assert reference not in str(event.to_ical())

    robin_reminders = [m for m in robin.bot_messages if m.content.startswith("A short reminder")]
    assert len(robin_reminders) == 2
    assert all(m.document is None for m in robin.bot_messages)  # no calendar file for them
    assert [s for s, _, _ in outbox(files, kinds.SESSION_REMINDER)] == ["sent", "sent"]
    assert [s for s, _, _ in outbox(files, kinds.SESSION_REMINDER_REFERRER)] == ["sent", "sent"]
    assert [s for s, _, _ in outbox(files, kinds.SESSION_LOG)] == ["pending"]
    group = emulator.group(GROUP_ID)
    assert not any("Jubilee" in m.content for m in group.bot_messages)
