"""Whether a hand-over may go ahead: the confidentiality agreement's gate (issue #15).

Apart from bot.services.agreement so that matchmaking can ask it without importing the flows.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from bot.delivery import kinds
from conversations import agreement
from conversations.agreement import HolderNews
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.prompts import Prompt
from storage import Person, Referral, Unit

log = logging.getLogger("peerdoor.agreement")


async def accepted_version(uow: Unit, programme: Programme, referral: Referral) -> str | None:
    """The programme's current version, if the person accepted it; else None."""
    if programme.agreement is None:
        return None
    found = await uow.agreements.get(referral, programme.agreement.version)
    return found.version if found is not None and found.answer == "accepted" else None


async def gate(
    uow: Unit,
    actor: Person,
    programme: Programme,
    referral: Referral,
    now: datetime,
    _: Translate,
) -> Prompt | None:
    """None when a hand-over may go ahead; else the agreement is (re)sent to the person and
    the coordinator gets the words saying the hand-over waits."""
    terms = programme.agreement
    if terms is None or not agreement.needed(
        programme, await accepted_version(uow, programme, referral)
    ):
        return None
    await uow.outbox.drop(kinds.AGREEMENT, referral)  # one pending ask at a time
    await uow.outbox.add(
        kinds.AGREEMENT,
        referral=referral,
        due_at=now,
        now=now,
        payload=json.dumps({"version": terms.version}).encode(),
    )
    await uow.audit.record(
        actor, "agreement:asked", now, reference=referral.reference, detail=terms.version
    )
    log.info("agreement.asked ref=%s", referral.reference)
    owner = await uow.people.get(referral.person_id)
    by_phone = owner is not None and not await uow.people.has_telegram(owner)
    news: HolderNews = "waiting_phone" if by_phone else "waiting"  # no Telegram: a task
    return agreement.for_holder(referral.reference, news, terms.version, _)
