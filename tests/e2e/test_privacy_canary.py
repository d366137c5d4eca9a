"""Canaries: distinctive answers, a Telegram id, the source of the link the person came by
(which clinic) and the peer support group they joined (its name, id and link, how they are
shown to its facilitators) must not appear on disk or in the logs; neither the source nor the
group in the coordinators' group either."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator, ScriptedGroup, ScriptedUser
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, write_config
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
        await group_notice(group, reference.group(0))
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
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    await cora.press("Claim", chat=group)
    details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Contacted", message=details)
    await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)
    await cora.send(f"/referral {reference}")
    view = await cora.wait_for(lambda m: "Offer a group" in m.button_texts)
    await cora.press("Offer a group", message=view)
    ranked = await cora.wait_for(lambda m: "best fit first" in m.text)
    await cora.press(GROUP_CANARY_NAME, message=ranked, contains=True)
    invitation = await person.wait_for(lambda m: GROUP_CANARY_NAME in (m.text or ""))
    await person.press("Join", message=invitation)
    shown = await person.wait_for(lambda m: "How should the people" in (m.text or ""))
    await person.press(f"My name ({CANARIES['name']})", message=shown)
    await cora.wait_for(lambda m: f"{reference} joined {GROUP_CANARY_NAME}" in m.text)
