"""Match suggestions: which peer supporters fit a referral, best first, and why.

003 ("Gathering matching information"): a good match weighs what the person asked for (who they
would feel at ease with, a shared language, when they are free, online or in person, where they
live, shared interests) against who has room. The ranking only suggests; the coordinator
decides. Pure: profiles and answers in, an ordered list of suggestions with reasons out.

Supporters pick from the same options as the form's question tagged with the same ``match``
field, so "weekends" means the same on both sides. Options marked ``any`` ("I do not mind",
"Either is fine") are no preference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from conversations.draft import Answer
from conversations.forms import Programme

MAX_CAPACITY = 20
MAX_NAME = 40
MAX_WORDS = 300

#: How much each kind of fit counts. A hard mismatch (no shared language, the wrong gender, the
#: wrong setting) outweighs any number of soft fits, so it sinks below every fitting supporter.
WEIGHTS = {
    "gender": 4,
    "language": 4,
    "setting": 3,
    "area": 2,
    "availability": 1,  # per shared time
    "interest": 1,  # per shared interest word, up to 3
}
MISMATCH = -10
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)


class Profile(BaseModel):
    """What a supporter tells coordinators about themselves (stored sealed, theirs to change)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(default="", max_length=MAX_NAME)
    gender: str | None = None
    languages: list[str] = Field(default_factory=list)
    availability: list[str] = Field(default_factory=list)
    setting: list[str] = Field(default_factory=list)  # "online", "in_person": either or both
    area: str = Field(default="", max_length=MAX_WORDS)
    interests: str = Field(default="", max_length=MAX_WORDS)
    capacity: int = Field(default=2, ge=0, le=MAX_CAPACITY)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Profile:
        return cls.model_validate_json(raw) if raw else cls()


@dataclass(frozen=True)
class Wish:
    """What the referrer asked for, in matching terms (None / empty: no preference)."""

    gender: str | None = None
    languages: tuple[str, ...] = ()
    availability: tuple[str, ...] = ()
    setting: str | None = None
    area: str = ""
    interests: str = ""


@dataclass(frozen=True)
class Candidate:
    person_id: str
    profile: Profile
    live: int  # engagements offered or accepted now
    declined_before: bool = False  # they already said no to this referral
    overdue: bool = False  # their supervision is overdue (shown, not ranked on)


@dataclass(frozen=True)
class Reason:
    """One line item: ``code`` says what (rendered by the screens), ``values`` which options
    (option ids of the matching question) or words."""

    code: str
    values: tuple[str, ...] = ()
    good: bool = True


@dataclass(frozen=True)
class Suggestion:
    person_id: str
    name: str
    score: int
    free: int
    capacity: int
    reasons: list[Reason] = field(default_factory=list)
    declined_before: bool = False

    @property
    def has_room(self) -> bool:
        return self.free > 0


def _ids(programme: Programme, name: str, value: Answer) -> tuple[str, ...]:
    """Option ids from an answer, without the 'no preference' ones."""
    question = programme.matching(name)
    if question is None or value is None:
        return ()
    values = value if isinstance(value, list) else [str(value)]
    keep = []
    for v in values:
        option = question.option(str(v))
        if option is not None and not option.any:
            keep.append(option.id)
    return tuple(keep)


def _text(programme: Programme, name: str, answers: dict[str, Answer]) -> str:
    question = programme.matching(name)
    value = answers.get(question.id) if question is not None else None
    return value if isinstance(value, str) else ""


def wish(programme: Programme, answers: dict[str, Answer]) -> Wish:
    """Read the referrer's matching answers."""

    def of(name: str) -> tuple[str, ...]:
        question = programme.matching(name)
        return _ids(programme, name, answers.get(question.id) if question else None)

    gender, setting = of("gender"), of("setting")
    return Wish(
        gender=gender[0] if gender else None,
        languages=of("languages"),
        availability=of("availability"),
        setting=setting[0] if setting else None,
        area=_text(programme, "area", answers),
        interests=_text(programme, "interests", answers),
    )


def words(text: str) -> set[str]:
    """Interest words: letters only, four or more, case-folded ("Cooking, music" -> both)."""
    return {w.casefold() for w in _WORD.findall(text)}


def _same_area(a: str, b: str) -> bool:
    a, b = a.strip().casefold(), b.strip().casefold()
    return bool(a and b) and (a == b or bool(words(a) & words(b)))


def suggest(wanted: Wish, candidate: Candidate) -> Suggestion:
    """Score one supporter against the wish, with a reason for each fit and misfit."""
    p = candidate.profile
    score = 0
    reasons: list[Reason] = []

    def add(points: int, reason: Reason) -> None:
        nonlocal score
        score += points
        reasons.append(reason)

    if wanted.gender is not None:
        if p.gender == wanted.gender:
            add(WEIGHTS["gender"], Reason("gender", (wanted.gender,)))
        else:
            add(MISMATCH, Reason("gender", (wanted.gender,), good=False))
    if wanted.languages:
        shared = tuple(lang for lang in wanted.languages if lang in p.languages)
        if shared:
            add(WEIGHTS["language"], Reason("languages", shared))
        else:
            add(MISMATCH, Reason("languages", wanted.languages, good=False))
    if wanted.setting is not None:
        if wanted.setting in p.setting:
            add(WEIGHTS["setting"], Reason("setting", (wanted.setting,)))
        else:
            add(MISMATCH, Reason("setting", (wanted.setting,), good=False))
    times = tuple(t for t in wanted.availability if t in p.availability)
    if times:
        add(WEIGHTS["availability"] * len(times), Reason("availability", times))
    elif wanted.availability and p.availability:
        reasons.append(Reason("availability", (), good=False))
    if _same_area(wanted.area, p.area):
        add(WEIGHTS["area"], Reason("area", (p.area.strip(),)))
    shared_words = sorted(words(wanted.interests) & words(p.interests))[:3]
    if shared_words:
        add(WEIGHTS["interest"] * len(shared_words), Reason("interests", tuple(shared_words)))
    free = max(p.capacity - candidate.live, 0)
    reasons.append(Reason("room", (str(free), str(p.capacity)), good=free > 0))
    if candidate.declined_before:
        reasons.append(Reason("declined", (), good=False))
    if candidate.overdue:
        reasons.append(Reason("supervision", (), good=False))
    return Suggestion(
        candidate.person_id,
        p.name,
        score,
        free,
        p.capacity,
        reasons,
        candidate.declined_before,
    )


def rank(wanted: Wish, candidates: list[Candidate]) -> list[Suggestion]:
    """Best first: those with room before those without, those who have not already declined
    before those who have, then by fit, then by most room; ties by name for a stable order."""
    found = [suggest(wanted, c) for c in candidates]
    return sorted(
        found,
        key=lambda s: (not s.has_room, s.declined_before, -s.score, -s.free, s.name, s.person_id),
    )
