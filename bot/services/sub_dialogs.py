"""Sub-dialogs: pushed on top of what a person is in, popped back to exactly where they were.

/language during a survey pushes the language choice (conversations/language_choice.py) on
top of the survey's frame; the press that chooses pops it, stores the language (the person's
preference and the survey's own) and shows the survey's question again, in that language, in
place of the choice. Anywhere else /language is the form's own (bot/services/intake.py).
"""

from __future__ import annotations

from bot.services import preferences
from bot.services.base import ServiceFlow
from bot.services.reply import Reply, Sender
from conversations import engine, language_choice, screens, surveys
from conversations.language_choice import LanguageState
from conversations.surveys import SurveyState


class SubDialogFlow(ServiceFlow):
    async def language(self, who: Sender) -> Reply | None:
        """/language: the choice pushed on top of a survey; None when not in one."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            if person is None:
                return None
            stack = await uow.dialogs.load(person)
            below = stack.top
            if below is not None and below.dialog == language_choice.DIALOG:
                below = stack.frames[-2] if len(stack.frames) > 1 else None
            if below is None or below.dialog != "survey":
                return None
            survey = _survey(below.data)
            programme = self.config.programme(survey.programme)
            if programme is None:
                return None
            # numbered by the person's one counter (and after the survey's screen, which a
            # state stored by an earlier release may have ahead of it)
            after = max(stack.screens, survey.screen)
            _ = self.catalog.translator(survey.language)
            outcome = language_choice.start(after, programme.languages, _)
            assert outcome.state is not None
            stack.push(
                language_choice.DIALOG, outcome.state.to_data(), screen=outcome.state.screen
            )
            await uow.dialogs.save(person, stack, self.clock(), form_changed=False)
        return Reply(outcome.prompts)

    async def press(self, who: Sender, data: str | None) -> Reply:
        """A press on the language choice: chosen (or Back), popped, and where they were."""
        fallback = self.catalog.translator(
            self.catalog.best_language(who.language_code, list(self.catalog.languages))
        )
        pressed = engine.parse(data)
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            stack = await uow.dialogs.load(person) if person is not None else None
            frame = stack.get(language_choice.DIALOG) if stack is not None else None
            survey_frame = stack.get("survey") if stack is not None else None
            if person is not None:  # the kind words in the language they chose
                chosen = (await preferences.load(uow, person)).language
                fallback = self.catalog.translator(chosen) if chosen else fallback
            if (
                person is None
                or stack is None
                or frame is None
                or pressed is None
                or pressed.dialog != language_choice.DIALOG
            ):
                return Reply(notice=screens.expired_notice(fallback), keep_buttons=True)
            survey = _survey(survey_frame.data) if survey_frame is not None else None
            _ = self.catalog.translator(survey.language) if survey else fallback
            outcome = language_choice.press(LanguageState.from_data(frame.data), pressed, _)
            if outcome.state is not None:  # an older screen's press: nothing changes
                return Reply(notice=outcome.notice, keep_buttons=True)
            now = self.clock()
            if outcome.language is not None:
                prefs = await preferences.load(uow, person)
                prefs.language = outcome.language
                await preferences.save(uow, person, prefs, now)
                if survey is not None:
                    survey = survey.model_copy(update={"language": outcome.language})
                    stack.put("survey", survey.to_bytes().decode())
            back = stack.pop(language_choice.DIALOG)
            await uow.dialogs.save(person, stack, now, form_changed=False)
            programme = self.config.programme(survey.programme) if survey else None
        if back is None or back.dialog != "survey" or survey is None or programme is None:
            return Reply()  # the survey is over meanwhile: the choice's buttons go
        _ = self.catalog.translator(survey.language)
        return Reply(replace=surveys.current(programme, survey, _), keep_buttons=True)


def _survey(data: str) -> SurveyState:
    return SurveyState.from_bytes(data.encode())
