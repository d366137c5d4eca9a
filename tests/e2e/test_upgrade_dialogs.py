"""A person in the middle of the form, a survey or a coordinator's note when the service
upgrades to the one dialog table carries on exactly where they were."""

from __future__ import annotations

import json

from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, consent, fill_form, in_process
from tests.unit.legacy_states import put_legacy


async def test_mid_form_before_the_upgrade_carries_on_after_it(
    files: BotFiles, emulator: BotApiEmulator
) -> None:
    noor = emulator.user(5401, "Noor")
    async with in_process(files, emulator) as bot:
        await consent(noor)
        await noor.press("Continue")
        await noor.wait_for(lambda m: m.text.startswith("Question 1 of"))
        await noor.send("Noor")
        question2 = await noor.wait_for(lambda m: m.text.startswith("Question 2 of"))
        clock = bot.clock
    # What the older release had on disk at this point: the form in its own drafts table.
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            person = await uow.people.find(5401)
            assert person is not None
            draft = await uow.drafts.load(person)
        assert draft is not None
        await put_legacy(store, [(person, "drafts", draft)], clock())
    finally:
        await store.close()

    async with in_process(files, emulator):  # the new release opens it: moved, then used
        await noor.press("Only through this chat", message=question2)  # the button from before
        await noor.wait_for(lambda m: m.text.startswith("Question 3 of"))
        programme = files.config().programme("hiv")
        assert programme is not None
        await noor.press(str(HIV_PLAN["age_band"]))
        await fill_form(noor, programme, HIV_PLAN)
        await noor.press("Send my form")
        sent = await noor.wait_for(lambda m: REFERENCE.search(m.text) is not None)
    assert "Thank you. Your form has been sent." in sent.text
    reference = REFERENCE.search(sent.text)
    assert reference is not None
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            referral = await uow.referrals.by_reference(reference.group(0))
            assert referral is not None
            answers = json.loads(await uow.referrals.answers(referral))
    finally:
        await store.close()
    assert answers["name"] == "Noor"  # typed before the upgrade
    assert answers["contact_route"] == "chat"  # pressed on the old screen after it
