"""Which flow typed text is for, from the top frame of the person's dialog stack alone.

The frames are layered (conversations/dialogs.py): what a member of staff is in the middle of
(a coordinator's case work, a meeting's time or place, a profile field, a note on a volunteer)
sits above a survey, the form or a message being written to one's supporter or person ("talk"),
so a member of staff's question outranks those; among the bottom layer the frame opened last
gets the text. A sub-dialog on top (the language being chosen) waits for a press, and text goes
to where the person was under it. With no frame, text is the referrer's: a message to their
coordinator, or the form's opening (for a "stranger", someone the bot holds nothing about).
The look is inside the update's one transaction, so the flow it picks reads the same stack
again from the unit's memory, not from disk.
"""

from __future__ import annotations

from typing import Literal

from conversations.dialogs import SUB, DialogName
from storage import Store

Owner = Literal[
    "casework",
    "sessions",
    "profile",
    "applicants",
    "groups",
    "survey",
    "talk",
    "form",
    "referrer",
    "stranger",
]

#: The flow that reads typed text for each dialog's frame.
FLOWS: dict[DialogName, Owner] = {
    "casework": "casework",
    "meeting": "sessions",
    "profile": "profile",
    "applicant": "applicants",
    "group": "groups",
    "survey": "survey",
    "talk": "talk",
    "intake": "form",
}


async def owner(store: Store, telegram_id: int) -> Owner:
    async with store.unit() as uow:
        person = await uow.people.find(telegram_id)
        if person is None:  # nothing stored about them: the form's opening
            return "stranger"
        stack = await uow.dialogs.load(person)
    below = [f for f in stack.frames if f.dialog not in SUB]
    return FLOWS.get(below[-1].dialog, "referrer") if below else "referrer"
