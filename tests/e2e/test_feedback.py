"""End of support end to end: the person's feedback survey and the supporter's closing report.

The real bot against the emulator. A coordinator matches a referral with a supporter through
the buttons (suggestions, hand-over, accept), then closes it: the person gets a discreet
invitation (only if they agreed to feedback), answers one question per message, and the
answers are stored sealed and counted anonymously; the supporter answers the closing report,
which the coordinator reads in the referral. A supporter can also say support has ended.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.delivery import session_calendar
from bot.i18n import load_catalog
from bot.services import preferences
from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from storage.surveys import SurveyEntry
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, hand_over, refer, write_config
from tests.e2e.harness import (
    CHOICES_KEY,
    HIV_PLAN,
    REFERENCE,
    SKIP,
    BotFiles,
    consent,
    drained,
    fill_form,
    in_process,
)
from tests.e2e.test_calls_per_action import calls_to, rate_limited
from tests.e2e.test_supporters_match import SAM, profile

FEEDBACK_CANARY = "canary-feedback-7q2x the support was a lifeline"
CLOSING_CANARY = "canary-closing-9k4v would benefit from the art group"
AGREE_FEEDBACK = {**HIV_PLAN, CHOICES_KEY: ["A short feedback survey at the end"]}
INVITE_FIRST_LINE = "Hello, a short question for you."
HARD_WORDS = "Ibland vill inte leva längre"


@pytest.fixture
async def service(
    tmp_path: Path, emulator: BotApiEmulator
) -> AsyncIterator[tuple[BotFiles, Runtime]]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator) as runtime:
        yield files, runtime


async def claimed(
    emulator: BotApiEmulator, files: BotFiles, person: ScriptedUser, plan: dict[str, object]
) -> tuple[ScriptedUser, str, StoredMessage]:
    group = emulator.group(GROUP_ID, "Coordinators")
    reference = await refer(person, plan, files.config())
    await group_notice(group, reference)
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    await cora.press("Claim", chat=group)
    details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Contacted", message=details)
    status = await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)
    return cora, reference, status


async def match_through_buttons(
    cora: ScriptedUser, sam: ScriptedUser, emulator: BotApiEmulator, status: StoredMessage
) -> None:
    """The coordinator's Match, Sam first, the hand-over, and Sam's yes."""
    handover = await hand_over(cora, sam, emulator, status)
    await sam.press("Yes, I can", message=handover)
    await cora.wait_for(lambda m: "Sam said yes" in m.text)


async def close(cora: ScriptedUser, reference: str) -> None:
    cora.skip_sent()
    await cora.send(f"/referral {reference}")
    view = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Close", message=view)
    await cora.wait_for(lambda m: f"{reference} is now closed" in m.text)


async def accepted_by_storage(runtime: Runtime, telegram_id: int, supporter: int) -> str:
    """An accepted engagement made through storage (the hand-over itself is tested elsewhere)."""
    now = datetime.now(UTC)
    async with runtime.store.unit() as uow:
        person = await uow.people.find(telegram_id)
        assert person is not None
        [referral] = await uow.referrals.for_person(person)
        helper = await uow.people.find(supporter) or await uow.people.create(supporter, now)
        await uow.roles.grant(helper, "supporter", "hiv", now)
        coordinator = await uow.people.find(CORA)
        assert coordinator is not None
        engagement = await uow.engagements.offer(referral, helper, coordinator, b"{}", now)
        assert engagement is not None
        assert await uow.engagements.decide(engagement, "accepted", now)
        await uow.referrals.set_status(referral, "matched", now)
        return engagement.id


async def planned_session(runtime: Runtime, engagement_id: str) -> None:
    """A session in two days, armed as the sessions flow does (reminders, log, news)."""
    now = datetime.now(UTC)
    programme = runtime.config.programme("hiv")
    assert programme is not None
    async with runtime.store.unit() as uow:
        engagement = await uow.engagements.get(engagement_id)
        assert engagement is not None
        referral = await uow.referrals.get(engagement.referral_id)
        assert referral is not None
        starts = now + timedelta(days=2)
        author = await uow.people.find(SAM)
        assert author is not None
        session = await uow.sessions.add(engagement, referral, starts, b"Online", author, now)
        await session_calendar.arm(uow, programme, referral, session, now, by_coordinator=False)


def pending(files: BotFiles, kind: str) -> int:
    rows = sqlite3.connect(files.database).execute(
        "SELECT count(*) FROM outbox WHERE kind = ? AND state = 'pending'", (kind,)
    )
    return int(rows.fetchone()[0])


async def held(files: BotFiles, telegram_id: int) -> list[SurveyEntry]:
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            person = await uow.people.find(telegram_id)
            assert person is not None
            [referral] = await uow.referrals.for_person(person)
            return await uow.surveys.entries(referral)
    finally:
        await store.close()


def counts(files: BotFiles) -> dict[tuple[str, str], int]:
    rows = sqlite3.connect(files.database).execute(
        "SELECT question_id, answer, sum(count) FROM feedback_counts GROUP BY 1, 2"
    )
    return {(q, a): int(n) for q, a, n in rows}


async def test_close_brings_feedback_and_closing_report(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    files, runtime = service
    sam = emulator.user(SAM, "Sam")
    await profile(sam, emulator, runtime, ["English"], "Online", "Walking")
    robin = emulator.user(5701, "Robin")
    cora, reference, status = await claimed(emulator, files, robin, AGREE_FEEDBACK)
    await match_through_buttons(cora, sam, emulator, status)
    await close(cora, reference)

    invite = await robin.wait_for(lambda m: m.text.startswith(INVITE_FIRST_LINE), timeout=10)
    assert "4 short questions" in invite.text
    closed = [m for m in robin.bot_messages if "Your form is now closed" in m.text]
    assert closed and closed[0].message_id < invite.message_id  # the news first, then this
    start_data = invite.buttons[0][0].data or ""
    await drained(emulator)
    calls_before = calls_to(emulator, robin)
    await robin.press("Start", message=invite)
    first = await robin.wait_for(lambda m: "How helpful was your peer support?" in m.text)
    assert first.text.startswith("Question 1 of 4")
    assert "Stop" in first.button_texts and "Skip" not in first.button_texts
    old_data = first.buttons[0][0].data or ""
    await robin.press("4", message=first)
    second = await robin.wait_for(lambda m: m.text.startswith("Question 2 of 4"))
    await robin.send("Perhaps")  # not an option: a kind re-ask, nothing lost
    await robin.wait_for(lambda m: "Please tap one of the buttons" in m.text)
    await robin.press("Mostly", message=second)
    third = await robin.wait_for(lambda m: m.text.startswith("Question 3 of 4"))
    await robin.press("Yes", message=third)
    fourth = await robin.wait_for(lambda m: m.text.startswith("Question 4 of 4"))
    assert "Skip" in fourth.button_texts
    await robin.send(FEEDBACK_CANARY)
    await robin.wait_for(lambda m: m.text.startswith("Thank you. Your answers help us"))
    # 6 actions (4 presses, 2 typed), one call each: a press edits the next question in place.
    await drained(emulator)
    survey_calls = calls_to(emulator, robin) - calls_before
    assert rate_limited(survey_calls) == 6, survey_calls
    assert survey_calls["editMessageReplyMarkup"] == 0, survey_calls

    stale = await robin.press_data(old_data, message=first)
    assert "older message" in ((await stale.answered()).text or "")
    forged = await robin.press_data("f:99:o:0")
    assert "older message" in ((await forged.answered()).text or "")
    again = await robin.press_data(start_data, message=invite)
    await again.answered()
    await robin.wait_for(lambda m: "already answered" in m.text)

    report = await sam.wait_for(lambda m: m.text.startswith("Hello, a short task for you."))
    assert reference in report.text and report.protect_content
    await sam.press("Start", message=report)
    await sam.wait_for(lambda m: "How many times did you meet?" in m.text)
    await sam.send("lots")
    await sam.wait_for(lambda m: "Please type a number" in m.text)
    await sam.send("3")
    ending = await sam.wait_for(lambda m: "How did the support end?" in m.text)
    await sam.press("We agreed to stop", message=ending)
    await sam.wait_for(lambda m: "anything the coordinator should know" in m.text)
    await sam.send(CLOSING_CANARY)
    await sam.wait_for(lambda m: "The coordinator can now read your report" in m.text)

    note = await cora.wait_for(lambda m: f"closing report for {reference} is in" in m.text)
    assert CLOSING_CANARY not in note.text  # the reference only
    await cora.send(f"/referral {reference}")
    view = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    assert "The supporter's closing report" in view.text
    assert CLOSING_CANARY in view.text and "We agreed to stop" in view.text
    assert FEEDBACK_CANARY not in view.text  # the person's feedback is not for the team view

    entries = await held(files, 5701)
    by_kind = {e.kind: json.loads(e.answers) for e in entries}
    assert by_kind["feedback"] == {
        "helpful": "4",
        "listened": "mostly",
        "recommend": "yes",
        "anything_else": FEEDBACK_CANARY,
    }
    assert by_kind["closing"] == {
        "sessions": 3,
        "ending": "agreed",
        "for_coordinator": CLOSING_CANARY,
    }
    assert counts(files) == {
        ("helpful", "4"): 1,
        ("listened", "mostly"): 1,
        ("recommend", "yes"): 1,
    }
    raw = files.raw_bytes()
    for canary in (FEEDBACK_CANARY, CLOSING_CANARY, "canary-"):
        assert canary.encode() not in raw
    for message in cora.bot_messages + emulator.group(GROUP_ID, "Coordinators").bot_messages:
        assert FEEDBACK_CANARY not in message.text

    robin.skip_sent()
    await robin.send("/mydata")
    copy = await robin.wait_for(lambda m: m.document is not None, timeout=10)
    assert copy.document is not None
    data = json.loads(copy.document.data)
    [held_copy] = data["referrals"]
    surveys = {s["kind"]: s for s in held_copy["surveys"]}
    for kind in ("feedback", "closing"):
        given = {k: v["value"] for k, v in surveys[kind]["answers"].items()}
        assert given == by_kind[kind]
    assert surveys["feedback"]["answers"]["helpful"]["answer"] == "4"
    summary = "\n".join(m.text for m in robin.bot_messages if m.protect_content)
    assert "Your feedback" in summary and FEEDBACK_CANARY in summary


async def test_without_feedback_consent_only_the_supporter_is_asked(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    files, runtime = service
    kim = emulator.user(5702, "Kim")
    cora, reference, _status = await claimed(emulator, files, kim, HIV_PLAN)
    sam = emulator.user(SAM, "Sam")
    await sam.send("/start")
    await sam.wait_for(lambda m: bool(m.text))
    engagement = await accepted_by_storage(runtime, 5702, SAM)
    await planned_session(runtime, engagement)
    assert pending(files, "session_reminder") == 2

    sam.skip_sent()
    ended = await sam.press_data(f"s:end:{engagement}")
    await ended.answered()
    told = await cora.wait_for(lambda m: "the supporter said so" in m.text)
    assert reference in told.text and told.protect_content
    await emulator.wait_until(
        lambda: all(
            any(m.text.startswith(start) for m in sam.bot_messages)
            for start in (f"Thank you. Support for {reference}", "Hello, a short task for you.")
        ),
        what="the confirmation and the closing report",
    )
    assert pending(files, "session_reminder") == 0  # support ended: no more reminders
    invite = next(m for m in sam.bot_messages if m.text.startswith("Hello, a short task"))
    await sam.press("No, thank you", message=invite)
    await sam.wait_for(lambda m: "Thank you all the same" in m.text)
    twice = await sam.press_data(f"s:end:{engagement}")
    assert "ended already" in ((await twice.answered()).text or "")
    robin = emulator.user(5703, "Robin")  # not theirs to end
    await robin.send("/start")
    await robin.wait_for(lambda m: bool(m.text))
    forged = await robin.press_data(f"s:end:{engagement}")
    assert "older message" in ((await forged.answered()).text or "")

    await close(cora, reference)
    await kim.wait_for(lambda m: "Your form is now closed" in m.text, timeout=10)
    await drained(emulator)
    await kim.expect_silence(0)
    assert not any(m.text.startswith(INVITE_FIRST_LINE) for m in kim.bot_messages)
    rows = sqlite3.connect(files.database).execute(
        "SELECT count(*) FROM outbox WHERE kind = 'feedback'"
    )
    assert rows.fetchone()[0] == 0
    assert counts(files) == {}
    assert await held(files, 5702) == []  # Sam said no thank you: no closing report


async def test_a_swedish_person_answers_in_swedish(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    files, runtime = service
    sv = load_catalog().translator("sv")
    programme = files.config().programme("hiv")
    assert programme is not None
    group = emulator.group(GROUP_ID, "Coordinators")
    astrid = emulator.user(5704, "Astrid", language_code="sv")
    await consent(astrid, agree=sv("Yes, I agree"))
    plan: dict[str, object] = {
        qid: (
            [programme.text(o.label, "sv") for o in q.options if o.id == "sv"]
            if q.kind == "multi"
            else programme.text(q.options[2 if q.role == "age" else 0].label, "sv")
            if q.kind == "single"
            else "Astrid"
        )
        for q in programme.form
        if (qid := q.id) in HIV_PLAN and HIV_PLAN[qid] is not SKIP
    }
    plan[CHOICES_KEY] = [sv("A short feedback survey at the end")]
    await fill_form(
        astrid,
        programme,
        plan,
        "sv",
        skip_label=sv("Skip"),
        prefer_label=sv("Prefer not to say"),
        done=sv("Done"),
        proceed=sv("Continue"),
    )
    await astrid.press(sv("Send my form"))
    sent = await astrid.wait_for(lambda m: REFERENCE.search(m.text) is not None)
    match = REFERENCE.search(sent.text)
    assert match is not None
    reference = match.group(0)
    await group_notice(group, reference)
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    await cora.press("Claim", chat=group)
    await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await accepted_by_storage(runtime, 5704, SAM)
    await close(cora, reference)

    invite = await astrid.wait_for(lambda m: m.text.startswith(sv(INVITE_FIRST_LINE)))
    assert sv(INVITE_FIRST_LINE) != INVITE_FIRST_LINE
    await astrid.press(sv("Start"), message=invite)
    first = await astrid.wait_for(lambda m: "Hur mycket hjälpte ditt stöd?" in m.text)
    assert first.text.startswith("Fråga 1 av 4")
    await astrid.press("5 · Väldigt mycket", message=first)
    second = await astrid.wait_for(lambda m: m.text.startswith("Fråga 2 av 4"))
    await astrid.press("Ja", message=second)
    third = await astrid.wait_for(lambda m: m.text.startswith("Fråga 3 av 4"))
    await astrid.send("nej")  # a typed label counts as the tap
    fourth = await astrid.wait_for(lambda m: m.text.startswith("Fråga 4 av 4"))
    assert third.message_id < fourth.message_id
    assert sv("Skip") in fourth.button_texts
    await astrid.send(HARD_WORDS)  # crisis words: the crisis lines at once, the holder told
    await astrid.wait_for(lambda m: m.text.startswith(sv("We want you to be safe.")))
    thanks = sv("Thank you. Your answers help us make things better for others.")
    await astrid.wait_for(lambda m: m.text.startswith(thanks))
    urgent = await cora.wait_for(lambda m: m.text.startswith(f"URGENT · {reference}"))
    assert HARD_WORDS not in urgent.text
    english = ("Question", "Start", "Thank you", "Hello")
    survey = [m for m in astrid.bot_messages if m.message_id >= invite.message_id]
    assert not any(m.text.startswith(word) for m in survey for word in english)

    entries = await held(files, 5704)
    [feedback] = [e for e in entries if e.kind == "feedback"]
    assert json.loads(feedback.answers) == {
        "helpful": "5",
        "listened": "yes",
        "recommend": "no",
        "anything_else": HARD_WORDS,
    }
    assert counts(files) == {("helpful", "5"): 1, ("listened", "yes"): 1, ("recommend", "no"): 1}


async def test_a_paused_person_is_invited_when_the_pause_ends_and_silently(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    files, runtime = service
    lee = emulator.user(5705, "Lee")
    cora, reference, _status = await claimed(emulator, files, lee, AGREE_FEEDBACK)
    await accepted_by_storage(runtime, 5705, SAM)
    until = datetime.now(UTC) + timedelta(seconds=3)
    async with runtime.store.unit() as uow:
        person = await uow.people.find(5705)
        assert person is not None
        prefs = await preferences.load(uow, person)
        prefs.paused_until, prefs.silent = until, True
        await preferences.save(uow, person, prefs, datetime.now(UTC))
    lee.skip_sent()
    await close(cora, reference)
    await drained(emulator)
    await lee.expect_silence(0)  # paused: nothing, not even the news
    invite = await lee.wait_for(lambda m: m.text.startswith(INVITE_FIRST_LINE), timeout=15)
    assert datetime.now(UTC) >= until
    assert invite.disable_notification  # they chose silent notifications


async def test_a_pause_ended_early_brings_the_invitation_at_once(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    """The invitation waits for a pause like the news does, and comes when the person ends it."""
    files, runtime = service
    kit = emulator.user(5706, "Kit")
    cora, reference, _status = await claimed(emulator, files, kit, AGREE_FEEDBACK)
    await accepted_by_storage(runtime, 5706, SAM)
    await kit.send("/pause")
    await kit.wait_for(lambda m: m.text.startswith("Pause messages from us?"))
    await kit.press("For 1 day")
    await kit.wait_for(lambda m: "We will not send you anything until" in m.text)
    await close(cora, reference)
    await drained(emulator)
    assert not any(m.text.startswith(INVITE_FIRST_LINE) for m in kit.bot_messages)
    await kit.send("/pause")
    await kit.wait_for(lambda m: "Messages are paused until" in m.text)
    await kit.press("Start messages again now")
    await kit.wait_for(lambda m: m.text.startswith(INVITE_FIRST_LINE))
