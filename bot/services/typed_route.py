"""Which flow typed text is for, from one look at the person's dialog stack.

What the person was asked decides: a coordinator's note, message or typed match (casework), a
meeting's time, place or concern note (sessions), a supporter's profile field (profile), an
answer to a survey (survey) — in that order, as a member of staff's question outranks a survey
of their own. Anything else is the referrer's: a message to their coordinator, or an answer to
the form. The look is inside the update's one transaction, so the flow it picks reads the same
stack again from the unit's memory, not from disk.
"""

from __future__ import annotations

import json
from typing import Literal

from storage import Store

Owner = Literal["casework", "sessions", "profile", "groups", "survey", "referrer"]


async def owner(store: Store, telegram_id: int) -> Owner:
    async with store.unit() as uow:
        person = await uow.people.find(telegram_id)
        if person is None:
            return "referrer"
        stack = await uow.dialogs.load(person)
    staff = stack.get("staff")
    if staff is not None:
        try:
            pending = str(json.loads(staff.data).get("pending", ""))
        except (ValueError, AttributeError):
            pending = ""
        if pending.startswith("session:"):
            return "sessions"
        if pending.startswith("profile:"):
            return "profile"
        if pending.startswith("group:"):
            return "groups"
        return "casework"
    if stack.get("survey") is not None:
        return "survey"
    return "referrer"
