"""Sessions end to end, with second-scale reminders from a test config: a supporter plans a
meeting and is reminded with a calendar file; the person is told and opts in to reminders; the
log after the meeting and a concern reaching the coordinator (never its words); a coordinator
plans and cancels; a reminder whose moment passed while the bot was down is dropped; a restart
in the middle of a due batch sends nobody a reminder twice."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from bot.delivery import kinds, session_calendar
from bot.telegram.app import Runtime
from conversations.sessions import Where
from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from storage import Store
from tests.e2e.coordination import CORA, GROUP_ID, hand_over, refer, write_config
from tests.e2e.harness import CHOICES_KEY, HIV_PLAN, BotFiles, BotProcess, drained, in_process
from tests.e2e.test_checkins import poll

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
    # A start on a whole minute at least 60 s away; reminders 25 s and 29 s from now (the
    # form, the claim and the planning take well under that).
    now = datetime.now(UTC)
    start = (now + timedelta(seconds=120)).replace(second=0, microsecond=0)
    lead = (start - now).total_seconds()
    config = session_config(tmp_path, remind=[lead - 25, lead - 29], log_after=3600)
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
        assert (datetime.now(UTC) - now).total_seconds() < 25  # both reminders still ahead

        await emulator.wait_until(lambda: len(documents(sam)) == 2, timeout=40, what="reminders")
        await robin.wait_for(lambda m: m.content.startswith("A short reminder"), timeout=10)
        await drained(emulator)

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
    assert b"Jubilee" not in files.raw_bytes()  # the place is sealed, in every table and state


async def test_a_coordinator_plans_and_cancels_and_a_concern_reaches_them(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    # The log 1 s after the start; reminders a day and an hour before (not within the test).
    config = session_config(tmp_path, remind=[24 * HOUR, HOUR], log_after=1.0)
    files = BotFiles(tmp_path, config_path=config)
    robin, cora = emulator.user(6311, "Robin"), emulator.user(CORA, "Cora")
    sam = supporter(emulator, 6361)
    async with in_process(files, emulator) as runtime:
        await cora.send("/start")
        reference = await refer(robin, AGREE, files.config())
        await claimed(cora, reference)
        await match(runtime.store, reference, sam.id)

        await cora.send(f"/referral {reference}")
        details = await cora.wait_for(lambda m: m.content.startswith(f"Referral {reference}"))
        assert details.button_texts[-2:] == ["Plan a session", "Meetings"]
        await cora.press("Plan a session", message=details)
        picker = await cora.wait_for(lambda m: "Which day?" in m.content)
        await cora.press("Tomorrow", message=picker)
        await emulator.wait_until(lambda: "What time" in picker.content, what="the time step")
        await cora.send("10:00")
        where = await cora.wait_for(lambda m: "online or in person" in m.content)
        await cora.press("Online", message=where)
        await emulator.wait_until(lambda: "Please check" in where.content, what="the check")
        await cora.press("Yes, save it", message=where)
        await emulator.wait_until(lambda: "Saved" in where.content, what="saved")
        assert "remind the supporter" in where.content

        planned = await sam.wait_for(lambda m: "A new meeting is in your diary" in m.content)
        assert planned.protect_content and reference in planned.content
        await robin.wait_for(lambda m: "A time is set" in m.content, timeout=10)

        await cora.press("Cancel this meeting", message=where)
        sure = await cora.wait_for(lambda m: "Cancel the meeting on" in m.content)
        await cora.press("Yes, cancel it", message=sure)
        await emulator.wait_until(lambda: "is cancelled" in sure.content, what="cancelled")
        off = await robin.wait_for(lambda m: "A change of plan." in m.content, timeout=10)
        assert off.content.startswith("A change of plan.\n")
        assert {s for s, _, _ in outbox(files, kinds.SESSION_REMINDER)} <= {"dropped"}
        assert [s for s, _, _ in outbox(files, kinds.SESSION_LOG)] == ["dropped"]

        # A meeting that just happened (written through the storage API, to the second).
        session_id = await seed_session(runtime, reference, seconds=1.0)
        ask = await sam.wait_for(lambda m: "Did the meeting" in m.content, timeout=10)
        assert ask.protect_content
        await sam.press("I have a concern", message=ask)
        await emulator.wait_until(lambda: "Thank you for telling us" in ask.content, what="ok")
        concern = await cora.wait_for(lambda m: f"Please look at {reference} soon" in m.content)
        assert concern.protect_content
        await sam.send("Zebra-canary worry words")
        await sam.wait_for(lambda m: "Your note is with the coordinator" in m.content)
        note = await cora.wait_for(lambda m: "A note from the supporter" in m.content)
        assert "Zebra-canary worry words" in note.content and note.protect_content
        await sam.press_data(f"m:lg:{session_id}:h", message=ask)  # a late second tap
        await emulator.wait_until(lambda: "noted already" in ask.content, what="noted once")
        await drained(emulator)

    assert "Zebra" not in concern.content
    group = emulator.group(GROUP_ID)
    assert not any("Zebra" in m.content or "concern" in m.content for m in group.bot_messages)
    assert not any("Zebra" in m.content for m in robin.bot_messages)
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            session = await uow.sessions.get(session_id)
            referral = await uow.referrals.by_reference(reference)
            assert referral is not None
            notes = [e.body for e in await uow.thread.list(referral) if e.kind == "note"]
            actions = [(e.action, e.detail) for e in await uow.audit.entries()]
    finally:
        await store.close()
    assert session is not None and session.outcome == "concern"
    assert notes == [b"Zebra-canary worry words"]
    assert ("session:logged", "concern") in actions
    assert [a for a, _ in actions].count("session:logged") == 1
    assert not any("Zebra" in str(d) for _, d in actions)
    assert b"Zebra" not in files.raw_bytes()
    assert [s for s, _, _ in outbox(files, kinds.CONCERN)] == ["sent"]


async def seed_session(runtime: Runtime, reference: str, seconds: float) -> int:
    """A session of the referral's engagement starting in `seconds`, armed like a planned one."""
    now = datetime.now(UTC)
    programme = runtime.config.programme("hiv")
    assert programme is not None
    async with runtime.store.unit() as uow:
        referral = await uow.referrals.by_reference(reference)
        assert referral is not None
        engagement = await uow.engagements.live(referral)
        assert engagement is not None and engagement.supporter_id is not None
        author = await uow.people.get(engagement.supporter_id)
        assert author is not None
        start = now + timedelta(seconds=seconds)
        session = await uow.sessions.add(
            engagement, referral, start, Where(True).to_bytes(), author, now
        )
        await session_calendar.arm(uow, programme, referral, session, now, by_coordinator=False)
    runtime.worker.wake()
    return session.id


# -- downtime and restarts -----------------------------------------------------------------------


async def seed_matches(
    files: BotFiles, pairs: list[tuple[int, int]], start: datetime, *, arm: bool
) -> list[int]:
    """For each (person, supporter): a matched referral held by Cora, a session at `start`;
    armed like a planned one, or with only the first reminder queued, due now. Returns the
    session ids. Written through the storage API while no bot runs."""
    programme = files.config().programme("hiv")
    assert programme is not None
    now = datetime.now(UTC)
    made = []
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            cora = await uow.people.find(CORA) or await uow.people.create(CORA, now)
            for person_id, supporter_id in pairs:
                person = await uow.people.create(person_id, now)
                answers = b'{"name": "Sam"}'
                referral = await uow.referrals.create(person, "hiv", answers, False, now)
                assert await uow.referrals.claim(referral, cora, now)
                helper = await uow.people.create(supporter_id, now)
                await uow.roles.grant(helper, "supporter", "hiv", now)
                engagement = await uow.engagements.offer(referral, helper, cora, b"{}", now)
                assert engagement is not None
                await uow.engagements.decide(engagement, "accepted", now)
                await uow.referrals.set_status(referral, "matched", now)
                session = await uow.sessions.add(
                    engagement, referral, start, Where(True).to_bytes(), helper, now
                )
                made.append(session.id)
                if arm:
                    await session_calendar.arm(
                        uow, programme, referral, session, now, by_coordinator=False
                    )
                else:
                    await uow.outbox.schedule(
                        kinds.SESSION_REMINDER,
                        slot=f"{session.id}:0",
                        referral=referral,
                        due_at=now,
                        now=now,
                    )
    finally:
        await store.close()
    return made


async def test_a_reminder_whose_moment_passed_while_the_bot_was_down_is_dropped(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    # The meeting starts 4 s from now, reminders 3 s and 2 s before it, the log 1 s after;
    # the bot comes back as if 6 s later (its clock is ahead; no real waiting): the reminders
    # are dropped, the log still comes.
    config = session_config(tmp_path, remind=[3.0, 2.0], log_after=1.0)
    files = BotFiles(tmp_path, config_path=config)
    files.data_dir.mkdir(parents=True, exist_ok=True)
    robin, sam = supporter(emulator, 6321), supporter(emulator, 6371)
    start = datetime.now(UTC) + timedelta(seconds=4)
    await seed_matches(files, [(robin.id, sam.id)], start, arm=True)
    runtime = in_process(files, emulator)
    runtime.clock = lambda: datetime.now(UTC) + timedelta(seconds=6)  # after the downtime
    async with runtime:
        ask = await sam.wait_for(lambda m: "Did the meeting" in m.content, timeout=10)
        await drained(emulator)
    assert documents(sam) == []  # no reminder after the moment it was for
    assert [m.content for m in sam.bot_messages] == [ask.content]
    assert outbox(files, kinds.SESSION_REMINDER) == [
        ("dropped", f"{1}:0", "late"),
        ("dropped", f"{1}:1", "late"),
    ]
    assert [s for s, _, _ in outbox(files, kinds.SESSION_LOG)] == ["sent"]
    # the person's news of the time is not sent either, once the meeting has begun
    assert [e for _, _, e in outbox(files, kinds.SESSION_NEWS)] == ["late"]
    assert robin.bot_messages == []


async def test_a_restart_in_the_middle_of_a_batch_of_reminders_sends_none_twice(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    ids = list(range(8300, 8360))
    pairs = [(i, i + 1000) for i in ids]
    helpers = [supporter(emulator, s) for _, s in pairs]
    files = BotFiles(tmp_path, config_path=session_config(tmp_path, [HOUR], log_after=HOUR))
    files.data_dir.mkdir(parents=True, exist_ok=True)
    await seed_matches(files, pairs, datetime.now(UTC) + timedelta(minutes=30), arm=False)
    bot = BotProcess(files, emulator)
    await bot.start()
    try:
        await emulator.wait_until(
            lambda: sum(len(documents(h)) for h in helpers) >= 20, timeout=20, what="a third"
        )
        await bot.kill()  # in the middle of sending (about 30 a second)
        assert sum(len(documents(h)) for h in helpers) < len(helpers)
        await bot.start()
        await poll(
            lambda: all(s != "pending" for s, _, _ in outbox(files, kinds.SESSION_REMINDER)),
            timeout=30,
            what="every due reminder settled",
        )
    finally:
        await bot.stop()  # the worker finishes what it has in hand; nothing is sent after
    counts = [len(documents(h)) for h in helpers]
    assert max(counts) == 1  # nobody twice
    rows = outbox(files, kinds.SESSION_REMINDER)
    ambiguous = [r for r in rows if r[2] == "ambiguous"]
    assert len(ambiguous) <= 1  # at most the one on the wire at the kill, never sent again
    assert counts.count(0) <= len(ambiguous)
    assert {s for s, _, _ in rows} <= {"sent", "failed"}
    assert emulator.too_many_requests == []


# -- through the hand-over, and the person's choices --------------------------------------------


async def test_a_supporter_plans_from_the_hand_over_they_accepted(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    from tests.e2e.test_supporters_match import SAM, contacted_referral, profile

    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    sam = emulator.user(SAM, "Sam")
    async with in_process(files, emulator) as runtime:
        await profile(sam, emulator, runtime, ["English"], "Online", "Walking")
        robin, cora, reference, status = await contacted_referral(emulator, files)
        handover = await hand_over(cora, sam, emulator, status)
        await sam.press("Yes, I can", message=handover)
        yes = await sam.wait_for(lambda m: f"You support {reference} now" in m.content)
        assert yes.button_texts == ["Plan a session", "Meetings"]

        await sam.press("Plan a session", message=yes)
        picker = await sam.wait_for(lambda m: "Which day?" in m.content)
        await sam.press("Tomorrow", message=picker)
        await emulator.wait_until(lambda: "What time" in picker.content, what="the time step")
        await sam.send("6.30pm")
        where = await sam.wait_for(lambda m: "online or in person" in m.content)
        await sam.press("Online", message=where)
        await emulator.wait_until(lambda: "18:30" in where.content, what="the check")
        await sam.press("Yes, save it", message=where)
        await emulator.wait_until(lambda: "Saved" in where.content, what="saved")

        news = await robin.wait_for(lambda m: "A time is set" in m.content, timeout=10)
        assert "18:30" in news.content and "Online" in news.content
        await robin.press("Yes, remind me", message=news)  # they did not agree to check-ins
        await robin.wait_for(lambda m: "we need your OK for check-ins" in m.content)

        await robin.send("/mydata")  # the meeting is in the person's copy
        copy = await robin.wait_for(lambda m: "Meetings" in m.content, timeout=10)
        assert "18:30 · Online" in copy.content
        file = await robin.wait_for(lambda m: m.document is not None)
        assert file.document is not None
        [meeting] = json.loads(file.document.data)["referrals"][0]["meetings"]
        assert meeting["online"] is True and meeting["cancelled"] is False

        await robin.send("/privacy")  # reminders can be chosen there too, after check-ins
        settings = await robin.wait_for(lambda m: "Your choices" in m.content)
        await robin.press("☐ A short reminder before each meeting", message=settings)
        await drained(emulator)
        assert "☐ A short reminder before each meeting" in settings.button_texts  # not yet
        await robin.press("☐ Short check-in messages while I wait", message=settings)
        await emulator.wait_until(
            lambda: "☑ Short check-in messages while I wait" in settings.button_texts,
            what="check-ins on",
        )
        await robin.press("☐ A short reminder before each meeting", message=settings)
        await emulator.wait_until(
            lambda: "☑ A short reminder before each meeting" in settings.button_texts,
            what="reminders on",
        )
        assert outbox(files, kinds.SESSION_REMINDER_REFERRER) != []
        await robin.press("☑ A short reminder before each meeting", message=settings)
        await emulator.wait_until(
            lambda: "☐ A short reminder before each meeting" in settings.button_texts,
            what="reminders off",
        )

        await sam.send("/sessions")
        listing = await sam.wait_for(lambda m: "The people you support" in m.content)
        assert f"{reference}: " in listing.content and "at 18:30" in listing.content
        await sam.press("Meetings", message=listing)
        meetings = await sam.wait_for(lambda m: f"Meetings with {reference}" in m.content)
        assert meetings.button_texts[0].startswith("Cancel ")
        await drained(emulator)
    referrer = outbox(files, kinds.SESSION_REMINDER_REFERRER)  # on, then off in /privacy
    assert referrer and {state for state, _, _ in referrer} == {"dropped"}
    tomorrow = datetime.now(UTC).astimezone(LONDON).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, datetime.min.time().replace(hour=18, minute=30), LONDON)
    ahead = [h for h in (24, 1) if start - timedelta(hours=h) > datetime.now(UTC)]
    assert [s for s, _, _ in outbox(files, kinds.SESSION_REMINDER)] == ["pending"] * len(ahead)


async def test_stop_drops_the_persons_reminders_and_closing_drops_them_all(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    config = session_config(tmp_path, remind=[HOUR], log_after=HOUR)
    files = BotFiles(tmp_path, config_path=config)
    robin, cora = emulator.user(6331, "Robin"), emulator.user(CORA, "Cora")
    sam = supporter(emulator, 6381)
    async with in_process(files, emulator) as runtime:
        await cora.send("/start")
        reference = await refer(robin, AGREE, files.config())
        await claimed(cora, reference)
        await match(runtime.store, reference, sam.id)
        await seed_session(runtime, reference, seconds=2 * HOUR)
        news = await robin.wait_for(lambda m: "A time is set" in m.content, timeout=10)
        await robin.press("Yes, remind me", message=news)
        await robin.wait_for(lambda m: "short reminder before each meeting" in m.content)
        assert [s for s, _, _ in outbox(files, kinds.SESSION_REMINDER_REFERRER)] == ["pending"]

        await robin.send("/stop")
        await robin.wait_for(lambda m: "not send you check-ins any more" in m.content)
        assert [s for s, _, _ in outbox(files, kinds.SESSION_REMINDER_REFERRER)] == ["dropped"]
        await robin.send("/start")
        again = await robin.wait_for(lambda m: "Would you like them again?" in m.content)
        await robin.press("Yes, check in with me", message=again)
        await robin.wait_for(lambda m: "We will check in with you now and then" in m.content)
        states = [s for s, _, _ in outbox(files, kinds.SESSION_REMINDER_REFERRER)]
        assert states == ["dropped", "pending"]  # armed again, once

        await cora.send(f"/referral {reference}")
        details = await cora.wait_for(lambda m: m.content.startswith(f"Referral {reference}"))
        await cora.press("Close", message=details)
        await cora.wait_for(lambda m: "closed" in m.content)
        await drained(emulator)
    for kind in (kinds.SESSION_REMINDER, kinds.SESSION_REMINDER_REFERRER, kinds.SESSION_LOG):
        assert "pending" not in {s for s, _, _ in outbox(files, kind)}, kind


async def test_a_person_who_blocked_the_bot_is_marked_by_the_news_of_a_time(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    from tests.e2e.test_checkins import blocked

    config = session_config(tmp_path, remind=[HOUR], log_after=HOUR)
    files = BotFiles(tmp_path, config_path=config)
    files.data_dir.mkdir(parents=True, exist_ok=True)
    robin, sam = supporter(emulator, 6341), supporter(emulator, 6391)
    robin.chat.blocked = True  # blocked while the bot was not looking
    await seed_matches(
        files, [(robin.id, sam.id)], datetime.now(UTC) + 2 * timedelta(hours=1), arm=True
    )
    async with in_process(files, emulator):
        await poll(
            lambda: outbox(files, kinds.SESSION_NEWS) == [("failed", "1", "blocked")],
            timeout=10,
            what="the news given up",
        )
        await drained(emulator)
    assert await blocked(files, robin.id)
    assert [s for s, _, _ in outbox(files, kinds.SESSION_REMINDER)] == [
        "pending"
    ]  # the supporter's


async def test_the_news_of_a_time_is_held_while_the_person_paused_messages(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    config = session_config(tmp_path, remind=[HOUR], log_after=HOUR)
    files = BotFiles(tmp_path, config_path=config)
    robin, cora = emulator.user(6351, "Robin"), emulator.user(CORA, "Cora")
    sam = supporter(emulator, 6399)
    async with in_process(files, emulator) as runtime:
        await cora.send("/start")
        reference = await refer(robin, AGREE, files.config())
        await claimed(cora, reference)
        await match(runtime.store, reference, sam.id)
        await robin.send("/pause")
        await robin.wait_for(lambda m: m.content.startswith("Pause messages from us?"))
        await robin.press("For 1 day")
        await robin.wait_for(lambda m: "We will not send you anything until" in m.content)

        await seed_session(runtime, reference, seconds=3 * HOUR)
        await poll(
            lambda: [s for s, _, _ in outbox(files, kinds.SESSION_NEWS)] == ["pending"],
            timeout=5,
            what="the news queued",
        )
        await drained(emulator)
        assert not any("A time is set" in m.content for m in robin.bot_messages)
        with contextlib.closing(sqlite3.connect(files.database)) as db:
            (due,) = db.execute("SELECT due_at FROM outbox WHERE kind = 'session_news'").fetchone()
        assert datetime.fromisoformat(due) > datetime.now(UTC) + timedelta(hours=23)

        await robin.send("/pause")
        await robin.wait_for(lambda m: "Messages are paused until" in m.content)
        await robin.press("Start messages again now")
        news = await robin.wait_for(lambda m: "A time is set" in m.content, timeout=10)
        assert news.content.startswith("A time is set for your next meeting.")
