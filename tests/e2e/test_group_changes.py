"""A group's life after it is made, end to end: a coordinator changes when a group made in the
bot meets (its planned meetings move to the new schedule, each member is told at once, the
old meetings' reminders never come, who came to past meetings stays); "Offer a group" wherever
Match is offered; a place freed by the retention purge goes to the next in line at once; /stop
leaves the group reminders a member asked for, and /groups turns them off and on; a meeting
moves to a time that is not on the hour.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from conversations import sessions
from conversations.group_schedule import instant, meetings, parse_rule
from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from tests.e2e.coordination import (
    CORA,
    GROUP_ID,
    group_notice,
    offer_group_and_join,
    refer,
    write_config,
)
from tests.e2e.harness import HIV_PLAN, BotFiles, MovableClock, drained, in_process, later
from tests.e2e.test_group_meetings import (
    LINK,
    REMINDER,
    SAM,
    join_as_supporter,
    member,
    texts,
)
from tests.e2e.test_groups import GROUP, join, offer, referral_view
from tests.e2e.test_supporters_match import contacted_referral, profile

LONDON = ZoneInfo("Europe/London")
BOTH = {**HIV_PLAN, "support_type": "Both"}
NAME = "Tuesday circle"


async def make_group(emulator: BotApiEmulator, cora: ScriptedUser, schedule: str) -> None:
    """Cora makes an online group run by Sam (a supporter already)."""
    await cora.send("/start")
    await cora.send("/groups")
    listed = await cora.wait_for(lambda m: m.text.startswith("Groups of your programmes:"))
    await cora.press("New group: Side by Side peer support", message=listed)
    await cora.wait_for(lambda m: m.text.startswith("New group. What is it called?"))
    await cora.send(NAME)
    language = await cora.wait_for(lambda m: m.text == "Which language does it meet in?")
    await cora.press("English", message=language)
    setting = await cora.wait_for(lambda m: m.text == "Does it meet online or in person?")
    await cora.press("Online", message=setting)
    await cora.wait_for(lambda m: m.text.startswith("Type the meeting link"))
    await cora.send("https://meet.example.org/tuesday")
    await cora.wait_for(lambda m: m.text.startswith("When does it meet?"))
    await cora.send(schedule)
    places = await cora.wait_for(lambda m: m.text == "How many places?")
    await cora.press("8", message=places)
    who = await cora.wait_for(lambda m: m.text.startswith("Who runs it?"))
    assert len(who.button_texts) == 3, who.button_texts  # Sam, Done, Cancel
    await cora.press(who.button_texts[0], message=who)
    who = await cora.wait_for(
        lambda m: m.text.startswith("Who runs it?") and m.button_texts[0].startswith("☑")
    )
    await cora.press("Done", message=who)
    summary = await cora.wait_for(lambda m: m.text.startswith(NAME) and "Save" in m.button_texts)
    await cora.press("Save", message=summary)
    await emulator.wait_until(lambda: f"{NAME} · open" in summary.text, what="saved")


async def joined(emulator: BotApiEmulator, files: BotFiles) -> ScriptedUser:
    """Robin refers themselves, Cora offers the new group, Robin joins with reminders."""
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5601, "Robin")
    reference = await refer(robin, {**BOTH, "name": "Robin"}, files.config())
    await offer_group_and_join(emulator, group, robin, reference, NAME, "Only initials (R.)")
    return robin


def day_text(moment: datetime) -> str:
    return sessions.date_text(moment.astimezone(LONDON).date(), "en")


async def test_a_coordinator_changes_when_a_group_meets(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    clock = MovableClock()
    tuesdays = parse_rule("every Tuesday 18:30")
    thursdays = parse_rule("every Thursday 18:30")
    assert tuesdays is not None and thursdays is not None
    soon = datetime.now(UTC) + timedelta(days=4)
    first_at, second_at, third_at = meetings(tuesdays, date(2020, 1, 7), LONDON, soon, 3)
    clock.start = first_at - timedelta(days=3)  # three days before the first meeting
    async with in_process(files, emulator, clock) as runtime:
        sam = emulator.user(SAM, "Sam")
        await join_as_supporter(sam, runtime)
        cora = emulator.user(CORA, "Cora")
        await make_group(emulator, cora, "every Tuesday 18:30")
        robin = await joined(emulator, files)

        # the first meeting: Robin's reminders, the link, and Sam marks that Robin came
        for before in (timedelta(hours=24) - timedelta(minutes=1), timedelta(minutes=59)):
            await later(runtime, emulator, clock, (first_at - before - clock()).total_seconds())
        await later(runtime, emulator, clock, (first_at - clock()).total_seconds() - 20 * 60)
        assert len(texts(robin, REMINDER)) == 2 and len(texts(robin, LINK)) == 1
        await later(runtime, emulator, clock, 2 * 3600)
        await mark_came(emulator, sam)

        # the day after, Cora moves the group to Thursdays
        await later(runtime, emulator, clock, timedelta(hours=20).total_seconds())
        await change_schedule(emulator, cora, "every Thursday 18:30")
        told = await robin.wait_for(lambda m: "now meets at a new time" in (m.text or ""))
        assert told.text.startswith("A change of plan.\n\n")  # neutral on a lock screen
        thursday_at = meetings(thursdays, clock().date(), LONDON, clock(), 1)[0]
        assert thursday_at - clock() < timedelta(days=2)  # this week's Thursday
        assert day_text(thursday_at) in told.text and "18:30" in told.text
        await drained(emulator)
        assert len([m for m in robin.chat.sent_by_bot if "new time" in (m.text or "")]) == 1

        # the Thursdays' reminders and link come, each once; nothing for the old Tuesday
        before_change = len(texts(robin, REMINDER))
        first_thu, second_thu = meetings(thursdays, clock().date(), LONDON, clock(), 2)
        leads = (timedelta(hours=24, minutes=-1), timedelta(minutes=59), timedelta(minutes=20))
        steps = sorted(at - lead for at in (first_thu, second_thu, second_at) for lead in leads)
        for step in [*steps, second_thu + timedelta(hours=1)]:
            await later(runtime, emulator, clock, (step - clock()).total_seconds())
        reminders = texts(robin, REMINDER)[before_change:]
        assert not any(day_text(second_at) in t for t in reminders), reminders
        for each in (first_thu, second_thu):
            assert sum(day_text(each) in t for t in reminders) == 2, reminders
        assert len(reminders) == 4 and len(texts(robin, LINK)) == 3

    with sqlite3.connect(files.database) as conn:
        past = conn.execute(
            "SELECT m.starts_at, m.state, a.came FROM group_meetings m"
            " JOIN group_attendance a ON a.meeting_id = m.id ORDER BY m.starts_at"
        ).fetchall()
        old_left = conn.execute(
            "SELECT count(*) FROM group_meetings WHERE starts_at IN (?, ?)",
            (second_at.isoformat(), third_at.isoformat()),
        ).fetchone()
    # who came to the Tuesday before the change stays; no Tuesday after it is left
    assert past[0][1:] == ("held", 1) and past[0][0].startswith(first_at.date().isoformat())
    assert old_left == (0,)


async def mark_came(emulator: BotApiEmulator, sam: ScriptedUser) -> None:
    await sam.send("/groups")
    run = await sam.wait_for(lambda m: m.text == "Groups you run:")
    await sam.press(NAME, message=run)
    view = await sam.wait_for(lambda m: m.text.startswith(f"{NAME} · "))
    await sam.press("Last meeting", message=view)
    await emulator.wait_until(lambda: "Tap each member who came" in view.text, what="past")
    await sam.press("☐ R.", message=view)
    await emulator.wait_until(lambda: "✓ R." in view.button_texts, what="marked")


async def change_schedule(emulator: BotApiEmulator, cora: ScriptedUser, schedule: str) -> None:
    await cora.send("/groups")
    listed = await cora.wait_for(lambda m: m.text.startswith("Groups of your programmes:"))
    await cora.press(NAME, message=listed)
    admin = await cora.wait_for(lambda m: m.text.startswith(NAME) and "Change" in m.button_texts)
    await cora.press("Change", message=admin)
    change = await cora.wait_for(lambda m: m.text.startswith(NAME) and "When" in m.button_texts)
    await cora.press("When", message=change)
    await cora.wait_for(lambda m: m.text.startswith("When does it meet?"))
    await cora.send(schedule)
    summary = await cora.wait_for(lambda m: m.text.startswith(NAME) and schedule in m.text)
    await cora.press("Save", message=summary)
    await emulator.wait_until(lambda: f"{NAME} · open" in summary.text, what="saved")


async def test_offer_a_group_wherever_match_is_offered(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator):
        group = emulator.group(GROUP_ID, "Coordinators")
        cora = emulator.user(CORA, "Cora")
        await cora.send("/start")
        robin = emulator.user(5601, "Robin")
        reference = await refer(robin, BOTH, files.config())
        await group_notice(group, reference)
        await cora.press("Claim", chat=group)
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        await cora.press("Contacted", message=details)
        # the status after a change shows Match, and Offer a group beside it
        status = await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)
        assert {"Match", "Offer a group"} <= set(status.button_texts), status.button_texts
        # so does the note just added
        await cora.press("Add a note", message=status)
        await cora.wait_for(lambda m: "note" in m.text.lower() and m is not status)
        await cora.send("Called, prefers evenings.")
        noted = await cora.wait_for(lambda m: m.text.startswith(f"Note added to {reference}"))
        assert {"Match", "Offer a group"} <= set(noted.button_texts), noted.button_texts
        await cora.press("Offer a group", message=noted)
        ranked = await cora.wait_for(lambda m: f"Groups for {reference}, best fit first" in m.text)
        assert "Talking Together" in ranked.text

        # a person who asked for one-to-one support only: Match, and no group
        sam = emulator.user(5602, "Sam")
        only = await refer(sam, HIV_PLAN, files.config())  # one-to-one with a peer supporter
        await group_notice(group, only)
        await cora.press("Claim", chat=group)
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {only}"))
        await cora.press("Contacted", message=details)
        status = await cora.wait_for(lambda m: f"{only} is now contacted" in m.text)
        assert "Match" in status.button_texts and "Offer a group" not in status.button_texts


async def test_the_retention_purge_keeps_a_member_until_they_leave_then_erases_them(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """Robin's referral was closed long ago, but she is still in a group, which goes by that
    referral (its messages, her reminders): the daily purge keeps her and her place as they
    are. She leaves (/groups, Leave), her place goes to Lee, next in line, at once, and the
    next purge erases her entirely. (Erasing her while she was a member would have dropped
    her from the group without a word; before, it deleted the referral and left the place
    of anyone with something else kept without its link.)"""
    path = write_config(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("capacity = 10\n", "capacity = 2\n", 1), encoding="utf-8")
    files = BotFiles(tmp_path, config_path=path)
    async with in_process(files, emulator) as runtime:
        robin, kim, lee = (emulator.user(5601, "Robin"), emulator.user(5602, "Kim"),
                           emulator.user(5603, "Lee"))  # fmt: skip
        references = []
        for person, name, waiting in (
            (robin, "Robin", False),
            (kim, "Kim", False),
            (lee, "Lee", True),
        ):
            plan = {**BOTH, "name": name}
            reference, view = await referral_view(emulator, files, person, plan)
            await offer(emulator, reference, view)
            await join(person, emulator, waiting=waiting)
            references.append(reference)
        await drained(emulator)

        now = runtime.clock()
        async with runtime.store.unit() as uow:
            closed = await uow.referrals.by_reference(references[0])
            assert closed is not None
            closed = await uow.referrals.set_status(closed, "closed", now)
            await uow.referrals.mark(closed, closed_at=now - timedelta(days=400))
        (job,) = runtime.app.job_queue.get_jobs_by_name("retention_purge")  # type: ignore[union-attr]
        await job.run(runtime.app)
        async with runtime.store.unit() as uow:
            member = await uow.people.find(5601)
            assert member is not None  # kept, with her referral and her place
            assert await uow.referrals.by_reference(references[0]) is not None
            (place,) = await uow.groups.places_of(member.id)
            assert (place.status, place.referral_id) == ("member", closed.id)

        await robin.send("/groups")
        mine = await robin.wait_for(lambda m: m.text.startswith("Your groups:"))
        await robin.press(f"Leave {GROUP}", message=mine)
        sure = await robin.wait_for(lambda m: m.text == f"Leave {GROUP}?")
        await robin.press("Yes, leave", message=sure)
        await emulator.wait_until(lambda: f"You have left {GROUP}" in sure.text, what="left")
        await join(lee, emulator, waiting=False)  # Lee's invitation came at once
        await drained(emulator)
        await job.run(runtime.app)
        async with runtime.store.unit() as uow:
            assert await uow.people.find(5601) is None  # now erased entirely
            assert await uow.referrals.by_reference(references[0]) is None

    with sqlite3.connect(files.database) as conn:
        rows = conn.execute("SELECT status FROM group_places").fetchall()
    assert sorted(r[0] for r in rows) == ["member", "member"]  # Kim and Lee


async def test_stop_keeps_group_reminders_and_groups_turns_them_off_and_on(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    programme = files.config().programme("hiv")
    assert programme is not None
    config = next(g for g in programme.groups if g.id == "talking_together")
    clock = MovableClock()
    soon = datetime.now(UTC) + timedelta(days=4)
    first_at, second_at = meetings(config.rule, config.first_meeting, LONDON, soon, 2)
    clock.start = first_at - timedelta(days=3)
    async with in_process(files, emulator, clock) as runtime:
        robin = await member(emulator, files)  # joined with reminders on

        # /stop stops check-ins; the group reminders Robin asked for stay, and Robin is told
        await robin.send("/stop")
        await robin.wait_for(lambda m: m.text.startswith("Done. We will not send you check-ins"))
        await robin.wait_for(lambda m: m.text.startswith("Your group meeting reminders stay on"))

        # /groups shows them, and turns them off
        await robin.send("/groups")
        mine = await robin.wait_for(lambda m: m.text.startswith("Your groups:"))
        assert "Reminders: on" in mine.text
        await robin.press("Stop reminders for Talking Together", message=mine)
        await emulator.wait_until(lambda: "Reminders: off" in mine.text, what="off")
        assert "Remind me of Talking Together" in mine.button_texts

        # no reminder for the first meeting; its link still comes (needed to join)
        leads = (timedelta(hours=24, minutes=-1), timedelta(minutes=59), timedelta(minutes=20))
        for lead in leads:
            await later(runtime, emulator, clock, (first_at - lead - clock()).total_seconds())
        assert texts(robin, REMINDER) == [] and len(texts(robin, LINK)) == 1

        # turned on again from /groups: the next meeting's reminders come, each once
        await later(runtime, emulator, clock, 3600)
        await robin.send("/groups")
        mine = await robin.wait_for(lambda m: "Reminders: off" in (m.text or ""))
        await robin.press("Remind me of Talking Together", message=mine)
        await emulator.wait_until(lambda: "Reminders: on" in mine.text, what="on")
        for lead in leads:
            await later(runtime, emulator, clock, (second_at - lead - clock()).total_seconds())
        reminders = texts(robin, REMINDER)
        assert len(reminders) == 2 and all(day_text(second_at) in t for t in reminders)
        assert len(texts(robin, LINK)) == 2
        await drained(emulator)
        stop_replies = [m for m in robin.chat.sent_by_bot if "stay on" in (m.text or "")]
        assert len(stop_replies) == 1


async def test_a_meeting_moves_to_a_time_that_is_not_on_the_hour(
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
    (meeting_at,) = meetings(config.rule, config.first_meeting, LONDON, soon, 1)
    clock.start = meeting_at - timedelta(days=3)
    async with in_process(files, emulator, clock) as runtime:
        sam = emulator.user(SAM, "Sam")
        await join_as_supporter(sam, runtime)
        robin = await member(emulator, files)
        await sam.send("/groups")
        run = await sam.wait_for(lambda m: m.text == "Groups you run:")
        await sam.press("Talking Together", message=run)
        view = await sam.wait_for(lambda m: m.text.startswith("Talking Together · "))
        await sam.press("Move", message=view)
        days = await sam.wait_for(lambda m: m.text.startswith("Move it to which day?"))
        new_day = (meeting_at.astimezone(LONDON) + timedelta(days=1)).date()
        await sam.press(sessions.date_text(new_day, "en"), message=days)
        await emulator.wait_until(lambda: days.text == "At what time?", what="times")
        assert {"17:00", "17:30", "21:30"} <= set(days.button_texts)
        await sam.press("17:30", message=days)
        await emulator.wait_until(lambda: "· moved" in days.text, what="moved")
        assert "at 17:30" in days.text
        told = await robin.wait_for(lambda m: (m.text or "").startswith("A change of plan."))
        assert f"{sessions.date_text(new_day, 'en')} at 17:30" in told.text

        # its reminders come for 17:30 on the new day
        moved_at = instant(new_day, time(17, 30), LONDON)
        for lead in (timedelta(hours=24, minutes=-1), timedelta(minutes=59)):
            await later(runtime, emulator, clock, (moved_at - lead - clock()).total_seconds())
        reminders = texts(robin, REMINDER)
        assert len(reminders) == 2 and all("at 17:30" in t for t in reminders), reminders

    with sqlite3.connect(files.database) as conn:
        (starts,) = conn.execute("SELECT starts_at FROM group_meetings WHERE state = 'moved'")
    assert datetime.fromisoformat(starts[0]) == moved_at


async def test_offer_a_group_beside_match_after_a_supporter_says_no_and_an_offer_withdrawn(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator) as runtime:
        sam = emulator.user(SAM, "Sam")
        await profile(sam, emulator, runtime, ["English"], "Online", "Walking")
        _robin, cora, reference, status = await contacted_referral(emulator, files, BOTH)

        async def offer_to_sam(screen: StoredMessage) -> None:
            await cora.press("Match", message=screen)
            offer = await cora.wait_for(lambda m: "best fit first" in m.text)
            await cora.press("1. Sam", message=offer)
            await emulator.wait_until(lambda: "What should Sam know" in offer.text, what="share")
            await cora.press("Send to Sam", message=offer)
            await emulator.wait_until(lambda: "Sent to Sam" in offer.text, what="sent")

        # the supporter's answer "cannot take" offers Match again, and a group beside it
        await offer_to_sam(status)
        handover = await sam.wait_for(lambda m: "can you support this person" in m.text)
        await sam.press("No, not this time", message=handover)
        declined = await cora.wait_for(lambda m: "Sam cannot take" in m.text)
        assert {"Match", "Offer a group"} <= set(declined.button_texts), declined.button_texts

        # an offer withdrawn: the same
        await offer_to_sam(declined)
        await sam.wait_for(lambda m: "can you support this person" in m.text and m is not handover)
        await cora.send(f"/referral {reference}")
        view = await cora.wait_for(
            lambda m: m.text.startswith(f"Referral {reference}") and "Match" in m.button_texts
        )
        await cora.press("Match", message=view)
        waiting = await cora.wait_for(lambda m: "Withdraw the offer" in m.button_texts)
        await cora.press("Withdraw the offer", message=waiting)
        await emulator.wait_until(lambda: "is withdrawn" in waiting.text, what="withdrawn")
        assert {"Match", "Offer a group"} <= set(waiting.button_texts), waiting.button_texts
        await cora.press("Offer a group", message=waiting)
        await cora.wait_for(lambda m: f"Groups for {reference}, best fit first" in m.text)
