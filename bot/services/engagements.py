"""What happens to a supporter's engagements when the supporter goes, and telling the holder.

Shared by /profile's "Leave the team" and by /delete (a supporter erasing themselves), so the
people they support are never left without a coordinator knowing.
"""

from __future__ import annotations

import json
from datetime import datetime

from bot.delivery import kinds, session_calendar
from storage import Engagement, Person, Referral, Unit


async def tell_holder(
    uow: Unit, engagement: Engagement, referral: Referral, answer: str, now: datetime
) -> None:
    """The referral's holder learns what the supporter said (or that they left)."""
    await uow.outbox.add(
        kinds.OFFER_ANSWER,
        referral=referral,
        due_at=now,
        now=now,
        payload=json.dumps({"engagement": engagement.id, "answer": answer}).encode(),
    )


async def supporter_gone(
    uow: Unit, person: Person, now: datetime, only: set[str] | None = None
) -> None:
    """A supporter left the team or erased themselves: their open offers are withdrawn, their
    matches end, and each holder is told the person needs a new supporter. With ``only``, just
    those engagements (a role taken away in one programme)."""
    for engagement in await uow.engagements.for_supporter(person):
        if only is not None and engagement.id not in only:
            continue
        referral = await uow.referrals.get(engagement.referral_id)
        if engagement.status == "offered":
            await uow.engagements.decide(engagement, "withdrawn", now)
        elif await uow.engagements.end(engagement, now) and referral is not None:
            await session_calendar.engagement_ended(uow, engagement, referral)  # no reminders
            await tell_holder(uow, engagement, referral, "left", now)
