"""Stop mid-form, the bot is killed and restarted, carry on exactly where you were."""

from __future__ import annotations

import json

import pytest

from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import (
    HIV_PLAN,
    REFERENCE,
    BotFiles,
    BotProcess,
    consent,
    fill_form,
)

pytestmark = pytest.mark.slow


async def test_resume_after_the_bot_process_was_killed(
    files: BotFiles, emulator: BotApiEmulator
) -> None:
    bot = BotProcess(files, emulator)
    await bot.start()
    try:
        noor = emulator.user(5301, "Noor")
        await consent(noor)
        await noor.press("Continue")
        await noor.wait_for(lambda m: m.text.startswith("Question 1 of"))
        await noor.send("Noor")
        await noor.wait_for(lambda m: m.text.startswith("Question 2 of"))
        await noor.press("Only through this chat")
        # The bot has asked question 3: the answer to question 2 was acknowledged.
        await noor.wait_for(lambda m: m.text.startswith("Question 3 of"))
        await bot.kill()

        emulator.advance(5 * 3600)  # Noor comes back hours later
        await bot.start()
        await noor.send("/start")
        await noor.wait_for(lambda m: m.text.startswith("Welcome back"))
        where = await noor.wait_for(lambda m: bool(m.buttons))
        assert where.text.startswith("Question 3 of")
        assert "How old are you?" in where.text

        programme = files.config().programme("hiv")
        assert programme is not None
        # fill_form waits for a new question: answer this one by hand, then carry on.
        await noor.press(str(HIV_PLAN["age_band"]))
        await fill_form(noor, programme, HIV_PLAN)
        await noor.press("Send my form")
        sent = await noor.wait_for(lambda m: REFERENCE.search(m.text) is not None)
        reference = REFERENCE.search(sent.text)
        assert reference is not None
    finally:
        assert await bot.stop() == 0, bot.log.read_text()

    store = await files.open_store()
    try:
        async with store.unit() as uow:
            referral = await uow.referrals.by_reference(reference.group(0))
            assert referral is not None
            answers = json.loads(await uow.referrals.answers(referral))
    finally:
        await store.close()
    assert answers["name"] == "Noor"  # given before the crash
    assert answers["contact_route"] == "chat"
    assert answers["age_band"] == "25_34"  # given after it
