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
    source: str | None = None  # the configured source of the link they came by (an id)

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


def progress(programme: Programme, draft: Draft, question: Question) -> tuple[int, int]:
    """("3 of 18"): the position among the answerable questions that apply now."""
    answerable = [q for q in visible_questions(programme, draft.answers) if q.answerable]
    ids = [q.id for q in answerable]
    total = len(ids)
    if question.id in ids:
        return ids.index(question.id) + 1, total
    before = [q.id for q in programme.form[: programme.form.index(question)]]
    return len([i for i in ids if i in before]) + 1, max(total, 1)


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
