"""Referrals on someone's behalf, through the real bot (issue 13, items 4 and 5): a professional
refers from their link; a coordinator takes a referral by phone; the person has no Telegram, so
what would message them becomes a task for the holder; the professional gets exactly two
discreet updates; forged and stale presses are refused; a coordinator gives the person their
data and erases it on request, audited."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from pathlib import Path

from bot.ops.reports_cli import make_report
from sandbox.emulator import BotApiEmulator, ScriptedGroup, ScriptedUser
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, write_config
from tests.e2e.harness import (
    CHOICES_KEY,
    HIV_PLAN,
    REFERENCE,
    SKIP,
    BotFiles,
    MovableClock,
    consent,
    drained,
    fill_form,
    in_process,
    later,
)

#: A professional's answers to the shipped `refer` questionnaire.
PRO_PLAN: dict[str, object] = {
    "pro_name": "Dr Quill Marsh",
    "pro_role": "GP",
    "pro_org": "Harbour Street Surgery",
    "pro_contact": "quill.marsh@surgery.example",
    "name": "Ariel",
    "contact": "07700 900555, after 6pm",
    "contact_times": SKIP,
    "reason": "Newly diagnosed and feeling very alone",
    "agreed": "Yes",
}
PRO_ID, OUTSIDER_ID = 5901, 5902


def db_rows(files: BotFiles, sql: str, *args: object) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        return db.execute(sql, args).fetchall()


async def refer(
    pro: ScriptedUser, files: BotFiles, plan: dict[str, object], stop_at: str | None = None
) -> None:
    """The professional's link, their notice, Yes, and the questionnaire up to the review (or
    up to question ``stop_at``)."""
    programme = files.config().programme("hiv")
    assert programme is not None
    view = programme.asking("refer")
    assert view is not None
    await consent(pro, payload="hiv-refer")
    await fill_form(pro, view, plan, stop_at=stop_at)


async def sent_reference(user: ScriptedUser) -> str:
    sent = await user.wait_for(lambda m: REFERENCE.search(m.text or "") is not None)
    found = REFERENCE.search(sent.text or "")
    assert found is not None
    return found.group(0)


async def report_html(files: BotFiles, out: Path) -> str:
    """`peerdoor report` for the HIV programme, every count shown (threshold 1)."""
    hiv = files.config().programme("hiv")
    assert hiv is not None
    await make_report(await files.open_store(), [hiv], out, threshold=1)
    return (out / "report.html").read_text(encoding="utf-8")


def table_row(html: str, row_id: str) -> list[str]:
    found = re.search(rf'<tr id="{re.escape(row_id)}">(.*?)</tr>', html)
    assert found is not None, f"no row {row_id} in the report"
    return re.findall(r"<td[^>]*>(.*?)</td>", found.group(1))


def texts(chat: ScriptedUser | ScriptedGroup) -> list[str]:
    return [t for m in chat.bot_messages for t in (m.text or "", *m.edits)]


async def test_a_professional_refers_someone_without_telegram(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    cora = emulator.user(CORA, "Cora")
    pro = emulator.user(PRO_ID, "Quill")
    async with in_process(files, emulator):
        await cora.send("/mine")  # a private chat with the bot, as every coordinator has
        await pro.send("/start hiv-refer")
        notice = await pro.wait_for(lambda m: "Yes, I agree" in m.button_texts)
        assert "What we keep: your name, role" in notice.text  # its own notice
        assert "to take your referral?" in notice.text
        pro.skip_sent()
        await refer(pro, files, PRO_PLAN)
        review = pro.last_bot_message
        assert review is not None and "Your choices" not in review.text
        await pro.press("Send my form")
        reference = await sent_reference(pro)
        sent_at = max(m.message_id for m in pro.bot_messages)
        await drained(emulator)

        # the same queue, marked, with nothing about the person in the group
        notice_text = next(t for t in texts(group) if reference in t)
        assert "Referred by a professional" in notice_text
        for text in texts(group):
            for secret in ("Ariel", "07700", "alone", "Quill", "Harbour"):
                assert secret not in text

        # stored: a person without Telegram, sealed answers, the professional's details apart
        ((route, person_id),) = db_rows(
            files, "SELECT route, person_id FROM referrals WHERE reference = ?", reference
        )
        assert route == "professional"
        ((referrer_id, details, updates),) = db_rows(
            files, "SELECT referrer_id, details, updates FROM referrers"
        )
        assert referrer_id != person_id and updates == 1
        assert isinstance(details, bytes) and b"Quill" not in details

        # the holder sees who referred and how to reach the person, and is told: no Telegram
        await cora.press("Claim", chat=group)
        details_msg = await cora.wait_for(lambda m: reference in m.text and "Ariel" in m.text)
        assert "Referred by a professional" in details_msg.text
        assert "contact them by phone or post only" in details_msg.text
        assert (
            "Dr Quill Marsh" in details_msg.text and "Harbour Street Surgery" in details_msg.text
        )
        assert "GP" in details_msg.text  # an option's label, not its id
        assert "agree" not in details_msg.text.split("Ariel")[1].split("Dr Quill")[0].lower()
        # the "picked up" news for the person becomes a task for Cora, privately
        task = await cora.wait_for(lambda m: "A task for you" in m.text)
        assert reference in task.text and "Ariel" not in task.text
        # the professional: "received", once
        received = await pro.wait_for(lambda m: "News about a referral you made" in m.text)
        assert (
            reference in received.text and "A coordinator has the referral now." in received.text
        )

        cora.skip_sent()
        await cora.press("Contacted")
        await cora.wait_for(lambda m: "Unassign" in m.button_texts)
        contacted = await pro.wait_for(lambda m: "News about a referral you made" in m.text)
        assert "We have been in touch with the person." in contacted.text
        # a second claim after unassigning, and anything later: never a third update
        await cora.press("Unassign")
        await group.wait_for(lambda m: reference in m.text and "Claim" in m.button_texts)
        await cora.press("Claim", chat=group)
        await drained(emulator)
        # the report: one referral by a professional, contacted
        html = await report_html(files, tmp_path / "report")
        assert table_row(html, "hiv-route-professional")[:3] == [
            "a professional, on their behalf",
            "1",
            "1",
        ]
        assert table_row(html, "hiv-route-self")[1] == "0"
        after = [m.text or "" for m in pro.bot_messages if m.message_id > sent_at]
        assert len(after) == 2 and all("News about a referral you made" in t for t in after)
        assert all("Ariel" not in t and "alone" not in t for t in after)

        # the professional's /mydata: their own details in the referral, nothing of the person
        await pro.send("/mydata")
        copy = await pro.wait_for(lambda m: m.document is not None, timeout=10)
        assert copy.document is not None
        data = json.loads(copy.document.data)
        (made,) = data["referrals_made"]
        assert made["reference"] == reference
        assert made["your_details"]["pro_name"] == "Dr Quill Marsh"
        assert data["referrals"] == []
        assert b"Ariel" not in copy.document.data and b"alone" not in copy.document.data


async def test_a_professional_whose_person_did_not_agree_keeps_nothing(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    pro = emulator.user(PRO_ID, "Quill")
    async with in_process(files, emulator):
        await refer(pro, files, PRO_PLAN, stop_at="agreed")
        await pro.press("No")
        said = await pro.wait_for(
            lambda m: "only take a referral when the person agrees" in m.text
        )
        assert "We have not kept anything you typed." in said.text
        await drained(emulator)
    assert db_rows(files, "SELECT count(*) FROM referrals") == [(0,)]
    assert db_rows(files, "SELECT count(*) FROM people") == [(0,)]
    assert db_rows(files, "SELECT count(*) FROM dialogs") == [(0,)]


async def test_a_coordinator_takes_a_referral_by_phone(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    cora = emulator.user(CORA, "Cora")
    outsider = emulator.user(OUTSIDER_ID, "Otto")
    programme = files.config().programme("hiv")
    assert programme is not None
    async with in_process(files, emulator):
        # refused kindly: a group, someone who is not a coordinator, no programme
        cora.skip_sent()
        await cora.send_in(group, "/newreferral hiv")
        await group.wait_for(lambda m: "private chat" in m.text)
        await outsider.send("/newreferral hiv")
        await outsider.wait_for(lambda m: "only a coordinator" in m.text)
        await cora.send("/newreferral")
        await cora.wait_for(lambda m: "/newreferral hiv" in m.text)

        await cora.send("/newreferral hiv")
        how = await cora.wait_for(lambda m: "How did they agree?" in m.text)
        assert f"version {programme.privacy_version}" in how.text
        # a forged press by someone who is not a coordinator: refused, nothing begun
        await outsider.press_data("n:phone:hiv")
        await outsider.wait_for(lambda m: "only a coordinator" in m.text)
        (agreed,) = [b.data for row in how.buttons for b in row if b.text.endswith("phone")]
        assert agreed is not None and agreed.startswith("n:phone:hiv:")  # numbered
        await cora.press("They agreed on the phone")
        await fill_form(cora, programme, HIV_PLAN)
        # the stale "How did they agree?" button, pressed again mid-way: refused kindly
        await cora.press_data("n:phone:hiv", message=how)
        await cora.wait_for(lambda m: "You have a form open" in m.text)
        await cora.press("Send my form")
        reference = await sent_reference(cora)
        # the real "How did they agree?" button, pressed once the form is sent: stale, and no
        # second form begins
        stale = await cora.press_data(agreed, message=how)
        assert (
            await stale.answered()
        ).text == "This button has expired. Please use the newest message."
        await drained(emulator)
        assert not any("Question 1 of" in m.text for m in cora.bot_messages[-2:])

        notice_text = next(t for t in texts(group) if reference in t)
        assert "Taken by phone by Cora" in notice_text
        assert "Robin" not in notice_text
        ((route,),) = db_rows(files, "SELECT route FROM referrals WHERE reference = ?", reference)
        assert route == "staff"
        assert db_rows(
            files,
            "SELECT count(*) FROM audit_log WHERE action = 'phone_referral' AND reference = ?",
            reference,
        ) == [(1,)]

        # claimed: the news that would go to the person is a task for Cora
        await cora.press("Claim", chat=group)
        task = await cora.wait_for(lambda m: "A task for you" in m.text)
        assert reference in task.text and "Robin" not in task.text
        # a message to them: kept in the thread, and a task for the holder to pass it on
        await cora.press("Write to them")
        await cora.wait_for(lambda m: "Type your message" in m.text)
        await cora.send("Your first call is on Monday")
        passed = await cora.wait_for(lambda m: "pass on your message" in m.text)
        assert reference in passed.text and "Monday" not in passed.text

        # the report: one referral taken by staff, its kind of support counted
        html = await report_html(files, tmp_path / "report")
        assert table_row(html, "hiv-route-staff")[1] == "1"
        assert table_row(html, "hiv-answers-support_type-one_to_one") == [
            "One-to-one with a peer supporter",
            "1",
        ]

        # the person asks by phone for their data: Cora gets the copy; then erasure
        cora.skip_sent()
        await outsider.send(f"/persondata {reference}")
        await outsider.wait_for(lambda m: "only a coordinator" in m.text)
        await cora.send(f"/persondata {reference}")
        copy = await cora.wait_for(lambda m: m.document is not None, timeout=10)
        assert copy.document is not None
        data = json.loads(copy.document.data)
        assert data["referrals"][0]["reference"] == reference
        assert db_rows(
            files,
            "SELECT count(*) FROM audit_log WHERE action = 'export_for_person' AND reference = ?",
            reference,
        ) == [(1,)]
        await outsider.press_data(f"n:erase:{reference}")
        await outsider.wait_for(lambda m: "only a coordinator" in m.text)
        refused = db_rows(
            files,
            "SELECT count(*) FROM audit_log WHERE action = 'refused:erase' AND reference = ?",
            reference,
        )
        assert refused == [(1,)]
        assert len(db_rows(files, "SELECT id FROM referrals WHERE reference = ?", reference)) == 1
        await cora.send(f"/erase {reference}")
        await cora.wait_for(lambda m: "Erase everything" in m.text)
        await cora.press("Yes, erase everything")
        await cora.wait_for(lambda m: "is erased" in m.text)
        await drained(emulator)
    assert db_rows(files, "SELECT count(*) FROM referrals WHERE reference = ?", reference) == [
        (0,)
    ]
    assert db_rows(
        files,
        "SELECT count(*) FROM audit_log WHERE action = 'erased_on_request' AND reference = ?",
        reference,
    ) == [(1,)]


async def test_check_ins_for_someone_without_telegram_are_calls_for_the_holder(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """Asked on the phone, they said yes to check-ins: each falls due as a task for the holder
    (and the next one is queued, as for anyone); they never get a Telegram message."""
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    cora = emulator.user(CORA, "Cora")
    clock = MovableClock()
    programme = files.config().programme("hiv")
    assert programme is not None
    async with in_process(files, emulator, clock) as runtime:
        await cora.send("/newreferral hiv")
        await cora.wait_for(lambda m: "How did they agree?" in m.text)
        await cora.press("They agreed in person")
        plan = {**HIV_PLAN, CHOICES_KEY: ["Short check-in messages while I wait"]}
        await fill_form(cora, programme, plan)
        review = cora.last_bot_message
        assert review is not None and "Short check-in messages" in review.text
        assert "Silent" not in review.text and "discreet" not in review.text.lower()
        await cora.press("Send my form")
        reference = await sent_reference(cora)
        await group_notice(group, reference)
        await cora.press("Claim", chat=group)
        await cora.wait_for(lambda m: "A task for you" in m.text)  # the "picked up" news
        ((pending,),) = db_rows(
            files, "SELECT count(*) FROM outbox WHERE kind = 'checkin' AND state = 'pending'"
        )
        assert pending == 1
        cora.skip_sent()
        await later(runtime, emulator, clock, programme.checkins.waiting_after_days * 86400)
        task = await cora.wait_for(lambda m: "A task for you" in m.text)
        assert reference in task.text and "a short check-in, if they want one" in task.text
        # sending it queued the next one, as for anyone who agreed
        ((pending,),) = db_rows(
            files, "SELECT count(*) FROM outbox WHERE kind = 'checkin' AND state = 'pending'"
        )
        assert pending == 1

        # Cora begins another phone referral and gives it up: her own record (what she holds)
        # stays; only the form goes
        await cora.send("/newreferral hiv")
        await cora.wait_for(lambda m: "How did they agree?" in m.text)
        await cora.press("They agreed on the phone")
        await cora.wait_for(lambda m: "✕ Exit" in m.button_texts)
        await cora.press("✕ Exit")
        await drained(emulator)
        ((holder,),) = db_rows(
            files, "SELECT holder_id FROM referrals WHERE reference = ?", reference
        )
        assert holder is not None
        assert db_rows(files, "SELECT count(*) FROM dialogs") == [(0,)]
