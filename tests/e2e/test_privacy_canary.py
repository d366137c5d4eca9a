"""Canaries: distinctive answers, a Telegram id and the source of the link the person came by
(which clinic) must not appear on disk or in the logs; the source not in the coordinators' group
either."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import GROUP_ID, group_notice, write_config
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, BotProcess, consent, fill_form

pytestmark = pytest.mark.slow

TELEGRAM_ID = 987654321987
CANARIES = {
    "name": "Quentin Marmaduke",
    "area": "Zanzibarton-on-Sea",
    "clinic": "Canary Wharf Clinic XJ9",
    "medication": "Bictegravir-CANARY-42",
    "change": "CANARY-ZEBRA stop hiding my status",
    "interests": "Origami-PELICAN",
}
#: A source of the HIV programme, added to the config: its id comes in the link and rides the
#: consent button; its name is only in the config.
SOURCE_ID = "CanarySrcXQ7"
SOURCE_NAME = "Kingfisher CANARY Sexual Health"
SOURCE = f"""
[[programmes.sources]]
id = "{SOURCE_ID}"
kind = "clinic"
name.en = "{SOURCE_NAME}"
name.sv = "{SOURCE_NAME} SV"
"""


def canary_config(folder: Path) -> Path:
    """The example with a coordinators' group, plus the canary source."""
    path = write_config(folder)
    text = path.read_text(encoding="utf-8")
    anchor = '\n[[programmes.signposting]]\nid = "drugs_alcohol"'
    assert anchor in text
    path.write_text(text.replace(anchor, SOURCE + anchor, 1), encoding="utf-8")
    return path


def needles() -> dict[str, bytes]:
    found = {key: value.encode() for key, value in CANARIES.items()}
    found["telegram id (text)"] = str(TELEGRAM_ID).encode()
    found["telegram id (little-endian)"] = TELEGRAM_ID.to_bytes(8, "little")
    found["telegram id (big-endian)"] = TELEGRAM_ID.to_bytes(8, "big")
    found["programme id"] = b'"hiv"'
    found["source id"] = SOURCE_ID.encode()
    found["source id (lower case)"] = SOURCE_ID.lower().encode()
    found["source name"] = SOURCE_NAME.encode()
    return found


async def test_answers_and_ids_never_rest_in_plaintext(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=canary_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    bot = BotProcess(files, emulator)
    await bot.start(PEERDOOR_LOG_LEVEL="DEBUG")
    try:
        person = emulator.user(TELEGRAM_ID, "Q", language_code="en")
        await consent(person, payload=f"hiv-{SOURCE_ID}")
        programme = files.config().programme("hiv")
        assert programme is not None
        await fill_form(person, programme, {**HIV_PLAN, **CANARIES})
        # mid-way state is on disk too: check before sending, then after.
        middle = files.raw_bytes()
        await person.press("Send my form")
        sent = await person.wait_for(lambda m: REFERENCE.search(m.text) is not None)
        reference = REFERENCE.search(sent.text)
        assert reference is not None
        await group_notice(group, reference.group(0))
    finally:
        assert await bot.stop() == 0
    after = files.raw_bytes()
    log = bot.log.read_bytes()
    assert b"referral.submitted" in log, "the log is there and carries event names"
    assert reference.group(0).encode() in log, "the log carries the reference code"
    assert b"DEBUG" in log or b"INFO" in log
    for what, needle in needles().items():
        assert needle not in middle, f"{what} is in the database while the form is open"
        assert needle not in after, f"{what} is in the database after sending"
        if what != "programme id":
            assert needle not in log, f"{what} is in the log"
    assert emulator.token.encode() not in log, "the bot token is in the log"
    # the source was recorded (sealed: a keyed tag, no plaintext), and the group never saw it
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            referral = await uow.referrals.by_reference(reference.group(0))
            assert referral is not None
            assert await uow.referrals.source(referral) == SOURCE_ID
    finally:
        await store.close()
    group_texts = [t for m in group.messages for t in (m.text or "", *m.edits)]
    assert any(reference.group(0) in t for t in group_texts)
    for text in group_texts:
        assert SOURCE_ID.lower() not in text.lower() and "Kingfisher" not in text


TALK_CANARIES = ("Heron-CANARY my viral load came back", "Osprey-CANARY call me on 07700")


async def test_messages_between_supporter_and_person_never_rest_in_plaintext(
    tmp_path: Path, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue #15: what a person and their supporter write to each other through the bot is
    on disk only sealed, never in the log (every level), never in the coordinators' group."""
    import logging

    from tests.e2e.coordination import CORA, refer
    from tests.e2e.harness import drained, in_process
    from tests.e2e.test_sessions import claimed, match, supporter

    caplog.set_level(logging.DEBUG)
    files = BotFiles(tmp_path, config_path=canary_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    person, cora = emulator.user(TELEGRAM_ID, "Q"), emulator.user(CORA, "Cora")
    sam = supporter(emulator, 6459)
    async with in_process(files, emulator) as runtime:
        await cora.send("/start")
        reference = await refer(person, HIV_PLAN, files.config())
        await claimed(cora, reference)
        await match(runtime.store, reference, sam.id)
        await person.send("/talk")
        menu = await person.wait_for(lambda m: "Write a message" in m.button_texts)
        await person.press("Write a message", message=menu)
        await person.wait_for(lambda m: "I will pass it on" in m.text)
        await person.send(TALK_CANARIES[0])
        got = await sam.wait_for(lambda m: TALK_CANARIES[0] in m.text)
        await sam.press("Reply", message=got)
        await sam.wait_for(lambda m: "I will pass it on" in m.text)
        await sam.send(TALK_CANARIES[1])
        await person.wait_for(lambda m: TALK_CANARIES[1] in m.text)
        await drained(emulator)
    raw = files.raw_bytes()
    # the bot's own loggers at every level (the libraries' debug output of raw updates is
    # silenced by the bot's logging set-up, which the process canary above checks)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("peerdoor"))
    assert "talk.sent ref=" + reference in logged, "the log is captured and has the events"
    group_texts = [t for m in group.messages for t in (m.text or "", *m.edits)]
    for canary in TALK_CANARIES:
        assert canary.encode() not in raw
        assert canary not in logged
        assert not any(canary in t for t in group_texts)


ASSESS_CANARY = "Kestrel-CANARY disclosed a new diagnosis"


async def test_assessment_answers_never_rest_in_plaintext(
    tmp_path: Path, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue #15: what a coordinator answers in the initial assessment is on disk only sealed,
    never in the bot's log (every level), never in the group or to the supporter side."""
    import logging

    from tests.e2e.harness import drained, fill_form, in_process
    from tests.e2e.test_assessment import assessment_config
    from tests.e2e.test_supporters_match import contacted_referral

    caplog.set_level(logging.DEBUG)
    files = BotFiles(tmp_path, config_path=assessment_config(tmp_path))
    programme = files.config().programme("hiv")
    assert programme is not None
    view = programme.asking("assessment")
    assert view is not None
    group = emulator.group(GROUP_ID, "Coordinators")
    async with in_process(files, emulator):
        _robin, cora, reference, status = await contacted_referral(emulator, files)
        await cora.press("Assessing", message=status)
        await cora.wait_for(lambda m: f"{reference} is now assessing" in m.content)
        cora.skip_sent()
        await cora.send(f"/assess {reference}")
        middle = files.raw_bytes()
        plan = {"ready": "No", "suitability": ASSESS_CANARY, "outcome": "Not suitable"}
        await fill_form(cora, view, plan)
        middle += files.raw_bytes()  # the unfinished assessment is on disk too: sealed
        await cora.press("Send my form", contains=True)
        await cora.wait_for(lambda m: "is saved" in m.content)
        await drained(emulator)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("peerdoor"))
    assert f"assessment.saved ref={reference}" in logged, "the log is captured"
    assert ASSESS_CANARY.encode() not in middle + files.raw_bytes()
    assert ASSESS_CANARY not in logged
    assert not any(ASSESS_CANARY in t for m in group.messages for t in (m.text or "", *m.edits))
