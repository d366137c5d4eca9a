"""The intake machine: (draft, event) -> outcome. Pure: no Telegram, no storage, no clock.

The bot turns each update into an event, stores the outcome's draft (or deletes it) in one
transaction, and only then sends the outcome's prompts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from conversations import callbacks, engine, referring, safety, screens
from conversations.answers import choice_ids, parse_typed
from conversations.callbacks import ConsentPress, DraftPress
from conversations.draft import (
    Answer,
    Draft,
    next_question,
    note_progress,
    prune_hidden,
    visible_questions,
)
from conversations.forms import MAIN_FORM, Programme, Question, ServiceConfig, Source
from conversations.i18n import Catalog, Translate
from conversations.preferences import CHOICES, DEFAULT_CHOICES
from conversations.prompts import Prompt, esc


@dataclass(frozen=True)
class Typed:
    text: str


@dataclass(frozen=True)
class Command:
    name: Literal["back", "cancel", "language", "help", "resume", "exit", "exit_keep"]


Event = Typed | DraftPress | Command


@dataclass(frozen=True)
class Submission:
    """A finished form, ready to become a referral."""

    programme: str
    language: str
    answers: dict[str, Answer]
    urgent: bool = False
    choices: dict[str, bool] = field(default_factory=dict)
    source: str | None = None  # the configured source of the link they came by (an id)
    questionnaire: str = MAIN_FORM  # which of the programme's questionnaires was filled in
    purpose: str = "referral"  # what sending it does: bot/services/submissions.py
    context: dict[str, str] = field(default_factory=dict)  # the draft's context, as begun


@dataclass
class Outcome:
    """What to store and what to say.

    `draft` is the state to save; None means delete the draft. `changed` False means the draft
    was not touched (nothing to write). `replace` edits the message whose button was pressed;
    `keep_buttons` leaves that message's buttons in place (otherwise they are removed so that
    old buttons do not linger). `notice` is the short answer to a button press.
    """

    draft: Draft | None
    prompts: list[Prompt] = field(default_factory=list)
    changed: bool = True
    notice: str | None = None
    replace: Prompt | None = None
    keep_buttons: bool = False
    submission: Submission | None = None
    forget: bool = False
    crisis: bool = False  # crisis words: answered at once, the referral becomes urgent
    clear_chat: bool = False  # quick exit: delete this conversation's messages


@dataclass(frozen=True)
class Opening:
    """The answer to a press before consent: prompts, or a new draft once the person agreed."""

    prompts: list[Prompt]
    begin: Outcome | None = None
    replace: Prompt | None = None
    notice: str | None = None


class Intake:
    """One engine for every programme's form."""

    def __init__(self, config: ServiceConfig, catalog: Catalog) -> None:
        self.config = config
        self.catalog = catalog

    # -- before consent: nothing is stored, state travels in the buttons ----------------------

    def opening(self, payload: str | None, telegram_language: str | None) -> list[Prompt]:
        """/start for someone with no draft: welcome and privacy notice, or a programme choice.

        ``payload`` is ``<programme>`` or ``<programme>-<source>``; an unknown source is dropped
        and the programme's form opens all the same."""
        programme, source, questionnaire = self.config.opens(payload)
        programme = programme or self.config.starting_programme()
        if programme is None:
            lang = self.catalog.best_language(telegram_language, list(self.catalog.languages))
            return [screens.choose_programme(self.config, lang, self.catalog.translator(lang))]
        lang = self.catalog.best_language(telegram_language, programme.languages)
        _ = self.catalog.translator(lang)
        way_in = _way_in(source, questionnaire)
        view = programme.asking(questionnaire) or programme
        ask = referring.consent_question(programme.purpose(questionnaire), _)
        return [screens.opening(view, lang, programme.languages, _, way_in, ask)]

    def consent_press(self, press: ConsentPress) -> Opening:
        programme = self.config.programme(press.programme)
        if programme is None or press.language not in programme.languages:
            return Opening([], notice=self._expired(press.language))
        lang = press.language
        _ = self.catalog.translator(lang)
        found, questionnaire = programme.way_in(press.source)  # forged or removed: dropped
        source = found.id if found is not None else None
        view = programme.asking(questionnaire) or programme
        match press.action:
            case "p":
                return Opening([screens.opening(programme, lang, programme.languages, _)])
            case "L":
                ask = referring.consent_question(programme.purpose(questionnaire), _)
                way_in = _way_in(found, questionnaire)
                opening = screens.opening(view, lang, programme.languages, _, way_in, ask)
                return Opening([], replace=opening)
            case "n":
                return Opening([screens.no_consent(programme, lang, _)])
            case "y":
                return Opening([], begin=self.begin(programme, lang, source, questionnaire))
        return Opening([], notice=self._expired(lang))

    def begin(
        self,
        programme: Programme,
        language: str,
        source: str | None = None,
        questionnaire: str = MAIN_FORM,
        purpose: str | None = None,
        context: dict[str, str] | None = None,
    ) -> Outcome:
        """A new draft of the programme's questionnaire ``questionnaire`` (its own form unless
        named), sent for ``purpose`` (the questionnaire's own unless given), with ``context``
        for its submission. Only the person's own referral form asks the person's choices."""
        view = programme.asking(questionnaire)
        assert view is not None, f"no questionnaire {questionnaire!r} in {programme.id!r}"
        draft = Draft(
            programme=programme.id,
            language=language,
            source=source,
            questionnaire=questionnaire,
            purpose=purpose,
            context=dict(context or {}),
        )
        draft.choices_seen = not _asks_choices(programme, draft)
        return self._go_to(view, draft, next_question(view, draft, None))

    # -- with a draft -------------------------------------------------------------------------

    def view(self, draft: Draft) -> Programme | None:
        """The programme as the draft's questionnaire sees it (None: no longer in the config)."""
        programme = self.config.programme(draft.programme)
        return programme.asking(draft.questionnaire) if programme is not None else None

    def handle(self, draft: Draft, event: Event, today: date) -> Outcome:
        programme = self.view(draft)
        if programme is None:  # the programme (or questionnaire) was removed from the config
            _ = self.catalog.translator(draft.language)
            return Outcome(None, [screens.cancelled(_)], forget=True)
        draft = draft.model_copy(deep=True)
        if isinstance(event, Typed):
            return self._typed(programme, draft, event.text, today)
        if isinstance(event, Command):
            return self._command(programme, draft, event)
        return self._press(programme, draft, event)

    def resume(self, draft: Draft) -> list[Prompt]:
        programme = self.view(draft)
        _ = self.catalog.translator(draft.language)
        if programme is None:
            return [screens.cancelled(_)]
        return [screens.resumed(_), self.current_screen(programme, draft)]

    def help(self, draft: Draft | None, telegram_language: str | None) -> Prompt:
        if draft is None:
            lang = self.catalog.best_language(telegram_language, list(self.catalog.languages))
            return screens.help_screen(None, None, self.catalog.translator(lang))
        programme = self.view(draft)
        return screens.help_screen(programme, draft, self.catalog.translator(draft.language))

    def current_screen(self, programme: Programme, draft: Draft) -> Prompt:
        _ = self.catalog.translator(draft.language)
        if draft.phase == "review":
            return screens.review(programme, draft, _, choices=_choice_keys(programme, draft))
        if draft.phase == "choices":
            return self._choices_screen(programme, draft)
        if draft.phase == "confirm_cancel":
            return screens.confirm_cancel(draft, _)
        question = programme.question(draft.current or "")
        if question is None:  # the config changed under a paused draft: start at the top
            question = next_question(programme, draft, None)
            assert question is not None
            draft.current = question.id
            note_progress(programme, draft, question)
        return screens.question(programme, draft, question, _)

    # -- events ---------------------------------------------------------------------------

    def _typed(self, programme: Programme, draft: Draft, text: str, today: date) -> Outcome:
        _ = self.catalog.translator(draft.language)
        if draft.phase == "review":
            return self._say(
                draft, _("Please tap Send my form, or tap a number to change an answer.")
            )
        if draft.phase == "choices":
            return self._say(draft, _("Please tap the buttons above, then tap Done."))
        if draft.phase == "confirm_cancel":
            return Outcome(draft, [screens.confirm_cancel(draft, _)], changed=False)
        question = programme.question(draft.current or "")
        if question is None:
            return Outcome(draft, [self.current_screen(programme, draft)])
        parsed = parse_typed(programme, question, text, draft.language, _, today)
        if safety.in_crisis(programme, draft.language, text):
            return self._crisis(
                programme, draft, question, parsed.value if parsed.ok else None, parsed.ok
            )
        if not parsed.ok:
            assert parsed.problem is not None
            return self._say(draft, parsed.problem)
        return self._answer(programme, draft, question, parsed.value)

    def _crisis(
        self, programme: Programme, draft: Draft, question: Question, value: Answer, accepted: bool
    ) -> Outcome:
        """Crisis words: say where to get help now, before anything else; mark it urgent.

        A valid answer is kept (it is what the person said); then they choose to carry on or
        stop for now."""
        _ = self.catalog.translator(draft.language)
        outcome = (
            self._answer(programme, draft, question, value)
            if accepted
            else self._reshow(programme, draft)
        )
        if outcome.draft is None:  # the answer ended the form (under age): say both
            outcome.prompts.insert(0, safety.crisis_after_form(programme, draft.language, _))
            outcome.crisis = True
            return outcome
        moved = outcome.draft
        moved.urgent = True
        prompt = safety.crisis_during_form(programme, moved.language, moved.screen, _)
        return Outcome(moved, [prompt], crisis=True)

    def _command(self, programme: Programme, draft: Draft, command: Command) -> Outcome:
        _ = self.catalog.translator(draft.language)
        match command.name:
            case "back":
                return self._back(programme, draft)
            case "cancel":
                draft.resume_phase = draft.phase if draft.phase != "confirm_cancel" else "asking"
                draft.phase = "confirm_cancel"
                draft.screen += 1
                return Outcome(draft, [screens.confirm_cancel(draft, _)])
            case "language":
                draft.screen += 1
                return Outcome(draft, [screens.language_choice(draft, programme.languages, _)])
            case "help":
                return Outcome(draft, [screens.help_screen(programme, draft, _)], changed=False)
            case "exit":
                return Outcome(None, [screens.exited(_)], forget=True, clear_chat=True)
            case "exit_keep":
                return Outcome(draft, [screens.exited(_)], changed=False, clear_chat=True)
        return Outcome(draft, self.resume(draft), changed=False)

    def _press(self, programme: Programme, draft: Draft, press: DraftPress) -> Outcome:
        _ = self.catalog.translator(draft.language)
        if not engine.is_current("intake", press.version, press.screen, draft.screen):
            return Outcome(
                draft, changed=False, notice=self._expired(draft.language), keep_buttons=True
            )
        match press.action:
            case "R":
                return self._reshow(programme, _back_from_menu(draft))
            case "X" if draft.phase == "confirm_cancel":
                return Outcome(None, [screens.cancelled(_)], forget=True)
            case "x":
                return Outcome(None, [screens.exited(_)], forget=True, clear_chat=True)
            case "P":
                draft.screen += 1
                return Outcome(draft, [safety.stopped_for_now(_)])
            case "L":
                if press.arg in programme.languages:
                    draft.language = press.arg
                return self._reshow(programme, draft)
            case "b":
                return self._back(programme, draft)
        if draft.phase == "review":
            return self._review_press(programme, draft, press)
        if draft.phase == "choices":
            return self._choices_press(programme, draft, press)
        question = programme.question(draft.current or "")
        if draft.phase != "asking" or question is None:
            return Outcome(draft, changed=False, notice=self._expired(draft.language))
        return self._question_press(programme, draft, question, press)

    def _question_press(
        self, programme: Programme, draft: Draft, question: Question, press: DraftPress
    ) -> Outcome:
        _ = self.catalog.translator(draft.language)
        choices = choice_ids(question)
        index = _index(press.arg)
        match press.action:
            case "o" if question.kind in ("single", "yesno") and 0 <= index < len(choices):
                return self._answer(programme, draft, question, choices[index])
            case "t" if question.kind == "multi" and 0 <= index < len(choices):
                chosen = choices[index]
                picked = set(draft.picked) ^ {chosen}
                draft.picked = [c for c in choices if c in picked]
                return Outcome(
                    draft,
                    replace=screens.question(programme, draft, question, _),
                    keep_buttons=True,
                )
            case "d" if question.kind == "multi":
                if question.required and not draft.picked:
                    return Outcome(
                        draft,
                        changed=False,
                        keep_buttons=True,
                        notice=_("Please tap at least one answer, then Done."),
                    )
                return self._answer(programme, draft, question, list(draft.picked) or None)
            case "s" if question.answerable and not question.required:
                return self._answer(programme, draft, question, None)
            case "k" if question.id in draft.answers:
                return self._answer(programme, draft, question, draft.answers[question.id])
            case "i" if question.kind == "info":
                return self._answer(programme, draft, question, None)
        return Outcome(draft, changed=False, notice=self._expired(draft.language))

    def _choices_press(self, programme: Programme, draft: Draft, press: DraftPress) -> Outcome:
        """Toggle a choice (in place), or Done: on to the review."""
        _ = self.catalog.translator(draft.language)
        index = _index(press.arg)
        keys = _choice_keys(programme, draft)
        if press.action == "ct" and 0 <= index < len(keys):
            key = keys[index]
            draft.choices[key] = not draft.choices.get(key, DEFAULT_CHOICES[key])
            return Outcome(
                draft, replace=self._choices_screen(programme, draft), keep_buttons=True
            )
        if press.action == "cd":
            draft.choices_seen = True
            draft.phase = "review"
            return self._reshow(programme, draft)
        return Outcome(draft, changed=False, notice=self._expired(draft.language))

    def _review_press(self, programme: Programme, draft: Draft, press: DraftPress) -> Outcome:
        answerable = [q for q in visible_questions(programme, draft.answers) if q.answerable]
        edit = _index(press.arg)
        if press.action == "e" and 1 <= edit <= len(answerable):
            draft.from_review = True
            draft.phase = "asking"
            return self._go_to(programme, draft, answerable[edit - 1])
        if press.action == "ec" and _asks_choices(programme, draft):
            draft.phase = "choices"
            return self._reshow(programme, draft)
        if press.action == "S":
            missing = [q for q in answerable if q.required and q.id not in draft.answers]
            if missing:
                draft.phase = "asking"
                draft.from_review = True
                return self._go_to(programme, draft, missing[0])
            answers = {q.id: draft.answers[q.id] for q in answerable if q.id in draft.answers}
            return Outcome(
                None,
                submission=Submission(
                    programme.id,
                    draft.language,
                    answers,
                    draft.urgent,
                    {k: draft.choices.get(k, False) for k in _choice_keys(programme, draft)},
                    draft.source if programme.source(draft.source) is not None else None,
                    draft.questionnaire,
                    _purpose(programme, draft),
                    dict(draft.context),
                ),
            )
        return Outcome(draft, changed=False, notice=self._expired(draft.language))

    # -- moves ----------------------------------------------------------------------------

    def _answer(
        self, programme: Programme, draft: Draft, question: Question, value: Answer
    ) -> Outcome:
        if question.answerable:
            draft.answers[question.id] = value
            draft.answers = prune_hidden(programme, draft.answers)
        if _under_age(programme, question, value):
            _ = self.catalog.translator(draft.language)
            return Outcome(None, [screens.under_age(programme, draft.language, _)], forget=True)
        if question.role == "consent" and value != "yes":  # a professional: they did not agree
            _ = self.catalog.translator(draft.language)
            return Outcome(None, [referring.not_agreed(_)], forget=True)
        draft.trail.append(question.id)
        return self._go_to(programme, draft, next_question(programme, draft, question.id))

    def _back(self, programme: Programme, draft: Draft) -> Outcome:
        if draft.phase == "confirm_cancel":
            return self._reshow(programme, _back_from_menu(draft))
        if draft.phase == "asking" and draft.from_review:
            return self._go_to(programme, draft, None)
        if draft.phase == "review" and _asks_choices(programme, draft):
            draft.phase = "choices"
            return self._reshow(programme, draft)
        if draft.phase in ("choices", "review"):
            draft.phase = "asking"
            draft.from_review = False
        while draft.trail:
            previous = programme.question(draft.trail.pop())
            if previous is not None and previous in visible_questions(programme, draft.answers):
                return self._go_to(programme, draft, previous)
        _ = self.catalog.translator(draft.language)
        return self._say(draft, _("This is the first question."))

    def _go_to(self, programme: Programme, draft: Draft, question: Question | None) -> Outcome:
        """Show `question`, or the review when there is none left."""
        draft.screen += 1
        if question is None:
            draft.current, draft.from_review, draft.picked = None, False, []
            draft.phase = "review" if draft.choices_seen else "choices"
        else:
            draft.phase, draft.current = "asking", question.id
            note_progress(programme, draft, question)
            given = draft.answers.get(question.id)
            draft.picked = list(given) if isinstance(given, list) else []
        return Outcome(draft, [self.current_screen(programme, draft)])

    def _choices_screen(self, programme: Programme, draft: Draft) -> Prompt:
        _ = self.catalog.translator(draft.language)
        keys = _choice_keys(programme, draft)
        if keys == CHOICES:
            return screens.choices(draft, _)
        return screens.choices(draft, _, keys, referring.choices_on_the_phone(_))

    def _reshow(self, programme: Programme, draft: Draft) -> Outcome:
        draft.screen += 1
        return Outcome(draft, [self.current_screen(programme, draft)])

    def _say(self, draft: Draft, text: str) -> Outcome:
        return Outcome(draft, [Prompt(esc(text))], changed=False)

    def _expired(self, language: str) -> str:
        return screens.expired_notice(self.catalog.translator(language))

    def translator(self, language: str) -> Translate:
        return self.catalog.translator(language)


def _way_in(source: Source | None, questionnaire: str) -> str | None:
    """What rides on the consent buttons until the person agrees: the source's id, else the name
    of the linked questionnaire they came for (ids from the config, nothing typed)."""
    if source is not None:
        return source.id
    return questionnaire if questionnaire != MAIN_FORM else None


def _purpose(programme: Programme, draft: Draft) -> str:
    """What sending the draft does: as begun, else its questionnaire's purpose."""
    return draft.purpose or programme.purpose(draft.questionnaire) or "referral"


def _choice_keys(programme: Programme, draft: Draft) -> tuple[str, ...]:
    """The person's choices asked before the review: on their own form all of them; on a
    coordinator's phone referral check-ins and feedback (read out to them); else none."""
    return {"referral": CHOICES, "phone": referring.PHONE_CHOICES}.get(
        _purpose(programme, draft), ()
    )


def _asks_choices(programme: Programme, draft: Draft) -> bool:
    return bool(_choice_keys(programme, draft))


def _back_from_menu(draft: Draft) -> Draft:
    if draft.phase == "confirm_cancel":
        draft.phase = draft.resume_phase
    return draft


def _under_age(programme: Programme, question: Question, value: Answer) -> bool:
    if question.role != "age" or value is None:
        return False
    if question.kind == "number" and isinstance(value, int):
        return value < programme.min_age
    option = question.option(str(value))
    return option is not None and option.under_age


def _index(arg: str) -> int:
    """A button's position from callback data; -1 (no such button) if forged."""
    found = callbacks.number(arg)
    return -1 if found is None else found
