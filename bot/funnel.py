"""Counting how far people get in the form, for the report's drop-off chart. Counts only.

A question is counted when a form shows it for the first time: it becomes the current question,
it was not the current one in the stored draft, and the form holds no answer to it yet (and has
not passed it, for info steps). Going back to an answered question, editing from the review or
a repeated screen does not count again. Someone who goes back *before* answering a question and
then forward again is counted twice for it: the draft does not remember screens it left
unanswered, and the counter keeps nothing per person to tell.
"""

from __future__ import annotations

from datetime import UTC, datetime

from conversations.draft import Draft
from storage import Person, Unit


async def note_reached(uow: Unit, person: Person, draft: Draft, now: datetime) -> None:
    """Before ``draft`` is saved: count its current question if the form shows it first now."""
    question = draft.current
    if draft.phase != "asking" or question is None:
        return
    if question in draft.answers or question in draft.trail:
        return
    raw = await uow.drafts.load(person)
    if raw is not None:
        stored = Draft.from_bytes(raw)
        if stored.current == question and stored.programme == draft.programme:
            return
    await uow.funnel.reached(draft.programme, question, now.astimezone(UTC).date())
