"""A group's meetings end to end: a member who asked for reminders gets them before each meeting
and answers Coming; every member of an online group gets its link privately, shortly before;
each once, and the next meeting is queued as one is sent. A process killed after a reminder
went out and before it was marked sends it never again, and the other members' still come.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.kinds import GROUP_REMINDER
from bot.i18n import load_catalog
from bot.services.groups import GroupsFlow
from bot.telegram.app import Runtime
from conversations import sessions
from conversations.group_schedule import meetings
from sandbox.emulator import BotApiEmulator, ScriptedUser
from tests.e2e.coordination import (
    CORA,
    GROUP_ID,
    offer_group_and_join,
    refer,
    write_config,
)
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

BOTH = {**HIV_PLAN, "support_type": "Both"}
GROUP = "Talking Together"
LONDON = ZoneInfo("Europe/London")
REMINDER = "A short reminder: you have a meeting on"
LINK = "Your meeting starts soon."
SAM = 8101


def texts(person: ScriptedUser, start: str) -> list[str]:
    """The bot's messages to the person that began with ``start`` (as first sent: an answered
    reminder is edited into its answer afterwards)."""
    found = []
    for m in person.chat.sent_by_bot:
        first = (m.edits[0] if m.edits else m.text) or ""
        if first.startswith(start):
            found.append(first)
    return found


async def test_reminders_coming_and_the_link_each_once(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    programme = files.config().programme("hiv")
    assert programme is not None
    config = next(g for g in programme.groups if g.id == "talking_together")
    clock = MovableClock()
    soon = datetime.now(UTC) + timedelta(days=4)
    meeting_at, following = meetings(config.rule, config.first_meeting, LONDON, soon, 2)
    clock.start = meeting_at - timedelta(days=3)  # three days before a meeting
    async with in_process(files, emulator, clock) as runtime:
        group = emulator.group(GROUP_ID, "Coordinators")
        robin = emulator.user(5601, "Robin")
        reference = await refer(robin, BOTH, files.config())
        await offer_group_and_join(emulator, group, robin, reference, GROUP, "Only initials (R.)")
        await drained(emulator)
        assert texts(robin, REMINDER) == [] and texts(robin, LINK) == []

        # a day before (reminders at 24 h and 1 h, the link 30 minutes before)
        await later(runtime, emulator, clock, timedelta(days=2, minutes=1).total_seconds())
        (first,) = [m for m in robin.chat.sent_by_bot if (m.text or "").startswith(REMINDER)]
        assert "Talking Together" not in first.text  # the group's name is not on the screen
        assert "link privately" in first.text
        await robin.press("Coming", message=first)
        await emulator.wait_until(lambda: first.text == "Thank you. See you there.", what="rsvp")
        await later(runtime, emulator, clock, timedelta(hours=23).total_seconds())
        assert len(texts(robin, REMINDER)) == 2 and texts(robin, LINK) == []
        await later(runtime, emulator, clock, timedelta(minutes=30).total_seconds())
        (link,) = texts(robin, LINK)
        assert "https://meet.example.org/talking-together" in link
        await later(runtime, emulator, clock, timedelta(hours=2).total_seconds())
        assert len(texts(robin, REMINDER)) == 2 and len(texts(robin, LINK)) == 1

    with sqlite3.connect(files.database) as conn:
        came = conn.execute("SELECT answer FROM group_attendance").fetchall()
        slots = conn.execute(
            "SELECT m.starts_at, o.kind, o.state FROM outbox o JOIN group_meetings m"
            " ON m.id = CAST(substr(o.slot, 1, instr(o.slot || ':', ':') - 1) AS INTEGER)"
            " WHERE o.kind IN ('group_reminder', 'group_link') ORDER BY m.starts_at, o.kind"
        ).fetchall()
    assert came == [("coming",)]
    # this meeting's three went out; the next meeting's are queued
    states = Counter((when, kind, state) for when, kind, state in slots)
    sent_now = sum(n for (when, _k, s), n in states.items() if s == "sent")
    assert sent_now == 3
    pending = {(k, s) for (when, k, s) in states if when.startswith(following.date().isoformat())}
    assert pending == {("group_reminder", "pending"), ("group_link", "pending")}


async def seed_members(files: BotFiles, telegram_ids: list[int]) -> list[str]:
    """Members of the online group, each with reminders on, and a meeting in two hours whose
    1-hour reminder is due now for each: written while no bot runs."""
    now = datetime.now(UTC)
    config = files.config()
    programme = config.programme("hiv")
    assert programme is not None
    store = await files.open_store()
    made = []
    try:
        flow = GroupsFlow(store, config, load_catalog(), lambda: now)
        async with store.unit() as uow:
            groups = await flow.groups_of(uow, programme)
            group = next(g for g, d in groups if d.group.id == "talking_together")
            meeting = await uow.groups.meeting(group.id, now + timedelta(hours=2), now)
            for telegram_id in telegram_ids:
                person = await uow.people.create(telegram_id, now)
                answers = json.dumps({"name": "Robin", "support_type": "both"}).encode()
                referral = await uow.referrals.create(person, "hiv", answers, False, now)
                assert await uow.groups.offer(group, person.id, referral, "invited", now)
                assert await uow.groups.move(group.id, person.id, ("invited",), "member", now)
                await uow.groups.set_reminders(group.id, person.id, True)
                await uow.outbox.schedule(
                    GROUP_REMINDER, slot=f"{meeting.id}:1", referral=referral, due_at=now, now=now
                )
                made.append(referral.reference)
    finally:
        await store.close()
    return made


def reminder_states(database: Path) -> list[tuple[str, bool]]:
    """The seeded reminders (the first two rows): state, and whether claimed for the wire."""
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT state, claimed_at IS NOT NULL FROM outbox WHERE kind = 'group_reminder'"
            " ORDER BY id LIMIT 2"
        ).fetchall()
    return sorted((state, bool(claimed)) for state, claimed in rows)


@pytest.mark.slow
async def test_killed_after_a_reminder_went_out_it_is_never_sent_again(tmp_path: Path) -> None:
    async with BotApiEmulator(rate_limits=False) as emulator:
        files = BotFiles(tmp_path, config_path=write_config(tmp_path))
        files.data_dir.mkdir(parents=True, exist_ok=True)
        ann, bea = emulator.user(8201, "Ann"), emulator.user(8202, "Bea")
        for person in (ann, bea):
            person.chat.exists = True  # they wrote to the bot before (their form, seeded)
        await seed_members(files, [ann.id, bea.id])
        bot = BotProcess(files, emulator)

        await bot.start(
            ready=False, PEERDOOR_CRASH_AT="delivery.sent", PEERDOOR_RATE_LIMIT="false"
        )
        await bot.crashed("delivery.sent")
        # in flight: one reminder reached its member, claimed for the wire and not marked sent;
        # the other not sent
        told = {p.profile.first_name: len(texts(p, REMINDER)) for p in (ann, bea)}
        assert sorted(told.values()) == [0, 1], told
        assert reminder_states(files.database) == [("pending", False), ("pending", True)]

        await bot.start(PEERDOOR_RATE_LIMIT="false")
        await emulator.wait_until(
            lambda: all(texts(p, REMINDER) for p in (ann, bea)), timeout=20, what="both told"
        )
        assert await bot.stop() == 0
    # each member once: the one on the wire when the process died is never sent again
    assert {p.profile.first_name: len(texts(p, REMINDER)) for p in (ann, bea)} == {
        "Ann": 1,
        "Bea": 1,
    }
    # the one that may have arrived is settled as failed ("ambiguous"), never sent again
    assert [state for state, _claimed in reminder_states(files.database)] == ["failed", "sent"]


async def test_facilitator_sees_who_is_coming_moves_cancels_and_marks_who_came(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    path = write_config(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("facilitators = []", f"facilitators = [{SAM}]", 1), "utf-8")
    files = BotFiles(tmp_path, config_path=path)
    programme = files.config().programme("hiv")
    assert programme is not None
    config = next(g for g in programme.groups if g.id == "talking_together")
    assert config.facilitators == [SAM]
    clock = MovableClock()
    soon = datetime.now(UTC) + timedelta(days=4)
    meeting_at, following = meetings(config.rule, config.first_meeting, LONDON, soon, 2)
    clock.start = meeting_at - timedelta(days=3)
    async with in_process(files, emulator, clock) as runtime:
        sam = emulator.user(SAM, "Sam")
        await join_as_supporter(sam, runtime)
        robin = await member(emulator, files)

        # Sam runs the group: the next meeting, who said they are coming, as they chose
        await sam.send("/groups")
        run = await sam.wait_for(lambda m: m.text == "Groups you run:")
        await sam.press(GROUP, message=run)
        view = await sam.wait_for(lambda m: m.text.startswith(f"{GROUP} · "))
        assert "planned" in view.text and "R. · no answer" in view.text
        assert "Robin" not in view.text

        # moved to the next day, same time: Robin is told at once
        await sam.press("Move", message=view)
        days = await sam.wait_for(lambda m: m.text.startswith("Move it to which day?"))
        new_day = (meeting_at.astimezone(LONDON) + timedelta(days=1)).date()
        await sam.press(sessions.date_text(new_day, "en"), message=days)
        await emulator.wait_until(lambda: days.text == "At what time?", what="times")
        assert days.button_texts[0] == "Same time (18:30)" and "19:00" in days.button_texts
        await sam.press("19:00", message=days)
        await emulator.wait_until(lambda: "· moved" in days.text, what="moved")  # the view again
        assert "at 19:00" in days.text
        told = await robin.wait_for(lambda m: (m.text or "").startswith("A change of plan."))
        assert "is moved to" in told.text and sessions.date_text(new_day, "en") in told.text

        # its reminders and link come for the new time, each once
        moved_at = meeting_at + timedelta(days=1, minutes=30)  # 18:30 -> 19:00 the next day
        for before in (timedelta(hours=24) - timedelta(minutes=1), timedelta(minutes=59)):
            await later(runtime, emulator, clock, (moved_at - before - clock()).total_seconds())
        await later(runtime, emulator, clock, (moved_at - clock()).total_seconds() - 20 * 60)
        assert len(texts(robin, REMINDER)) == 2 and len(texts(robin, LINK)) == 1
        assert all(sessions.date_text(new_day, "en") in t for t in texts(robin, REMINDER))

        # after it: one tap per member to mark who came
        await later(runtime, emulator, clock, 2 * 3600)
        await sam.send("/groups")
        run = await sam.wait_for(lambda m: m.text == "Groups you run:")
        await sam.press(GROUP, message=run)
        view = await sam.wait_for(lambda m: m.text.startswith(f"{GROUP} · "))
        await sam.press("Last meeting", message=view)
        await emulator.wait_until(lambda: "Tap each member who came" in view.text, what="past")
        await sam.press("☐ R.", message=view)
        await emulator.wait_until(lambda: "✓ R." in view.button_texts, what="marked")
        assert "· held" in view.text

        # a concern about a member goes to the coordinator holding their referral
        await sam.press("Raise a concern", message=view)
        whom = await sam.wait_for(lambda m: m.text.startswith("Who are you worried about?"))
        assert whom.button_texts == ["R."]
        await sam.press("R.", message=whom)
        await emulator.wait_until(lambda: "who knows R. is told" in whom.text, what="concern")
        cora = emulator.user(CORA, "Cora")
        worry = await cora.wait_for(lambda m: "has a concern about them" in (m.text or ""))
        assert worry.text.startswith("Please look at PD-") and GROUP in worry.text
        assert worry.protect_content and "Robin" not in worry.text

        # the next one cancelled: Robin is told, and nothing more comes for it
        await sam.press("Next meeting", message=view)
        await emulator.wait_until(lambda: "Cancel this meeting" in view.button_texts, what="next")
        await sam.press("Cancel this meeting", message=view)
        await emulator.wait_until(lambda: "· cancelled" in view.text, what="cancelled")
        off = await robin.wait_for(lambda m: "is not going ahead" in (m.text or ""))
        following_day = sessions.date_text(following.astimezone(LONDON).date(), "en")
        assert following_day in off.text
        # stepping through the times its reminders and link were queued for (a single jump
        # would drop them as late, cancelled or not)
        for before in (timedelta(hours=24) - timedelta(minutes=1), timedelta(minutes=59)):
            await later(runtime, emulator, clock, (following - before - clock()).total_seconds())
        await later(runtime, emulator, clock, (following - clock()).total_seconds() - 20 * 60)
        assert not any(following_day in t for t in texts(robin, REMINDER) + texts(robin, LINK))

    with sqlite3.connect(files.database) as conn:
        states = conn.execute("SELECT state FROM group_meetings ORDER BY slot").fetchall()
        came = conn.execute("SELECT came FROM group_attendance").fetchall()
    assert [s for (s,) in states][:2] == ["held", "cancelled"]
    assert came == [(1,)]


async def join_as_supporter(person: ScriptedUser, runtime: Runtime) -> None:
    now = runtime.clock()
    async with runtime.store.unit() as uow:
        code = await uow.invites.create("supporter", "hiv", now, now + timedelta(days=1))
    await person.send(f"/join {code}")
    await person.wait_for(lambda m: "peer supporter" in (m.text or ""))


async def member(
    emulator: BotApiEmulator,
    files: BotFiles,
    user_id: int = 5601,
    name: str = "Robin",
    plan: dict[str, object] | None = None,
) -> ScriptedUser:
    """Robin (or someone else) refers themselves (a group or both), is offered the group by
    Cora and joins, shown by initials, with reminders."""
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(user_id, name)
    reference = await refer(robin, {**BOTH, "name": name, **(plan or {})}, files.config())
    shown_as = f"Only initials ({name[0]}.)"
    await offer_group_and_join(emulator, group, robin, reference, GROUP, shown_as)
    return robin


DOOR = "We have not seen you at the group lately."


async def test_two_missed_meetings_in_a_row_one_gentle_word(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    path = write_config(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("facilitators = []", f"facilitators = [{SAM}]", 1), "utf-8")
    files = BotFiles(tmp_path, config_path=path)
    programme = files.config().programme("hiv")
    assert programme is not None
    config = next(g for g in programme.groups if g.id == "talking_together")
    clock = MovableClock()
    soon = datetime.now(UTC) + timedelta(days=4)
    first, second, third = meetings(config.rule, config.first_meeting, LONDON, soon, 3)
    clock.start = first - timedelta(days=3)
    async with in_process(files, emulator, clock) as runtime:
        sam = emulator.user(SAM, "Sam")
        await join_as_supporter(sam, runtime)
        agreed = {CHOICES_KEY: ["Short check-in messages"]}
        robin = await member(emulator, files, 5601, "Robin", agreed)
        kim = await member(emulator, files, 5602, "Kim", agreed)

        async def only_kim_came(after: datetime) -> None:
            await later(runtime, emulator, clock, (after - clock()).total_seconds() + 3600)
            await sam.send("/groups")
            run = await sam.wait_for(lambda m: m.text == "Groups you run:")
            await sam.press(GROUP, message=run)
            view = await sam.wait_for(lambda m: m.text.startswith(f"{GROUP} · "))
            await sam.press("Last meeting", message=view)
            await emulator.wait_until(lambda: "☐ K." in view.button_texts, what="past")
            await sam.press("☐ K.", message=view)
            await emulator.wait_until(lambda: "✓ K." in view.button_texts, what="marked")
            await later(runtime, emulator, clock, timedelta(days=1, minutes=1).total_seconds())

        await only_kim_came(first)
        assert texts(robin, "Hello, just checking in.") == []  # one missed: nothing yet
        await only_kim_came(second)
        (word,) = [m.text for m in robin.chat.sent_by_bot if DOOR in (m.text or "")]
        assert word.startswith("Hello, just checking in.")  # neutral on a lock screen
        assert GROUP not in word
        assert not any(DOOR in (m.text or "") for m in kim.chat.sent_by_bot)
        await only_kim_came(third)  # a third missed: no second word
        assert len([m for m in robin.chat.sent_by_bot if DOOR in (m.text or "")]) == 1
