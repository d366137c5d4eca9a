"""A person in the middle of the form, a survey or a coordinator's note when the service
upgrades to the one dialog table carries on exactly where they were."""

from __future__ import annotations

import json
from pathlib import Path

from conversations.draft import Draft
from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import CORA, refer, write_config
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, consent, fill_form, in_process
from tests.e2e.test_sessions import claimed, match, supporter
from tests.unit.legacy_states import put_legacy, put_main_staff_frame


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

    async with in_process(files, emulator) as bot:  # the new release opens it: moved, then used
        await noor.press("Only through this chat", message=question2)  # the button from before
        await noor.wait_for(lambda m: m.text.startswith("Question 3 of"))
        # its next screen is numbered by the person's one counter, which moved to it
        async with bot.store.unit() as uow:
            person = await uow.people.find(5401)
            assert person is not None
            stack = await uow.dialogs.load(person)
        frame = stack.get("intake")
        assert frame is not None
        shown = Draft.from_bytes(frame.data.encode()).screen
        assert stack.screens == frame.screen == shown > 0, (stack.screens, frame.screen, shown)
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


async def test_mid_meeting_plan_in_the_staff_frame_carries_on_after_the_upgrade(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """A coordinator asked "What time?" by the release that kept it in the shared "staff"
    frame types the time after the upgrade: the plan goes on from where it was."""
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    robin, cora = emulator.user(5411, "Robin"), emulator.user(CORA, "Cora")
    sam = supporter(emulator, 5461)
    async with in_process(files, emulator) as bot:
        await cora.send("/start")
        reference = await refer(robin, None, files.config())
        await claimed(cora, reference)
        await match(bot.store, reference, sam.id)
        await cora.send(f"/referral {reference}")
        details = await cora.wait_for(lambda m: m.content.startswith(f"Referral {reference}"))
        await cora.press("Plan a session", message=details)
        picker = await cora.wait_for(lambda m: "Which day?" in m.content)
        await cora.press("Tomorrow", message=picker)
        await emulator.wait_until(lambda: "What time" in picker.content, what="the time step")
        clock = bot.clock
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            person = await uow.people.find(CORA)
            assert person is not None
            planning = await uow.dialogs.frame(person, "meeting")
        assert planning is not None and b'"pending": "session:time"' in planning
        await put_main_staff_frame(store, person, planning, clock())  # as main kept it
        async with store.unit() as uow:
            stack = await uow.dialogs.load(person)
        assert [f.dialog for f in stack.frames] == ["meeting"]  # converted when read
    finally:
        await store.close()

    async with in_process(files, emulator):
        await cora.send("10:00")
        where = await cora.wait_for(lambda m: "online or in person" in m.content)
        await cora.press("Online", message=where)
        await emulator.wait_until(lambda: "Please check" in where.content, what="the check")
