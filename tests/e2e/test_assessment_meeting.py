"""A meeting for the initial assessment (issue #15 item 3), through the real bot: the holder of
a referral at "Assessing" plans it with the meeting planner; the person gets the same discreet
news of the time and, if they ask, the same reminder as for a supporter's meeting; the holder
gets a supporter's reminder (with a calendar file). Someone who does not hold the referral is
refused; for a person without Telegram the news is a task for the holder."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from bot.delivery import kinds
from sandbox.emulator import BotApiEmulator, ScriptedUser
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, write_config
from tests.e2e.harness import (
    CHOICES_KEY,
    HIV_PLAN,
    BotFiles,
    MovableClock,
    drained,
    fill_form,
    in_process,
    later,
)
from tests.e2e.test_supporters_match import contacted_referral
from tests.e2e.test_ways_in_behalf import OUTSIDER_ID, sent_reference

PLAN_BUTTON = "Plan the assessment meeting"
EXPIRED = "This button has expired. Please use the newest message."


def rows(files: BotFiles, sql: str, *args: object) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        return db.execute(sql, args).fetchall()


async def plan_meeting(cora: ScriptedUser, emulator: BotApiEmulator, screen_text: str) -> None:
    screen = await cora.wait_for(
        lambda m: screen_text in m.content and PLAN_BUTTON in m.button_texts
    )
    await cora.press(PLAN_BUTTON, message=screen)
    picker = await cora.wait_for(lambda m: "Which day?" in m.content)
    await cora.press("Tomorrow", message=picker)
    await emulator.wait_until(lambda: "What time" in picker.content, what="the time step")
    await cora.send("23:30")
    where = await cora.wait_for(lambda m: "online or in person" in m.content)
    await cora.press("Online", message=where)
    await emulator.wait_until(lambda: "Please check" in where.content, what="the check")
    await cora.press("Yes, save it", message=where)
    await emulator.wait_until(lambda: "Saved" in where.content, what="saved")
    assert "We will remind you before it, and tell the person the time." in where.content


async def test_the_holder_plans_the_assessment_meeting_with_reminders(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    clock = MovableClock()
    plan = {**HIV_PLAN, CHOICES_KEY: ["Short check-in messages while I wait"]}
    outsider = emulator.user(OUTSIDER_ID, "Otto")
    async with in_process(files, emulator, clock) as runtime:
        robin, cora, reference, status = await contacted_referral(emulator, files, plan)
        assert PLAN_BUTTON not in status.button_texts  # only at "Assessing"
        await cora.press("Assessing", message=status)

        # someone who does not hold it: refused, nothing begun
        await outsider.send("/start")
        hello = await outsider.wait_for(lambda m: bool(m.content))
        press = await outsider.press_data(f"m:p:A{reference}", message=hello)
        assert (await press.answered()).text == EXPIRED
        await robin.press_data(f"m:p:A{reference}")  # the person themselves
        await robin.wait_for(lambda m: "you cannot plan a meeting" in m.content)
        await robin.press_data("m:p:A" + "X" * 30)  # forged
        await drained(emulator)
        assert rows(files, "SELECT count(*) FROM dialogs") == [(0,)]

        await plan_meeting(cora, emulator, f"{reference} is now assessing")
        ((starts,),) = rows(files, "SELECT starts_at FROM assessment_meetings")
        assert rows(files, "SELECT count(*) FROM sessions") == [(0,)]
        assert b"Online" not in bytes(rows(files, "SELECT place FROM assessment_meetings")[0][0])  # type: ignore[arg-type]

        news = await robin.wait_for(lambda m: "A time is set" in m.content, timeout=10)
        assert news.content.startswith("A time is set for your next meeting.")
        assert "23:30" in news.content and "Online" in news.content
        await robin.press("Yes, remind me", message=news)
        await robin.wait_for(lambda m: "We will send you a short reminder" in m.content)

        # an hour before: the holder's reminder with its calendar file, the person's short one
        cora.skip_sent()
        due = datetime.fromisoformat(str(starts)) - timedelta(hours=1)
        await later(runtime, emulator, clock, (due - clock()).total_seconds() + 60)
        mine = await cora.wait_for(lambda m: "A reminder: you have a meeting on" in m.content)
        assert f"With: {reference}" in mine.content and "their assessment" in mine.content
        assert mine.document is not None and mine.protect_content
        theirs = await robin.wait_for(
            lambda m: "A short reminder: you have a meeting" in m.content
        )
        assert "23:30" in theirs.content and reference not in theirs.content
        await drained(emulator)
        sent = rows(
            files,
            "SELECT kind, count(*) FROM outbox WHERE slot LIKE 'a%' AND state = 'sent'"
            " GROUP BY kind",
        )
        # the day-before reminders fell due when the clock jumped a day: late, so dropped, as for
        # a supporter's meeting; the hour-before ones were sent, once each
        assert dict(sent) == {  # type: ignore[arg-type]
            kinds.SESSION_NEWS: 1,
            kinds.SESSION_REMINDER: 1,
            kinds.SESSION_REMINDER_REFERRER: 1,
        }

        # in the person's copy of their data; gone with everything else when they delete it
        await robin.send("/mydata")
        file = await robin.wait_for(lambda m: m.document is not None, timeout=10)
        assert file.document is not None
        [meeting] = json.loads(file.document.data)["referrals"][0]["meetings"]
        assert meeting["online"] is True and meeting["cancelled"] is False
        await robin.send("/delete")
        await robin.wait_for(lambda m: m.content.startswith("Delete everything?"))
        await robin.press("Yes, delete everything")
        await robin.wait_for(lambda m: "Everything we held about you is deleted" in m.content)
        await drained(emulator)
    assert rows(files, "SELECT count(*) FROM assessment_meetings") == [(0,)]
    assert rows(
        files, "SELECT count(*) FROM audit_log WHERE action = 'assessment_meeting:planned'"
    ) == [(1,)]


async def test_for_someone_without_telegram_the_news_is_a_task_for_the_holder(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    cora = emulator.user(CORA, "Cora")
    programme = files.config().programme("hiv")
    assert programme is not None
    async with in_process(files, emulator):
        await cora.send("/newreferral hiv")
        await cora.wait_for(lambda m: "How did they agree?" in m.text)
        await cora.press("They agreed on the phone")
        await fill_form(cora, programme, HIV_PLAN)
        await cora.press("Send my form")
        reference = await sent_reference(cora)
        await group_notice(group, reference)
        await cora.press("Claim", chat=group)
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        await cora.press("Contacted", message=details)
        status = await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)
        await cora.press("Assessing", message=status)
        await plan_meeting(cora, emulator, f"{reference} is now assessing")
        task = await cora.wait_for(
            lambda m: "the time and place of their assessment meeting" in m.content
        )
        assert task.content.startswith("A task for you") and reference in task.content
        await drained(emulator)


async def test_the_holder_cancels_the_assessment_meeting_and_the_person_is_told(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    clock = MovableClock()
    async with in_process(files, emulator, clock) as runtime:
        robin, cora, reference, status = await contacted_referral(emulator, files)
        await cora.press("Assessing", message=status)
        await plan_meeting(cora, emulator, f"{reference} is now assessing")
        saved = next(m for m in reversed(cora.bot_messages) if "Saved" in m.content)
        await robin.wait_for(lambda m: "A time is set" in m.content, timeout=10)
        ((meeting_id,),) = rows(files, "SELECT id FROM assessment_meetings")

        # the person cannot cancel it (a forged press): refused, nothing changes
        press = await robin.press_data(f"m:ay:{meeting_id}")
        assert (await press.answered()).text == EXPIRED

        await cora.press("Cancel this meeting", message=saved)
        sure = await cora.wait_for(lambda m: "Cancel the meeting on" in m.content)
        await cora.press("Yes, cancel it", message=sure)
        await emulator.wait_until(lambda: "is cancelled" in sure.content, what="cancelled")
        off = await robin.wait_for(lambda m: "A change of plan." in m.content, timeout=10)
        assert off.content.startswith("A change of plan.\n") and "23:30" in off.content

        # nothing more: the reminders were dropped, and the time passes without them
        cora.skip_sent()
        await later(runtime, emulator, clock, 3 * 86400)
        await drained(emulator)
        assert not any("A reminder" in m.content for m in cora.bot_messages)
    pending = rows(
        files,
        "SELECT count(*) FROM outbox WHERE slot LIKE 'a%' AND kind = ? AND state = 'sent'",
        kinds.SESSION_REMINDER,
    )
    assert pending == [(0,)]
    assert rows(files, "SELECT cancelled_at IS NOT NULL FROM assessment_meetings") == [(1,)]
