"""Peer support groups: who may be offered one, which groups fit a referral and why, the waiting
list, and how a member is shown to the group's facilitators.

Like `conversations/matching.py` for supporters: the ranking only suggests, the coordinator
decides. Pure: the programme, the person's answers and the groups' counts in; decisions out.

Members are never shown to each other. A facilitator sees each member as that member chose:
their preferred name, or only its initials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from conversations.draft import Answer
from conversations.forms import Programme
from conversations.matching import MISMATCH, WEIGHTS, Reason, Wish, words

GroupStatus = Literal["open", "paused", "closed"]
#: A place in a group: invited (the invitation is out), member, waiting (the list), or gone.
Place = Literal["invited", "member", "waiting", "declined", "left"]
#: How facilitators see a member: their preferred name, or its initials.
ShownAs = Literal["name", "initials"]


def wants_group(
    programme: Programme, answers: dict[str, Answer], has_groups: bool = False
) -> bool:
    """Whether this referral may be offered a group: the programme has groups (in the config,
    or made in the bot: ``has_groups``) and the person chose a group (or both) where the form
    asks (``group_wish``); without that question, everyone may be."""
    if not programme.groups and not has_groups and programme.group_wish is None:
        return False
    wish = programme.group_wish
    if wish is None:
        return True
    value = answers.get(wish.question)
    if value is None:
        return False
    if isinstance(value, bool):
        chosen = ["yes" if value else "no"]
    elif isinstance(value, list):
        chosen = [str(v) for v in value]
    else:
        chosen = [str(value)]
    return any(v in wish.any_of for v in chosen)


@dataclass(frozen=True)
class GroupCandidate:
    """One of the programme's groups, with what the ranking needs."""

    group_id: str
    name: str
    language: str
    setting: str  # "online" or "in_person"
    area: str
    capacity: int
    taken: int  # members and open invitations
    waiting: int  # people on its waiting list
    status: GroupStatus = "open"


@dataclass(frozen=True)
class GroupSuggestion:
    group_id: str
    name: str
    score: int
    free: int
    capacity: int
    waiting: int
    reasons: list[Reason] = field(default_factory=list)

    @property
    def has_room(self) -> bool:
        return self.free > 0


def _same_area(a: str, b: str) -> bool:
    a, b = a.strip().casefold(), b.strip().casefold()
    return bool(a and b) and (a == b or bool(words(a) & words(b)))


def suggest_group(wanted: Wish, group: GroupCandidate) -> GroupSuggestion:
    """Score one group against what the person asked for, with a reason for each fit and
    misfit: language, online or in person, area, free places."""
    score = 0
    reasons: list[Reason] = []

    def add(points: int, reason: Reason) -> None:
        nonlocal score
        score += points
        reasons.append(reason)

    if wanted.languages:
        if group.language in wanted.languages:
            add(WEIGHTS["language"], Reason("languages", (group.language,)))
        else:
            add(MISMATCH, Reason("languages", wanted.languages, good=False))
    if wanted.setting is not None:
        if wanted.setting == group.setting:
            add(WEIGHTS["setting"], Reason("setting", (group.setting,)))
        else:
            add(MISMATCH, Reason("setting", (wanted.setting,), good=False))
    if group.setting == "in_person" and _same_area(wanted.area, group.area):
        add(WEIGHTS["area"], Reason("area", (group.area.strip(),)))
    free = max(group.capacity - group.taken, 0)
    reasons.append(Reason("room", (str(free), str(group.capacity)), good=free > 0))
    if free == 0:
        reasons.append(Reason("waiting", (str(group.waiting),), good=False))
    return GroupSuggestion(
        group.group_id, group.name, score, free, group.capacity, group.waiting, reasons
    )


def rank_groups(wanted: Wish, groups: list[GroupCandidate]) -> list[GroupSuggestion]:
    """Open groups only, best first: a group that does not fit (the wrong language or setting)
    after every one that does; among either, those with room before full ones (whose waiting
    list the person is offered), then by fit, by most room, by the shortest waiting list; ties
    by name for a stable order."""
    found = [suggest_group(wanted, g) for g in groups if g.status == "open"]
    return sorted(
        found,
        key=lambda s: (
            s.score < 0,
            not s.has_room,
            -s.score,
            -s.free,
            s.waiting,
            s.name,
            s.group_id,
        ),
    )


def offer_kind(capacity: int, taken: int) -> Literal["place", "waiting"]:
    """What an invitation offers: a place, or (the group is full) a place on the waiting
    list."""
    return "place" if taken < capacity else "waiting"


def next_in_line(capacity: int, taken: int, waiting: list[str]) -> list[str]:
    """Who on the waiting list (in the order they joined it) is offered the places free now."""
    free = max(capacity - taken, 0)
    return waiting[:free]


def initials(name: str) -> str:
    """ "Sam Rivera" -> "S. R."; letters only, at most three."""
    letters = [part[0].upper() for part in name.split() if part[:1].isalpha()]
    return " ".join(f"{letter}." for letter in letters[:3]) or "?"


def shown_name(preferred: str, choice: ShownAs) -> str:
    """How facilitators see a member, as the member chose."""
    return preferred.strip() if choice == "name" and preferred.strip() else initials(preferred)
