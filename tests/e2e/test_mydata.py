"""/mydata: a person's copy of everything held about them, checked against the database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.telegram.app import Runtime
from conversations.draft import Draft
from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import HIV_PLAN, BotFiles, consent, drained, fill_form, in_process

FIRST_LINE = "Here is a copy of what we hold about you."


@pytest.fixture
async def service(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator):
        yield files


async def ask_for_copy(person: ScriptedUser) -> tuple[list[StoredMessage], StoredMessage]:
    """Send /mydata; return the summary messages and the file."""
    person.skip_sent()
    await person.send("/mydata")
    summary = [await person.wait_for(lambda m: (m.text or "").startswith(FIRST_LINE))]
    while True:
        message = await person.next_message(timeout=10)
        if message.document is not None:
            return summary, message
        summary.append(message)


def values(answers: dict[str, Any]) -> dict[str, Any]:
    return {qid: item["value"] for qid, item in answers.items()}


async def test_copy_holds_answers_thread_and_notes(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5601, "Robin")
    reference = await refer(robin, HIV_PLAN, service.config())
    await group_notice(group, reference)

    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    await cora.press("Claim", chat=group)
    details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Write to them", message=details)
    await cora.wait_for(lambda m: "Type your message" in m.text)
    await cora.send("Hi Robin, this is the team. When suits you?")
    await cora.wait_for(lambda m: "Sent to the person" in m.text)
    await robin.wait_for(lambda m: "When suits you?" in m.text)
    await robin.send("Tuesday evening is good")
    await robin.wait_for(lambda m: "passed your message on" in m.text)
    await cora.wait_for(lambda m: "Tuesday evening is good" in m.text)
    await cora.send(f"/referral {reference}")
    again = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Add a note", message=again)
    await cora.wait_for(lambda m: "Type the note" in m.text)
    await cora.send("Prefers evenings; mentioned art group")
    await cora.wait_for(lambda m: "Note added" in m.text)

    summary, file = await ask_for_copy(robin)
    assert all(m.protect_content for m in summary)
    assert not file.protect_content, "the file is theirs to save and take elsewhere"
    assert file.document is not None
    assert file.document.filename == f"mydata-{reference}.json"
    text = "\n".join(m.text or "" for m in summary)
    assert reference in text
    assert "Robin" in text and "Lawson Unit" in text
    assert "Tuesday evening is good" in text
    assert "When suits you?" in text
    assert "Prefers evenings; mentioned art group" in text  # notes are part of the copy
    assert "We write to you in English." in text  # settings as sentences, not stored JSON
    assert "you agreed that we keep your answers to find you a peer supporter." in text
    assert '{"' not in text and "consents" not in text
    assert "Telegram id is stored only encrypted" in text
    for message in summary[1:]:
        assert (message.text or "").startswith("Your copy, part ")

    data = json.loads(file.document.data)
    assert data["format"] == "peerdoor-export/1"
    assert data["person"]["settings"]["language"] == "en"
    assert data["unfinished_form"] is None
    [copy] = data["referrals"]
    assert copy["reference"] == reference
    assert copy["programme"] == "hiv"
    assert copy["status"] == "claimed"
    assert copy["claimed_at"] is not None
    assert copy["answers"]["name"]["question"]
    assert copy["answers"]["name"]["answer"] == "Robin"

    store = await service.open_store()
    try:
        async with store.unit() as uow:
            person = await uow.people.find(5601)
            assert person is not None
            [referral] = await uow.referrals.for_person(person)
            stored = json.loads(await uow.referrals.answers(referral))
            settings = json.loads(await uow.people.settings(person) or b"{}")
            thread = await uow.thread.list(referral)
            actions = [e.action for e in await uow.audit.entries(reference=reference)]
    finally:
        await store.close()
    assert values(copy["answers"]) == stored
    assert data["person"]["settings"] == settings  # every preference key, as stored
    assert [(t["kind"], t["text"]) for t in copy["thread"]] == [
        (e.kind, e.body.decode()) for e in thread
    ]
    assert [t["at"] for t in copy["thread"]] == [e.at.isoformat() for e in thread]
    assert {t["kind"] for t in copy["thread"]} == {"to_referrer", "from_referrer", "note"}
    assert "export" in actions
    assert all(a["action"] != "export" for a in copy["activity"])  # recorded after the read
    assert "claim" in [a["action"] for a in copy["activity"]]
    assert all(set(a) == {"at", "action"} for a in copy["activity"])  # never who, never what


async def test_a_draft_only_person_gets_their_draft(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    programme = files.config().programme("hiv")
    assert programme is not None
    sam = emulator.user(5602, "Sam")
    await consent(sam)
    await fill_form(sam, programme, {**HIV_PLAN, "name": "Sam"}, stop_at="age_band")

    summary, file = await ask_for_copy(sam)
    assert all(m.protect_content for m in summary)
    assert not file.protect_content, "the file is theirs to save and take elsewhere"
    assert file.document is not None
    assert file.document.filename is not None
    assert file.document.filename.startswith("mydata-20")
    text = "\n".join(m.text or "" for m in summary)
    assert "Your unfinished form" in text
    assert "Sam" in text
    assert "Only through this chat" in text

    data = json.loads(file.document.data)
    assert data["referrals"] == []
    draft_copy = data["unfinished_form"]
    assert draft_copy["programme"] == "hiv"
    assert draft_copy["current_question"] == "age_band"
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            person = await uow.people.find(5602)
            assert person is not None
            raw = await uow.drafts.load(person)
    finally:
        await store.close()
    assert raw is not None
    assert values(draft_copy["answers"]) == Draft.from_bytes(raw).answers
    assert draft_copy["answers"]["contact_route"]["answer"] == "Only through this chat"


async def test_nothing_held_says_so_and_sends_no_file(
    bot: Runtime, emulator: BotApiEmulator
) -> None:
    kim = emulator.user(5603, "Kim")
    await kim.send("/mydata")
    reply = await kim.next_message()
    assert reply.text == "We do not hold anything about you."
    await drained(emulator)
    await kim.expect_silence(0)


def test_a_long_copy_is_cut_between_items_with_neutral_first_lines() -> None:
    """Pure: many long messages make several parts, each under Telegram's limit."""
    from datetime import UTC, datetime

    from bot.config_file import load_config
    from conversations import mydata
    from tests.e2e.harness import EXAMPLE_CONFIG

    programme = load_config(EXAMPLE_CONFIG).programme("hiv")
    at = datetime(2025, 3, 1, 12, tzinfo=UTC)
    thread = [mydata.ThreadItem("from_referrer", at, f"{i} " + "w" * 900) for i in range(12)]
    referral = mydata.ReferralCopy(
        "PD-AAAAAA", "hiv", programme, "claimed", False, at, {"name": "Robin"}, thread=thread
    )
    holding = mydata.Holding("en", at, {"language": "en"}, None, [referral])
    parts = mydata.summary(holding, lambda text: text)
    assert len(parts) > 3
    assert parts[0].text.startswith(FIRST_LINE)
    for number, part in enumerate(parts[1:], start=2):
        assert part.text.startswith(f"Your copy, part {number} of {len(parts)}")
        assert len(part.text) <= 4096
    joined = "".join(p.text for p in parts)
    assert all(f"{i} " + "w" * 900 in joined for i in range(12))
