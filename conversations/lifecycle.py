"""The life of a referral after it is sent: who may do what, and what it becomes.

A referral waits in the queue (`submitted`) until a coordinator claims it. The holder then works
it: records contact, assesses, verifies the self-referral, and ends it with an outcome (defer with
signposting, match, decline, withdrawn) and finally closes it. "Deferring support does not mean
refusing it": a deferral sends the person resources and an open invitation to come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

WAITING = "submitted"
OPEN = ("submitted", "claimed", "contacted", "assessing")
OUTCOMES = ("deferred", "matched", "declined", "withdrawn")
CLOSED = "closed"
STATUSES = (*OPEN, *OUTCOMES, CLOSED)

Action = Literal[
    "claim",
    "take",
    "unassign",
    "contacted",
    "assessing",
    "verify",
    "note",
    "message",
    "defer",
    "match",
    "decline",
    "withdrawn",
    "close",
]
ACTIONS: tuple[Action, ...] = get_args(Action)  # in the order buttons show them

Refusal = Literal["not_held", "closed", "taken", "not_taken", "wrong_status", "done_already"]

#: Status each action leads to (None: the status does not change).
_RESULT: dict[Action, str | None] = {
    "claim": "claimed",
    "take": None,
    "unassign": None,
    "contacted": "contacted",
    "assessing": "assessing",
    "verify": None,
    "note": None,
    "message": None,
    "defer": "deferred",
    "match": "matched",
    "decline": "declined",
    "withdrawn": "withdrawn",
    "close": CLOSED,
}

#: Statuses an action may start from (besides holding the referral).
_FROM: dict[Action, tuple[str, ...]] = {
    "claim": (*OPEN, *OUTCOMES),  # an outcome unassigned (its holder lost the role)
    "take": (*OPEN, *OUTCOMES),
    "unassign": (*OPEN, *OUTCOMES),
    "contacted": ("claimed", "assessing"),
    "assessing": ("claimed", "contacted"),
    "verify": (*OPEN, *OUTCOMES),
    "note": (*OPEN, *OUTCOMES),
    "message": (*OPEN, *OUTCOMES),
    "defer": ("claimed", "contacted", "assessing"),
    "match": ("contacted", "assessing", "matched"),  # matched: a new supporter
    "decline": ("claimed", "contacted", "assessing"),
    "withdrawn": (*OPEN, "matched", "deferred"),
    "close": (*OPEN, *OUTCOMES),
}


@dataclass(frozen=True)
class Case:
    """What the rules need to know about one referral."""

    status: str
    holder_id: str | None
    verified: bool = False
    contacted: bool = False
    ever_claimed: bool = False  # the person was already told someone picked it up


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: str | None = None  # the new status, when allowed and it changes
    refusal: Refusal | None = None
    tell_referrer: bool = False  # a discreet update goes to the person


def decide(case: Case, action: Action, actor_id: str) -> Decision:
    """Whether `actor_id` (a coordinator of the referral's programme) may do `action` now."""
    if case.status == CLOSED:
        return Decision(False, refusal="closed")
    if action == "claim":
        if case.holder_id == actor_id:
            return Decision(False, refusal="done_already")  # a double tap by the winner
        if case.holder_id is not None:
            return Decision(False, refusal="taken")
    elif action == "take":
        if case.holder_id is None:
            return Decision(False, refusal="not_taken")
        if case.holder_id == actor_id:
            return Decision(False, refusal="done_already")
    elif case.holder_id != actor_id:
        return Decision(False, refusal="not_held")
    if case.status not in _FROM[action]:
        return Decision(False, refusal="wrong_status")
    if action == "verify" and case.verified:
        return Decision(False, refusal="done_already")
    result = _RESULT[action]
    if action == "claim" and case.status != WAITING:
        result = None  # claiming an unassigned referral keeps the status it had
    first_pickup = action == "claim" and not case.ever_claimed
    tell = first_pickup or action in ("defer", "match", "close")
    return Decision(True, status=result, tell_referrer=tell)


#: Where a person may come back from and ask for support again. A deferral is picked up where
#: it was left ("deferring support does not mean refusing it"); the others start a new form.
ENDED = ("deferred", "declined", "withdrawn", CLOSED)


def reopened_status(case: Case) -> str:
    """The status a deferred referral takes when its person asks for support again: back with
    its holder (in touch again if they had been, so Assessing and Match are there at once), or
    back in the queue if nobody holds it any more."""
    if case.holder_id is None:
        return WAITING
    return "contacted" if case.contacted else "claimed"


def available(case: Case, actor_id: str) -> list[Action]:
    """The actions `actor_id` may take now, in the order buttons show them."""
    return [a for a in ACTIONS if decide(case, a, actor_id).allowed]


def in_queue(status: str) -> bool:
    return status in OPEN
