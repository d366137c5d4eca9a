"""A form in progress and how to move through it.

The draft is the whole state of one person's intake. It is serialised to JSON and stored sealed,
so a person can stop at any point and come back, even after the bot restarted.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from conversations.forms import Programme, Question
from conversations.preferences import DEFAULT_CHOICES

#: An answer as stored: option id, list of option ids, text, number, ISO date, yes/no as
#: "yes"/"no", or None for "skipped" / "prefer not to say".
Answer = str | int | list[str] | None

Phase = Literal["asking", "choices", "review", "confirm_cancel"]


class Draft(BaseModel):
    model_config = ConfigDict(extra="ignore")

    programme: str
    language: str
    phase: Phase = "asking"
    current: str | None = None
    answers: dict[str, Answer] = Field(default_factory=dict)
    trail: list[str] = Field(default_factory=list)
    from_review: bool = False
    picked: list[str] = Field(default_factory=list)
    screen: int = 0
    resume_phase: Phase = "asking"
    urgent: bool = False  # crisis words were seen: the referral will be marked urgent
    choices: dict[str, bool] = Field(default_factory=lambda: dict(DEFAULT_CHOICES))
    choices_seen: bool = False
    #: The smallest "of N" shown so far: a person never sees the total grow (see progress()).
    ceiling: int | None = None
    source: str | None = None  # the configured source of the link they came by (an id)
    #: Which of the programme's questionnaires this is ("form": its own referral form).
    questionnaire: str = "form"
    #: What sending it does, when not the questionnaire's own purpose (a coordinator entering
    #: the referral form for someone: "phone"). See bot/services/submissions.py.
    purpose: str | None = None
    #: Facts the starter of the draft records for the submission (ids and versions, never
    #: answers), e.g. how a person agreed to a referral taken by phone.
    context: dict[str, str] = Field(default_factory=dict)
    #: The person's screen counter as the service loaded it (conversations/dialogs.py), never
    #: stored: a new screen of the form is numbered after it and after the draft's own.
    counted: int = Field(default=0, exclude=True)

    def next_screen(self) -> None:
        """The form shows a new screen: the next number of the person's one counter (a draft
        stored by an earlier release may be ahead of it: then after its own)."""
        self.screen = max(self.screen, self.counted) + 1

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Draft:
        return cls.model_validate_json(raw)


def is_visible(question: Question, answers: dict[str, Answer]) -> bool:
    """Whether a question applies, given the answers so far."""
    if question.when is None:
        return True
    given = answers.get(question.when.question)
    if given is None:
        return False
    chosen = set(given) if isinstance(given, list) else {str(given)}
    return bool(chosen & set(question.when.any_of))


def visible_questions(programme: Programme, answers: dict[str, Answer]) -> list[Question]:
    return [q for q in programme.form if is_visible(q, answers)]


def next_question(programme: Programme, draft: Draft, after: str | None) -> Question | None:
    """The step after `after` (None: the first). From the review, only unanswered ones."""
    form = programme.form
    start = 0 if after is None else [q.id for q in form].index(after) + 1
    for question in form[start:]:
        if not is_visible(question, draft.answers):
            continue
        if draft.from_review and (question.id in draft.answers or not question.answerable):
            continue
        return question
    return None


def most_questions(programme: Programme) -> int:
    """The most questions the form can ask (every answerable one, whatever the answers): what
    the first question's "of N" says, what `{questions}` in the form's texts says, and what
    `peerdoor check-config` counts."""
    return sum(1 for q in programme.form if q.answerable)


def progress(programme: Programme, draft: Draft, question: Question) -> tuple[int, int | None]:
    """("3 of 18"): the question's number, and the most questions there can be.

    The total counts every question that can still be asked: one that depends on an answer
    not given yet counts, so answering only ever makes it smaller, never larger. It is None
    (the screen shows no total) when it would be more than the person saw before, which can
    happen only after they went back, or from the review, to an answer that may open more
    questions. Shown totals are the ``ceiling`` that note_progress() keeps, so they only shrink.
    """
    number, total = _position(programme, draft, question)
    if draft.ceiling is not None and total > draft.ceiling:
        return number, None
    return number, total


def note_progress(programme: Programme, draft: Draft, question: Question) -> None:
    """Remember the smallest total shown, before ``question`` is shown."""
    _number, total = _position(programme, draft, question)
    if draft.ceiling is None or total < draft.ceiling:
        draft.ceiling = total


def _position(programme: Programme, draft: Draft, question: Question) -> tuple[int, int]:
    """The number of ``question`` and the most questions there can be, counting a question
    whose condition rests on an answer that may still change as one that may come: on the way
    through, the answers from here on; from the review, only this question's answer (the person
    goes back to the review right after it, or after the questions it opens)."""
    form = programme.form
    place = {q.id: i for i, q in enumerate(form)}
    at = place[question.id]  # by id: list.index compared whole pydantic models, field by field

    def decided(source: str) -> bool:
        return source != question.id if draft.from_review else place[source] < at

    possible: dict[str, bool] = {}
    for q in form:
        if q.when is None:
            possible[q.id] = True
        elif decided(q.when.question):  # its answer is given and stays
            possible[q.id] = possible[q.when.question] and is_visible(q, draft.answers)
        else:  # still open: it may come
            possible[q.id] = possible[q.when.question]
    counted = [place[q.id] for q in form if q.answerable and possible[q.id]]
    number = len([i for i in counted if i < at]) + 1
    return number, max(len(counted), number)


def prune_hidden(programme: Programme, answers: dict[str, Answer]) -> dict[str, Answer]:
    """Drop answers to questions that no longer apply: only keep what the service needs."""
    kept = dict(answers)
    changed = True
    while changed:
        changed = False
        for question in programme.form:
            if question.id in kept and not is_visible(question, kept):
                del kept[question.id]
                changed = True
    return kept
