"""Taking a staff role away, and who holds a role right now (issue #16, finding 4).

A role is held while it is in the config (a programme's `coordinators`) or in the roles table
(an invite redeemed). Revoking one (``peerdoor revoke``, or /revoke by a coordinator of the same
programme) is one transaction: the role row goes, a coordinator's referrals in that programme go
back to the queue (the coordinators are told the reference only), a supporter's offers are
withdrawn and their matches end (each holder is told), and the audit trail records it.

Nothing already queued reaches them afterwards either: deliveries ask ``has_role`` at send time
(bot.dispatch, bot.session_delivery, bot.support_views, bot.surveys), so a row queued before the
role went, or a coordinator taken out of the config while the bot was down, gets nothing. At
start-up, referrals still held by someone without the role are handed back the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.delivery import kinds
from bot.services import supporter_records
from bot.services.engagements import supporter_gone
from conversations.forms import ServiceConfig
from storage import Person, Store, Unit

log = logging.getLogger("peerdoor.roles")


def configured(config: ServiceConfig, telegram_id: int, programme_id: str) -> bool:
    """Whether the config file itself names this person a coordinator of the programme."""
    programme = config.programme(programme_id)
    return programme is not None and telegram_id in programme.coordinators


async def has_role(
    uow: Unit, config: ServiceConfig, person: Person, role: str, programme_id: str
) -> bool:
    """The role as it stands now: in the config (coordinators) or granted by an invite."""
    if config.programme(programme_id) is None:
        return False
    if role == "coordinator" and configured(
        config, await uow.people.telegram_id(person), programme_id
    ):
        return True
    return await uow.roles.has(person, role, programme_id)


@dataclass
class Revoked:
    """What a revocation did (references only: they go to the audit trail and the operator)."""

    role: str
    programme_id: str
    handed_back: list[str] = field(default_factory=list)
    ended: int = 0  # a supporter's offers withdrawn and matches ended


async def revoke(
    uow: Unit,
    target: Person,
    role: str,
    programme_id: str,
    by: Person | None,
    now: datetime,
) -> Revoked:
    """Take ``role`` in the programme away from ``target`` and undo what hangs on it.

    The caller has checked the role is not in the config (that is the config's to change)."""
    await uow.roles.revoke(target, role, programme_id)
    done = Revoked(role, programme_id)
    if role == "coordinator":
        done.handed_back = await hand_back(uow, target, programme_id, now, by)
        await uow.staff.clear(target)  # a note or message half typed goes nowhere
    else:
        done.ended = await _end_support(uow, target, programme_id, now)
        await supporter_records.stopped(uow, target, programme_id, now)
    await uow.audit.record(by, f"revoke:{role}", now, detail=programme_id)
    log.info("role.revoked role=%s handed_back=%d", role, len(done.handed_back))
    return done


async def hand_back(
    uow: Unit, holder: Person, programme_id: str, now: datetime, by: Person | None
) -> list[str]:
    """Every referral ``holder`` holds in the programme goes back to the queue; returns the
    references. Their reminders stop; the coordinators get the reference and a Claim button."""
    references = []
    for referral in await uow.referrals.held(holder, programme_id):
        await uow.referrals.unassign(referral, now)
        await uow.outbox.drop(kinds.CONTACT_REMINDER, referral)
        await uow.outbox.add(kinds.HANDED_BACK, referral=referral, due_at=now, now=now)
        await uow.audit.record(by, "handed_back", now, reference=referral.reference)
        references.append(referral.reference)
    return references


async def _end_support(uow: Unit, supporter: Person, programme_id: str, now: datetime) -> int:
    """A supporter's offers and matches in this programme end, as when they leave the team."""
    mine = [
        e
        for e in await uow.engagements.for_supporter(supporter)
        if await _programme_of(uow, e.referral_id) == programme_id
    ]
    if not mine:
        return 0
    await supporter_gone(uow, supporter, now, only={e.id for e in mine})
    return len(mine)


async def _programme_of(uow: Unit, referral_id: str) -> str | None:
    referral = await uow.referrals.get(referral_id)
    return await uow.referrals.programme_id(referral) if referral else None


async def revoke_by_id(
    store: Store,
    config: ServiceConfig,
    telegram_id: int,
    role: str,
    programme_id: str,
    now: datetime,
) -> Revoked | None:
    """``peerdoor revoke``: the role by invite, or (a coordinator taken out of the config) the
    referrals still held, taken away. None if there was nothing to take away."""
    async with store.unit() as uow:
        target = await uow.people.find(telegram_id)
        if target is None:
            return None
        granted = await uow.roles.has(target, role, programme_id)
        holding = role == "coordinator" and bool(await uow.referrals.held(target, programme_id))
        if not granted and not holding:
            return None
        return await revoke(uow, target, role, programme_id, None, now)


async def hand_back_orphans(store: Store, config: ServiceConfig, now: datetime) -> int:
    """At start-up: referrals held by someone who no longer has the coordinator role (taken
    out of the config while the bot was down) go back to the queue. Returns how many."""
    handed = 0
    async with store.unit() as uow:
        for holder_id, programme_id in await uow.referrals.holds(
            [p.id for p in config.programmes]
        ):
            holder = await uow.people.get(holder_id)
            if holder is None or await has_role(uow, config, holder, "coordinator", programme_id):
                continue
            back = await hand_back(uow, holder, programme_id, now, None)
            if back:
                await uow.audit.record(None, "revoke:coordinator", now, detail=programme_id)
            handed += len(back)
    if handed:
        log.warning("roles.handed_back count=%d reason=not_a_coordinator", handed)
    return handed
