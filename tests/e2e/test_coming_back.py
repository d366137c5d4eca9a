"""Coming back: "deferring support does not mean refusing it" (003). A person whose referral
was deferred or has ended, who writes again, is asked whether they would like support again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, fill_form, in_process


@pytest.fixture
async def service(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator):
        yield files


async def claimed(
    emulator: BotApiEmulator, service: BotFiles, person: ScriptedUser
) -> tuple[str, ScriptedUser, StoredMessage]:
    group = emulator.group(GROUP_ID, "Coordinators")
    reference = await refer(person, HIV_PLAN, service.config())
    await group_notice(group, reference)
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    await cora.press("Claim", chat=group)
    details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    return reference, cora, details


async def defer(cora: ScriptedUser, reference: str, details: StoredMessage) -> None:
    await cora.press("Contacted", message=details)
    await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)
    await cora.send(f"/referral {reference}")
    again = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Defer", message=again)
    await cora.wait_for(lambda m: "which services" in m.text)
    await cora.press("Send and defer")
    await cora.wait_for(lambda m: f"{reference} is now deferred" in m.text)


async def test_a_deferred_person_comes_back_and_their_referral_opens_again(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    robin = emulator.user(5601, "Robin")
    reference, cora, details = await claimed(emulator, service, robin)
    await defer(cora, reference, details)
    await robin.wait_for(lambda m: "not a no" in m.text)

    await robin.send("/start")  # weeks later
    asked = await robin.wait_for(lambda m: "support again" in m.text)
    assert asked.text.startswith("Hello again.")  # the lock screen shows nothing more
    assert reference in asked.text and "We will contact you" not in asked.text
    assert asked.button_texts == ["Yes, please", "Not now"]
    yes = asked.buttons[0][0].data
    await robin.press("Yes, please")
    reopened = await robin.wait_for(lambda m: "would like support again" in m.text)
    assert f"still {reference}" in reopened.text
    assert "We will contact you within 3 working days" in reopened.text

    told = await cora.wait_for(lambda m: "would like support again" in m.text)
    assert told.text.startswith(reference)  # the reference only
    await cora.send(f"/referral {reference}")
    view = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    assert {"Assessing", "Match"} <= set(view.button_texts)  # picked up where it was left

    assert yes is not None
    await robin.press_data(yes, message=asked)  # the same button again: nothing twice
    status = await robin.wait_for(lambda m: m.message_id > reopened.message_id)
    assert "would like support again" not in status.text
    store = await service.open_store()
    try:
        async with store.unit() as uow:
            referral = await uow.referrals.by_reference(reference)
            assert referral is not None
            assert referral.status == "contacted"
            actions = [e.action for e in await uow.audit.entries(reference=reference)]
            person = await uow.people.find(5601)
            assert person is not None
            people = await uow.referrals.for_person(person)
    finally:
        await store.close()
    assert actions.count("reopened") == 1
    assert "status:deferred" in actions  # the history is kept
    assert len(people) == 1  # no second referral
    assert sum("would like support again" in m.text for m in cora.bot_messages) == 1


async def test_after_a_closed_referral_a_new_form_begins_and_not_a_promise_of_contact(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    sam = emulator.user(5602, "Sam")
    reference, cora, details = await claimed(emulator, service, sam)
    await cora.press("Close", message=details)
    await sam.wait_for(lambda m: "now closed" in m.text)

    await sam.send("hello?")
    asked = await sam.wait_for(lambda m: "support again" in m.text)
    assert "is closed" in asked.text
    assert "We will contact you" not in asked.text  # the old answer was a broken promise
    await sam.press("Not now")
    await sam.wait_for(lambda m: "The door stays open" in m.text)

    await sam.send("/start")
    asked = await sam.wait_for(lambda m: "support again" in m.text)
    await sam.press("Yes, please")
    await sam.wait_for(lambda m: m.text.startswith("Good to know"))
    programme = service.config().programme("hiv")
    assert programme is not None
    await sam.press("Continue")
    await fill_form(sam, programme, HIV_PLAN)
    await sam.press("Send my form")
    sent = await sam.wait_for(lambda m: "Your reference is" in m.text)
    second = REFERENCE.search(sent.text)
    assert second is not None and second.group(0) != reference
