"""A sub-dialog on the dialog stack: /language in the middle of a survey is pushed on top of
it, and the choice returns the person to exactly the question they were on, in that language."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.i18n import load_catalog
from bot.telegram.app import Runtime
from conversations import screens, surveys
from conversations.surveys import SurveyState
from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import refer
from tests.e2e.harness import BotFiles, drain


async def stack_of(bot: Runtime, telegram_id: int) -> tuple[list[str], SurveyState | None]:
    async with bot.store.unit() as uow:
        person = await uow.people.find(telegram_id)
        assert person is not None
        stack = await uow.dialogs.load(person)
        raw = await uow.surveys.load_state(person)
    return [f.dialog for f in stack.frames], SurveyState.from_bytes(raw) if raw else None


async def counter_of(bot: Runtime, telegram_id: int) -> int:
    """The person's one screen counter (conversations/dialogs.py)."""
    async with bot.store.unit() as uow:
        person = await uow.people.find(telegram_id)
        assert person is not None
        return (await uow.dialogs.load(person)).screens


async def test_language_during_a_survey_returns_to_the_same_question_in_that_language(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    robin = emulator.user(5121, "Robin", language_code="en")
    config = files.config()
    await refer(robin, None, config)
    programme = config.programme("hiv")
    assert programme is not None
    # On the feedback survey's first question (as after the invitation's Start).
    async with bot.store.unit() as uow:
        person = await uow.people.find(5121)
        assert person is not None
        state = surveys.begin(programme, "feedback", "engagement-1", "en")
        await uow.surveys.save_state(person, state.to_bytes(), datetime.now(UTC))
    counted = await counter_of(bot, 5121)  # the form they sent numbered its screens with it
    await robin.send("/language")
    choice = await robin.wait_for(lambda m: m.text == "Which language would you like?")
    assert await stack_of(bot, 5121) == (["survey", "language"], state)  # pushed on top
    svenska = next(b.data for row in choice.buttons for b in row if b.text == "Svenska")
    # the engine's format: the next screen of the person's one counter (after the survey's 1)
    assert svenska == f"l1:{max(counted, 1) + 1}:L:sv"
    await robin.press("Svenska", message=choice)
    await emulator.wait_until(
        lambda: "Hur mycket hjälpte ditt stöd?" in choice.content, what="the question in Swedish"
    )
    assert choice.content.startswith("Fråga 1 av 4")
    frames, after = await stack_of(bot, 5121)
    assert frames == ["survey"]  # popped: back where they were
    assert after == state.model_copy(update={"language": "sv"})  # nothing else moved

    await robin.press("4", message=choice)  # the survey carries on from the same question
    await robin.wait_for(lambda m: m.text.startswith("Fråga 2 av 4"))
    # the survey numbers its screens with the person's one counter: after the choice's
    counter = await counter_of(bot, 5121)
    _frames, now_on = await stack_of(bot, 5121)
    assert now_on is not None and now_on.screen == counter == max(counted, 1) + 2, now_on

    again = await robin.press_data(svenska, message=choice)  # the choice is over: stale
    expired = screens.expired_notice(load_catalog().translator("sv"))
    assert (await again.answered()).text == expired
    await robin.send("/language")  # pushed again, on a screen of its own
    choice = await robin.wait_for(lambda m: m.text == "Vilket språk vill du använda?")
    await robin.press("← Tillbaka", message=choice)  # Back: nothing chosen, back where they were
    await emulator.wait_until(lambda: choice.content.startswith("Fråga 2 av 4"), what="back")
    await drain(bot, emulator)
    frames, after = await stack_of(bot, 5121)
    assert frames == ["survey"] and after is not None and after.language == "sv"
