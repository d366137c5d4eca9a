"""Crisis words get help at once, in both languages, and an urgent flag without the words."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.i18n import load_catalog
from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import HIV_PLAN, BotFiles, consent, fill_form, in_process


@pytest.fixture
async def service(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator):
        yield files


def people(files: BotFiles) -> int:
    with sqlite3.connect(files.database) as db:
        return int(db.execute("SELECT count(*) FROM people").fetchone()[0])


async def test_crisis_words_in_the_form_get_help_at_once_and_make_it_urgent(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    programme = service.config().programme("hiv")
    assert programme is not None
    group = emulator.group(GROUP_ID, "Coordinators")
    ash = emulator.user(5601, "Ash")
    await consent(ash)
    plan = {k: v for k, v in HIV_PLAN.items() if k != "change"}
    await fill_form(ash, programme, plan, stop_at="change")
    await ash.send("Honestly some days I want to die")
    help_now = await ash.wait_for(lambda m: "We want you to be safe." in m.text)
    assert help_now.text.startswith("We want you to be safe.")
    assert "116 123" in help_now.text
    assert help_now.button_texts == ["Carry on with the form", "Stop for now"]
    await ash.press("Stop for now")
    await ash.wait_for(lambda m: "Your answers are saved" in m.text)
    await ash.send("/start")
    await ash.wait_for(lambda m: m.text.startswith("Welcome back"))
    await fill_form(ash, programme, plan)
    await ash.press("Send my form")
    await group_notice(group, "PD-")
    notice = group.last_bot_message
    assert notice is not None
    assert "URGENT" in notice.text
    assert "die" not in notice.text.lower()


async def test_swedish_crisis_words(service: BotFiles, emulator: BotApiEmulator) -> None:
    sv = load_catalog().translator("sv")
    elin = emulator.user(5602, "Elin", language_code="sv")
    await consent(elin, agree=sv("Yes, I agree"))
    await elin.press(sv("Continue"))
    await elin.wait_for(lambda m: bool(m.buttons))
    await elin.send("Jag orkar inte leva längre")
    help_now = await elin.wait_for(lambda m: sv("We want you to be safe.") in m.text)
    assert "90101" in help_now.text
    assert "112" in help_now.text
    await elin.press(sv("Carry on with the form"))
    question = await elin.wait_for(lambda m: bool(m.buttons))
    assert sv("Question {number} of {total}").split("{")[0] in question.text


async def test_crisis_words_before_consent_store_nothing(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    sam = emulator.user(5603, "Sam")
    await sam.send("i want to kill myself")
    help_now = await sam.wait_for(lambda m: "We want you to be safe." in m.text)
    assert "999" in help_now.text
    await sam.wait_for(lambda m: "Yes, I agree" in m.button_texts)
    assert people(service) == 0


async def test_crisis_words_after_sending_alert_the_holder_without_the_words(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    kai = emulator.user(5604, "Kai")
    reference = await refer(kai, HIV_PLAN, service.config())
    await group_notice(group, reference)
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    await cora.press("Claim", chat=group)
    await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await kai.send("I have been thinking about suicide")
    help_now = await kai.wait_for(lambda m: "We want you to be safe." in m.text)
    assert "116 123" in help_now.text
    alert = await cora.wait_for(lambda m: m.text.startswith("URGENT"))
    assert reference in alert.text
    assert "suicide" not in alert.text
    relayed = await cora.wait_for(lambda m: "thinking about suicide" in m.text)
    assert relayed.protect_content  # the holder reads it in private, protected
    assert not any("suicide" in t for m in group.messages for t in [m.text, *m.edits] if t)
