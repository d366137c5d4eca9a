"""Every question kind through the real bot, with a config that uses them all."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conversations.preferences import Preferences
from sandbox.emulator import BotApiEmulator, ScriptedUser
from tests.e2e.harness import REFERENCE, BotFiles, consent, in_process

CONFIG = Path(__file__).parent / "configs" / "all_kinds.toml"


@pytest.fixture
async def kinds_bot(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=CONFIG)
    async with in_process(files, emulator):
        yield files


async def reply_to(person: ScriptedUser, starts: str) -> str:
    return (await person.wait_for(lambda m: m.text.startswith(starts))).text


async def test_number_date_yesno_single_multi_text_info(
    kinds_bot: BotFiles, emulator: BotApiEmulator
) -> None:
    mo = emulator.user(5401, "Mo")
    await consent(mo, payload="kinds")
    await mo.press("Continue")  # info
    assert "How old are you?" in await reply_to(mo, "Question 1 of 6")
    await mo.send("one hundred")
    assert "Please type a number" in (await mo.next_message()).text
    await mo.send("111")
    assert "from 10 to 110" in (await mo.next_message()).text
    await mo.send("34")
    assert "When did you last see a nurse?" in await reply_to(mo, "Question 2 of 6")
    await mo.send("2099-01-01")
    assert "in the future" in (await mo.next_message()).text
    await mo.send("3/2/2026")
    await reply_to(mo, "Question 3 of 6")  # the conditional one counts
    await mo.press("Yes")  # yes/no: shows the conditional question (already counted)
    await reply_to(mo, "Question 4 of 6")
    await mo.press("Small")
    days = await mo.wait_for(lambda m: "Which days suit you?" in m.text)
    await mo.press("Monday", contains=True)
    await mo.press("Sunday", contains=True)
    await emulator.wait_until(lambda: "☑ Sunday" in days.button_texts, what="Sunday ticked")
    assert "☑ Monday" in days.button_texts
    assert "☐ Saturday" in days.button_texts
    await mo.press("Done")
    await reply_to(mo, "Question 6 of 6")
    await mo.press("Skip")
    choices = await mo.wait_for(lambda m: m.text.startswith("A few choices"))
    assert "☐ Short check-in messages while I wait" in choices.button_texts  # opt-in
    assert "☑ Keep messages discreet" in choices.button_texts  # private by default
    await mo.press("check-in messages", contains=True)
    await emulator.wait_until(
        lambda: "☑ Short check-in messages while I wait" in choices.button_texts,
        what="check-ins ticked",
    )
    await mo.press("Done")
    review = await reply_to(mo, "Please check your answers")
    assert "Short check-in messages while I wait, Keep messages discreet" in review
    assert "34" in review
    assert "2026-02-03" in review
    assert "Monday, Sunday" in review
    await mo.press("Send my form")
    sent = await mo.wait_for(lambda m: REFERENCE.search(m.text) is not None)
    reference = REFERENCE.search(sent.text)
    assert reference is not None

    store = await kinds_bot.open_store()
    try:
        async with store.unit() as uow:
            referral = await uow.referrals.by_reference(reference.group(0))
            assert referral is not None
            answers = json.loads(await uow.referrals.answers(referral))
            person = await uow.people.find(5401)
            assert person is not None
            prefs = Preferences.from_bytes(await uow.people.settings(person))
    finally:
        await store.close()
    assert prefs.agreed("referral")
    assert prefs.agreed("checkins")
    assert not prefs.agreed("feedback")
    assert prefs.consents["checkins"].version == "1"
    assert prefs.discreet
    assert answers == {
        "age": 34,
        "diagnosed": "2026-02-03",
        "group": "yes",
        "group_size": "small",
        "days": ["mon", "sun"],
        "note": None,
    }


async def test_a_number_below_the_minimum_age_ends_kindly(
    kinds_bot: BotFiles, emulator: BotApiEmulator
) -> None:
    kid = emulator.user(5402, "Kid")
    await consent(kid, payload="kinds")
    await kid.press("Continue")
    await reply_to(kid, "Question 1 of")
    await kid.send("15")
    reply = await kid.wait_for(lambda m: "18 or over" in m.text)
    assert "Young people's services can help." in reply.text
    await kid.send("hello")  # with nothing stored, the bot starts over politely
    assert (await kid.wait_for(lambda m: True)).text.startswith("Hello, this is a test.")
