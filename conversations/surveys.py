"""The surveys at the end of support: the person's feedback and the supporter's closing report.

A small machine, much simpler than the intake: the questions come from the config
(``Programme.feedback`` / ``Programme.closing_report``), one per message ("Question 2 of 4"),
with Skip for optional ones, Back, and Stop. Bad input gets a kind re-ask and loses nothing.
Pure: (state, event) -> outcome. The bot stores the state sealed and submits the answers.

Callback data: ``f:<screen>:<action>[:<arg>]``. The screen number must match the state's, so
a stale button is recognised. The invitation's buttons use screen 0 and the engagement id
(a random code, nothing personal); arguments are option positions, never answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from conversations import callbacks, engine
from conversations.answers import choice_ids, option_label, parse_typed
from conversations.draft import Answer
from conversations.forms import Programme, Question
from conversations.i18n import Translate
from conversations.prompts import Button, Prompt, bold, esc, italic, rows

SurveyKind = Literal["feedback", "closing"]
KINDS: tuple[SurveyKind, ...] = ("feedback", "closing")
INVITE_SCREEN = 0
#: Answers of these kinds are counted anonymously for reports (the others are free text).
COUNTED_KINDS = ("single", "yesno", "number")


class SurveyState(BaseModel):
    """Someone in the middle of a survey. Stored sealed under their own key."""

    model_config = ConfigDict(extra="ignore")

    kind: SurveyKind
    engagement: str
    programme: str
    language: str
    index: int = 0
    answers: dict[str, Answer] = Field(default_factory=dict)
    picked: list[str] = Field(default_factory=list)
    screen: int = 1
    #: The person's screen counter as the service loaded it (conversations/dialogs.py), never
    #: stored: a new screen of the survey is numbered after it and after the survey's own.
    counted: int = Field(default=0, exclude=True)

    def next_screen(self) -> None:
        """The survey shows a new screen: the next number of the person's one counter (a
        state stored by an earlier release may be ahead of it: then after its own)."""
        self.screen = max(self.screen, self.counted) + 1

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> SurveyState:
        return cls.model_validate_json(raw)


@dataclass(frozen=True)
class SurveyPress:
    """A survey's button: see conversations/engine.py for its format."""

    screen: int
    action: str
    arg: str = ""
    version: int = 1


@dataclass(frozen=True)
class Typed:
    text: str


Event = Typed | SurveyPress


@dataclass
class Outcome:
    """What to store and what to say. ``state`` None: the survey is over (delete the state).
    ``finished``: the answers to submit (also after Stop, with what was given so far)."""

    state: SurveyState | None
    prompts: list[Prompt] = field(default_factory=list)
    replace: Prompt | None = None
    notice: str | None = None
    keep_buttons: bool = False
    changed: bool = True
    finished: dict[str, Answer] | None = None


def data(screen: int, action: str, arg: str | int = "") -> str:
    return engine.button("survey", screen, action, arg)


def parse(raw: str | None) -> SurveyPress | None:
    """A survey's press; None for anything malformed or forged."""
    press = engine.parse(raw)
    if press is None or press.dialog != "survey" or press.more:  # one argument at most
        return None
    return SurveyPress(press.screen, press.action, press.arg, press.version)


def questions(programme: Programme, kind: SurveyKind) -> list[Question]:
    return list(programme.feedback if kind == "feedback" else programme.closing_report)


def answerable(programme: Programme, kind: SurveyKind) -> list[Question]:
    return [q for q in questions(programme, kind) if q.answerable]


# -- the first message -------------------------------------------------------------------------


def invitation(
    programme: Programme, kind: SurveyKind, engagement: str, reference: str, _: Translate
) -> Prompt:
    """The first message. Its first line is neutral: it may show on a lock screen."""
    n = len(answerable(programme, kind))
    if kind == "feedback":
        lines = [
            esc(_("Hello, a short question for you.")),
            esc(_("Your support with us has come to an end. How did it go for you?")),
            esc(
                _("There are {count} short questions. Your answers help us do better.").format(
                    count=n
                )
            ),
            italic(_("You can skip any question, or stop at any time.")),
        ]
    else:
        lines = [
            esc(_("Hello, a short task for you.")),
            esc(
                _("Support for {reference} has ended. Thank you for your time with them.").format(
                    reference=reference
                )
            ),
            esc(_("Please answer {count} short questions for the coordinator.").format(count=n)),
        ]
    buttons = (
        (
            Button(_("Start"), data(INVITE_SCREEN, "go", engagement)),
            Button(_("No, thank you"), data(INVITE_SCREEN, "no", engagement)),
        ),
    )
    return Prompt("\n\n".join(lines), buttons)


def begin(programme: Programme, kind: SurveyKind, engagement: str, language: str) -> SurveyState:
    return SurveyState(kind=kind, engagement=engagement, programme=programme.id, language=language)


# -- the machine ---------------------------------------------------------------------------------


def current(programme: Programme, state: SurveyState, _: Translate) -> Prompt:
    """The question the person is on (or the thanks, if none is left)."""
    qs = questions(programme, state.kind)
    if state.index >= len(qs):
        return thanks(state.kind, _)
    return question_screen(programme, state, qs[state.index], _)


def handle(
    programme: Programme, state: SurveyState, event: Event, today: date, _: Translate
) -> Outcome:
    state = state.model_copy(deep=True)
    qs = questions(programme, state.kind)
    if state.index >= len(qs):  # the config lost questions under a paused survey
        return _finish(state, _)
    q = qs[state.index]
    if isinstance(event, Typed):
        return _typed(programme, state, q, event.text, today, _)
    if not engine.is_current("survey", event.version, event.screen, state.screen):
        return Outcome(state, notice=stale_notice(_), keep_buttons=True, changed=False)
    return _press(programme, state, q, event, _)


def _typed(
    programme: Programme, state: SurveyState, q: Question, text: str, today: date, _: Translate
) -> Outcome:
    if q.kind == "info":
        return Outcome(state, [Prompt(esc(_("Please tap Continue.")))], changed=False)
    parsed = parse_typed(programme, q, text, state.language, _, today)
    if not parsed.ok:
        assert parsed.problem is not None
        return Outcome(state, [Prompt(esc(parsed.problem))], changed=False)
    state.answers[q.id] = parsed.value
    return _advance(programme, state, _)


def _press(
    programme: Programme, state: SurveyState, q: Question, press: SurveyPress, _: Translate
) -> Outcome:
    ids = choice_ids(q) if q.kind in ("single", "multi", "yesno") else []
    index = callbacks.number(press.arg)
    index = -1 if index is None else index
    match press.action:
        case "o" if q.kind in ("single", "yesno") and 0 <= index < len(ids):
            state.answers[q.id] = ids[index]
            return _advance(programme, state, _)
        case "t" if q.kind == "multi" and 0 <= index < len(ids):
            picked = set(state.picked) ^ {ids[index]}
            state.picked = [i for i in ids if i in picked]
            return Outcome(state, replace=question_screen(programme, state, q, _))
        case "d" if q.kind == "multi":
            if not state.picked and q.required:
                return Outcome(state, notice=_("Please tap at least one answer."), changed=False)
            state.answers[q.id] = list(state.picked) if state.picked else None
            return _advance(programme, state, _)
        case "i" if q.kind == "info":
            return _advance(programme, state, _)
        case "s" if q.answerable and not q.required:
            state.answers[q.id] = None
            return _advance(programme, state, _)
        case "b" if state.index > 0:
            state.index -= 1
            state.next_screen()
            back = questions(programme, state.kind)[state.index]
            state.answers.pop(back.id, None)
            state.picked = []
            return Outcome(state, [question_screen(programme, state, back, _)])
        case "x":
            return _finish(state, _, stopped=True)
    return Outcome(state, notice=stale_notice(_), keep_buttons=True, changed=False)


def _advance(programme: Programme, state: SurveyState, _: Translate) -> Outcome:
    state.index += 1
    state.next_screen()
    state.picked = []
    qs = questions(programme, state.kind)
    if state.index >= len(qs):
        return _finish(state, _)
    return Outcome(state, [question_screen(programme, state, qs[state.index], _)])


def _finish(state: SurveyState, _: Translate, stopped: bool = False) -> Outcome:
    prompt = stopped_screen(state.kind, _) if stopped else thanks(state.kind, _)
    return Outcome(None, [prompt], finished=dict(state.answers))


# -- what the person reads ---------------------------------------------------------------------


def question_screen(programme: Programme, state: SurveyState, q: Question, _: Translate) -> Prompt:
    """One question with a progress cue, its buttons, and the ways back and out."""
    lang = state.language
    asked = answerable(programme, state.kind)
    lines = []
    if q in asked:
        lines.append(
            esc(
                _("Question {number} of {total}").format(
                    number=asked.index(q) + 1, total=len(asked)
                )
            )
        )
    lines.append(bold(programme.text(q.text, lang)))
    if q.hint is not None:
        lines.append(italic(programme.text(q.hint, lang)))
    lines.append(italic(_instruction(q, _)))
    return Prompt("\n\n".join(lines), _buttons(programme, state, q, _))


def _instruction(q: Question, _: Translate) -> str:
    return {
        "single": _("Tap one answer."),
        "yesno": _("Tap one answer."),
        "multi": _("Tap all that fit, then tap Done."),
        "text": _("Type your answer and send it."),
        "number": _("Type a number and send it."),
        "date": _("Type a date, like 31/12/2025."),
        "info": _("Tap Continue when you are ready."),
    }[q.kind]


def _buttons(
    programme: Programme, state: SurveyState, q: Question, _: Translate
) -> tuple[tuple[Button, ...], ...]:
    screen = state.screen
    keyboard: list[tuple[Button, ...]] = []
    lang = state.language
    if q.kind in ("single", "yesno"):
        options = [
            Button(option_label(programme, q, oid, lang, _), data(screen, "o", i))
            for i, oid in enumerate(choice_ids(q))
        ]
        keyboard += rows(options, 2 if q.kind == "yesno" else 1)
    elif q.kind == "multi":
        keyboard += rows(
            [
                Button(
                    ("☑ " if oid in state.picked else "☐ ")
                    + option_label(programme, q, oid, lang, _),
                    data(screen, "t", i),
                )
                for i, oid in enumerate(choice_ids(q))
            ],
            1,
        )
        keyboard.append((Button(_("Done"), data(screen, "d")),))
    elif q.kind == "info":
        keyboard.append((Button(_("Continue"), data(screen, "i")),))
    nav: list[Button] = []
    if state.index > 0:
        nav.append(Button("← " + _("Back"), data(screen, "b")))
    if q.answerable and not q.required:
        nav.append(Button(_("Skip"), data(screen, "s")))
    nav.append(Button(_("Stop"), data(screen, "x")))
    keyboard.append(tuple(nav))
    return tuple(keyboard)


def thanks(kind: SurveyKind, _: Translate) -> Prompt:
    if kind == "feedback":
        return Prompt(
            esc(_("Thank you. Your answers help us make things better for others."))
            + "\n\n"
            + esc(_("If you need us again, just send /start."))
        )
    return Prompt(esc(_("Thank you. The coordinator can now read your report.")))


def stopped_screen(kind: SurveyKind, _: Translate) -> Prompt:
    if kind == "feedback":
        return Prompt(
            esc(_("That is fine. We stopped here. We keep only the answers you gave."))
            + "\n\n"
            + esc(_("If you need us again, just send /start."))
        )
    return Prompt(esc(_("Stopped. We keep the answers you gave. Thank you.")))


def declined(_: Translate) -> Prompt:
    return Prompt(esc(_("That is fine. Thank you all the same.")))


def already_done(_: Translate) -> Prompt:
    return Prompt(esc(_("You already answered these questions. Thank you!")))


def stale_notice(_: Translate) -> str:
    return _("This button is from an older message. Please use the newest one.")


def readable(
    programme: Programme | None,
    kind: SurveyKind,
    answers: dict[str, Answer],
    lang: str,
    _: Translate,
) -> list[tuple[str, str, str]]:
    """(question id, question, answer) as a person reads them, in config order (unknown ids
    last)."""
    qs = questions(programme, kind) if programme is not None else []
    by_id = {q.id: q for q in qs}
    order = [q.id for q in qs if q.id in answers] + sorted(k for k in answers if k not in by_id)
    out: list[tuple[str, str, str]] = []
    for qid in order:
        value = answers[qid]
        q = by_id.get(qid)
        label = programme.text(q.text, lang) if programme is not None and q is not None else qid
        if value is None:
            text = _("(no answer)")
        elif isinstance(value, list):
            text = ", ".join(
                option_label(programme, q, v, lang, _) if programme and q else v for v in value
            )
        elif programme is not None and q is not None and q.kind in ("single", "yesno"):
            text = option_label(programme, q, str(value), lang, _)
        else:
            text = str(value)
        out.append((qid, label, text))
    return out


def countable(programme: Programme, answers: dict[str, Answer]) -> list[tuple[str, str]]:
    """(question id, answer) pairs of the feedback to count anonymously: choices and numbers
    only (never free text), and only answers the config still knows."""
    out: list[tuple[str, str]] = []
    for q in programme.feedback:
        value = answers.get(q.id)
        if q.kind not in COUNTED_KINDS or value is None or isinstance(value, list):
            continue
        if q.kind in ("single", "yesno") and str(value) not in choice_ids(q):
            continue
        out.append((q.id, str(value)))
    return out


# -- texts for coordinators and supporters ----------------------------------------------------


def end_button(engagement: str, _: Translate) -> Button:
    """For the supporter's view of an accepted engagement: support has ended."""
    return Button(_("Support has ended"), callbacks.support("end", engagement))


def support_ended_for_holder(reference: str, _: Translate) -> Prompt:
    return Prompt(
        esc(
            _("Support for {reference} has ended: the supporter said so.").format(
                reference=reference
            )
        )
        + "\n\n"
        + esc(_("You can close it with /referral {reference}.").format(reference=reference))
    )


def closing_received(reference: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("The closing report for {reference} is in.").format(reference=reference))
        + "\n\n"
        + esc(_("Read it with /referral {reference}.").format(reference=reference))
    )


def support_ended_confirmed(reference: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("Thank you. Support for {reference} has ended.").format(reference=reference))
        + "\n\n"
        + esc(_("We have told the coordinator."))
    )


def ended_already(_: Translate) -> str:
    return _("This support has ended already.")
