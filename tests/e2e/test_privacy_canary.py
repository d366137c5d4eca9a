"""Canaries: distinctive answers, a Telegram id, the source of the link the person came by
(which clinic) and the peer support group they joined (its name, id and link, how they are
shown to its facilitators) must not appear on disk or in the logs; neither the source nor the
group in the coordinators' group either."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator, ScriptedGroup, ScriptedUser
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, offer_group_and_join, write_config
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, BotProcess, consent, fill_form
from tests.e2e.test_applicants import VOLUNTEER_PLAN, card_of, tick, training_config

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


#: A peer support group of the HIV programme: its id, name and link are only in the config.
GROUP_CANARY_ID = "CanaryGrpQ3"
GROUP_CANARY_NAME = "Pelican CANARY Circle"
GROUP_CANARY_LINK = "https://meet.example.org/CANARY-LINK-77"
PEER_GROUP = f"""
[[programmes.groups]]
id = "{GROUP_CANARY_ID}"
name.en = "{GROUP_CANARY_NAME}"
name.sv = "{GROUP_CANARY_NAME} SV"
language = "en"
setting = "online"
link = "{GROUP_CANARY_LINK}"
schedule = "every Wednesday 19:00"
first_meeting = 2026-01-07
"""


def canary_config(folder: Path) -> Path:
    """The example with a coordinators' group, plus the canary source and peer group."""
    path = write_config(folder)
    text = path.read_text(encoding="utf-8")
    anchor = '\n[[programmes.signposting]]\nid = "drugs_alcohol"'
    assert anchor in text
    path.write_text(text.replace(anchor, SOURCE + PEER_GROUP + anchor, 1), encoding="utf-8")
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
    found["peer group id"] = GROUP_CANARY_ID.encode()
    found["peer group name"] = GROUP_CANARY_NAME.encode()
    found["peer group link"] = GROUP_CANARY_LINK.encode()
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
        await fill_form(person, programme, {**HIV_PLAN, **CANARIES, "support_type": "Both"})
        # mid-way state is on disk too: check before sending, then after.
        middle = files.raw_bytes()
        await person.press("Send my form")
        sent = await person.wait_for(lambda m: REFERENCE.search(m.text) is not None)
        reference = REFERENCE.search(sent.text)
        assert reference is not None
        await offer_the_canary_group(emulator, group, person, reference.group(0))
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
        # nothing about groups or membership beyond the referral notice itself
        assert "Pelican" not in text and "joined" not in text and "waiting list" not in text


async def offer_the_canary_group(
    emulator: BotApiEmulator, group: ScriptedGroup, person: ScriptedUser, reference: str
) -> None:
    """A coordinator offers the canary group; the person joins and is shown by name."""
    await offer_group_and_join(
        emulator,
        group,
        person,
        reference,
        GROUP_CANARY_NAME,
        f"My name ({CANARIES['name']})",
        invitation=GROUP_CANARY_NAME,
        remind=False,
    )
    cora = emulator.user(CORA, "Cora")
    await cora.wait_for(lambda m: f"{reference} joined {GROUP_CANARY_NAME}" in m.text)


VOLUNTEER_CANARIES = {
    "name": "Wilhelmina Canaryfeather",
    "contact": "canary-heron@example.org",
    "area": "Puffinsby-CANARY",
    "why": "CANARY-OSPREY I was helped after my diagnosis",
    "lived_experience": "CANARY-GANNET diagnosed in 2011",
}
SUPERVISION_NOTE = "CANARY-TERN talked about a hard week"
COORDINATOR_NOTE = "CANARY-AUK calm and kind on the phone"


async def test_applications_and_supervision_notes_never_rest_in_plaintext(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """A volunteer's application (its lived experience too), a coordinator's note and a
    supervision note: sealed on disk, never in the log, never in the coordinators' group."""
    files = BotFiles(tmp_path, config_path=training_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    bot = BotProcess(files, emulator)
    await bot.start(PEERDOOR_LOG_LEVEL="DEBUG")
    try:
        cora = emulator.user(CORA, "Cora")
        await cora.send("/applicants")
        await cora.wait_for(lambda m: "Nobody yet." in m.text)
        volunteer = emulator.user(TELEGRAM_ID, "W", language_code="en")
        await consent(volunteer, payload="hiv-volunteer")
        hiv = files.config().programme("hiv")
        assert hiv is not None
        asked = hiv.asking("volunteer")
        assert asked is not None
        await fill_form(volunteer, asked, {**VOLUNTEER_PLAN, **VOLUNTEER_CANARIES})
        middle = files.raw_bytes()
        await volunteer.press("Send my form")
        await volunteer.wait_for(lambda m: "Your answers are sent" in m.text)
        await cora.wait_for(lambda m: m.text.startswith("Someone applied to volunteer"))
        card = await card_of(cora, emulator, VOLUNTEER_CANARIES["name"])
        assert VOLUNTEER_CANARIES["lived_experience"] in card.text  # the coordinator reads it
        await cora.press("Add a note", message=card)
        await cora.wait_for(lambda m: "Type your note" in m.text)
        await cora.send(COORDINATOR_NOTE)
        card = await cora.wait_for(lambda m: COORDINATOR_NOTE in m.text)
        for label in ("We talked", "Starts training"):
            await cora.press(label, message=card)
            await emulator.wait_until(
                lambda label=label: label not in card.button_texts, what=label
            )
        await tick(cora, emulator, card, "Checks", ["Two references"])
        await tick(cora, emulator, card, "Training", ["Peer support basics", "Keeping safe"])
        await cora.press("Checks are done", message=card)
        await emulator.wait_until(lambda: "Make them a supporter" in card.button_texts, what="ok")
        await cora.press("Make them a supporter", message=card)
        await emulator.wait_until(lambda: "Supervision" in card.button_texts, what="active")
        await cora.press("Supervision", message=card)
        await cora.wait_for(lambda m: "supervision with" in m.text)
        await cora.send(SUPERVISION_NOTE)
        await cora.wait_for(lambda m: "Last supervision" in m.text)
        await volunteer.wait_for(lambda m: m.text.startswith("Welcome. You are now"))
    finally:
        assert await bot.stop() == 0
    after = files.raw_bytes()
    log = bot.log.read_bytes()
    assert b"applicant.applied" in log and b"applicant.moved stage=active" in log
    needles = {key: value.encode() for key, value in VOLUNTEER_CANARIES.items()}
    needles["supervision note"] = SUPERVISION_NOTE.encode()
    needles["coordinator's note"] = COORDINATOR_NOTE.encode()
    needles["telegram id (text)"] = str(TELEGRAM_ID).encode()
    for what, needle in needles.items():
        if what not in ("supervision note", "coordinator's note"):
            assert needle not in middle, f"{what} is in the database while the form is open"
        assert needle not in after, f"{what} is in the database"
        assert needle not in log, f"{what} is in the log"
    group_texts = [t for m in group.messages for t in (m.text or "", *m.edits)]
    for text in group_texts:
        assert "CANARY" not in text and "Canary" not in text


#: A professional's answers (their own details and the person's), and a coordinator's answers
#: on the phone for someone without Telegram: none may rest in plaintext or reach the group.
PRO_CANARIES = {
    "pro_name": "Dr Albatross CANARY-Penhaligon",
    "pro_org": "Puffin CANARY Health Centre",
    "pro_contact": "albatross.canary@puffin.example",
    "name": "Cormorant-CANARY",
    "contact": "07700 911 CANARY",
    "reason": "CANARY-HERON newly diagnosed",
}
PHONE_CANARIES = {
    "name": "Gannet-CANARY-Phone",
    "area": "Shearwater-CANARY-Town",
    "change": "CANARY-PETREL to talk to someone",
    "interests": "Knitting-CANARY-Skua",
}
PRO_ID = 987654321555


async def test_answers_given_on_someone_s_behalf_never_rest_in_plaintext(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=canary_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    bot = BotProcess(files, emulator)
    await bot.start(PEERDOOR_LOG_LEVEL="DEBUG")
    references: list[str] = []
    middles: list[bytes] = []
    try:
        programme = files.config().programme("hiv")
        assert programme is not None
        refer = programme.asking("refer")
        assert refer is not None
        pro = emulator.user(PRO_ID, "A", language_code="en")
        await consent(pro, payload="hiv-refer")
        await fill_form(pro, refer, {**PRO_CANARIES, "pro_role": "GP", "agreed": "Yes"})
        middles.append(files.raw_bytes())
        await pro.press("Send my form")
        sent = await pro.wait_for(lambda m: REFERENCE.search(m.text) is not None)
        found = REFERENCE.search(sent.text)
        assert found is not None
        references.append(found.group(0))

        cora = emulator.user(CORA, "Cora", language_code="en")
        await cora.send("/newreferral hiv")
        await cora.wait_for(lambda m: "They agreed on the phone" in m.button_texts)
        await cora.press("They agreed on the phone")
        await fill_form(cora, programme, {**HIV_PLAN, **PHONE_CANARIES})
        middles.append(files.raw_bytes())
        await cora.press("Send my form")
        sent = await cora.wait_for(lambda m: REFERENCE.search(m.text) is not None)
        found = REFERENCE.search(sent.text)
        assert found is not None
        references.append(found.group(0))
        for reference in references:  # claimed: the details and a task are rendered and sent
            await group_notice(group, reference)
            await cora.press(
                "Claim",
                chat=group,
                message=next(m for m in group.bot_messages if reference in (m.text or "")),
            )
            await cora.wait_for(lambda m, r=reference: r in m.text and "A task for you" in m.text)
    finally:
        assert await bot.stop() == 0
    after = files.raw_bytes()
    log = bot.log.read_bytes()
    assert all(r.encode() in log for r in references), "the log carries the references"
    group_texts = [t for m in group.messages for t in (m.text or "", *m.edits)]
    # the coordinator saw the answers, in private: they were really given and shown
    seen_by_cora = "\n".join(m.text or "" for m in cora.bot_messages)
    for what, value in {**PRO_CANARIES, **PHONE_CANARIES}.items():
        needle = value.encode()
        assert value in seen_by_cora, f"{what} never reached the holder"
        assert all(needle not in middle for middle in middles), f"{what} is in the database"
        assert needle not in after, f"{what} is in the database after sending"
        assert needle not in log, f"{what} is in the log"
        assert all(value not in text for text in group_texts), f"{what} is in the group"
    assert str(PRO_ID).encode() not in after and str(PRO_ID).encode() not in log


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
