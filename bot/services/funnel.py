"""Counting how far people get in the form, for the report's drop-off chart. Counts only.

A question is counted when a form shows it for the first time: it becomes the current question,
the form holds no answer to it yet (and has not passed it, for info steps), and it was not
reached by answering again a question already answered. That last rule covers "Back, then on
again": someone who goes back from a question before answering it, and answers the question
before once more, sees it again and is not counted twice; going back to answered questions or
editing from the review counts nothing either.

What the counter cannot tell, since it keeps nothing per person: coming back to a question by
Continue on an info step one has gone back to is counted again, and a question that first
appears because someone went back and changed an earlier answer (a conditional one) is not
counted. Both are rare; the counts are for spotting where people stop, not for exact sums.
"""

from __future__ import annotations

from datetime import UTC, datetime

from conversations.draft import Draft
from storage import Person, Unit


def first_sight(stored: Draft | None, draft: Draft) -> bool:
    """Does ``draft`` (about to replace ``stored``) show its current question for the first
    time?"""
    question = draft.current
    if draft.phase != "asking" or question is None:
        return False
    if question in draft.answers or question in draft.trail:
        return False
    if stored is None:
        return True  # the first screen after consent
    if stored.programme != draft.programme:
        return True
    if stored.current == question and stored.phase == "asking":
        return False  # the same question again (a re-ask, a crisis answer, ...)
    # Reached by answering an answered question again (after Back): seen before.
    answered_again = stored.phase == "asking" and stored.current in stored.answers
    return stored.from_review or not answered_again


async def note_reached(uow: Unit, person: Person, draft: Draft, now: datetime) -> None:
    """Before ``draft`` is saved: count its current question if the form shows it first now."""
    if draft.phase != "asking" or draft.current is None:
        return
    if draft.current in draft.answers or draft.current in draft.trail:
        return  # decided without opening the stored draft
    raw = await uow.drafts.load(person)
    stored = Draft.from_bytes(raw) if raw is not None else None
    if first_sight(stored, draft):
        await uow.funnel.reached(draft.programme, draft.current, now.astimezone(UTC).date())
