"""Which flow typed text is for, from one look at what the person was asked.

A coordinator's note, a meeting's time or place, a supporter's profile field (all in the staff
state) and a survey answer (the survey state) each need the flow that asked. Most typed text is
none of these (an answer to the form, or a referrer writing to their coordinator), so one read
here spares every such message a transaction per flow.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import Store


@dataclass(frozen=True)
class Awaiting:
    staff: bool = False  # something is pending in the staff state (casework, sessions, profile)
    survey: bool = False  # the person is in the middle of a survey


async def awaiting(store: Store, telegram_id: int) -> Awaiting:
    async with store.unit() as uow:
        person = await uow.people.find(telegram_id)
        if person is None:
            return Awaiting()
        return Awaiting(
            staff=await uow.staff.load(person) is not None,
            survey=await uow.surveys.load_state(person) is not None,
        )
