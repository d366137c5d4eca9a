"""The real bot counts how far people get in the form (for the report), and nothing more."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import HIV_PLAN, BotFiles, consent, fill_form


async def test_intake_counts_each_question_once_per_person(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    programme = files.config().programme("hiv")
    assert programme is not None
    robin = emulator.user(5101, "Robin", language_code="en")
    await consent(robin)
    asked = await fill_form(robin, programme, HIV_PLAN)
    assert "phone" not in asked

    # Sam stops at "area"; going back to an answered question and on again counts nothing new.
    sam = emulator.user(5102, "Sam", language_code="en")
    await consent(sam)
    stopped = await fill_form(sam, programme, HIV_PLAN, stop_at="area")
    assert stopped[-1] == "area"
    sam.skip_sent()
    await sam.press("← Back")
    await sam.wait_for(lambda m: "How old are you?" in m.text and bool(m.buttons))
    sam.skip_sent()
    await sam.press(str(HIV_PLAN["age_band"]), contains=True)  # ticked: "25 to 34 ✓"
    await sam.wait_for(lambda m: "Which town or area" in m.text)

    store = await files.open_store()
    try:
        async with store.unit() as uow:
            today = await uow.funnel.counts("hiv", since=datetime.now(UTC).date())
            everything = await uow.funnel.counts("hiv")
            other = await uow.funnel.counts("diabetes")
    finally:
        await store.close()
    assert today == everything  # day granularity: all of it today
    expected = dict.fromkeys(asked, 1)
    for q in stopped:
        expected[q] = expected.get(q, 0) + 1
    assert everything == expected
    assert everything["start"] == everything["age_band"] == everything["area"] == 2
    assert everything["heard_from"] == 1
    assert "phone" not in everything
    assert other == {}
