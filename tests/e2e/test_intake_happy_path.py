"""A person refers themselves through the real bot, in English and in Swedish."""

from __future__ import annotations

import json

from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, fill_form


async def test_self_referral_in_english(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    robin = emulator.user(5001, "Robin", language_code="en")
    await robin.send("/start hiv")
    privacy = await robin.next_message()  # the welcome and the notice: one message
    assert privacy.text.startswith("Hello, and thank you for getting in touch.")
    assert "not end-to-end encrypted" in privacy.text
    assert privacy.button_texts[:2] == ["Yes, I agree", "No, thank you"]
    await robin.press("Yes, I agree")

    programme = files.config().programme("hiv")
    assert programme is not None
    asked = await fill_form(robin, programme, HIV_PLAN)
    assert asked[:3] == ["start", "name", "contact_route"]
    assert "phone" not in asked  # only asked of people who chose a phone call

    review = robin.last_bot_message
    assert review is not None
    assert review.text.startswith("Please check your answers")
    assert "Robin" in review.text
    await robin.press("Send my form")
    sent = await robin.wait_for(lambda m: "Your reference is" in m.text)
    assert sent.text.startswith("Thank you. Your form has been sent.")
    reference = REFERENCE.search(sent.text)
    assert reference is not None
    assert "within 3 working days" in sent.text
    # One message, in the review's place: what they sent stays in front of them.
    assert sent.message_id == review.message_id
    assert "What you sent" in sent.text and "Robin" in sent.text
    assert "If you need help now" in sent.text and "999" in sent.text
    assert "If you are unhappy with our service" in sent.text

    store = await files.open_store()
    try:
        async with store.unit() as uow:
            referral = await uow.referrals.by_reference(reference.group(0))
            assert referral is not None
            answers = json.loads(await uow.referrals.answers(referral))
            person = await uow.people.find(5001)
            assert person is not None
            assert await uow.drafts.load(person) is None  # the draft is gone once sent
    finally:
        await store.close()
    assert answers["name"] == "Robin"
    assert answers["contact_route"] == "chat"
    assert answers["medication"] is None  # "prefer not to say"
    assert answers["languages"] == ["en"]
    assert "phone" not in answers
