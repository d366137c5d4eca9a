"""The check-in calendar in the outbox: queueing and dropping check-in rows.

The outbox is the calendar: each check-in is a row with its due time and a slot ("w0", "w1" ...
for a referral still waiting, "door" for the one after a deferral), unique per referral, so
arming twice never queues twice. The row is checked again when it is due (still waiting? still
agreed? not blocked?) and a sent waiting check-in queues the next one. Used inside the caller's
unit of work: a referral and its first check-in commit together.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.delivery import kinds, session_calendar
from bot.services import preferences
from conversations import scheduling
from conversations.forms import Programme, ServiceConfig
from conversations.preferences import Preferences
from storage import Person, Referral, Unit

#: Statuses in which a person is still waiting for first contact.
WAITING = ("submitted", "claimed")
#: A deferral may be closed afterwards; the door stays open all the same.
DEFERRED = ("deferred", "closed")
#: What /stop ends: check-ins, and the person's meeting reminders (the same consent).
REFERRER_REMINDERS = kinds.CHECKINS_CONSENT


def is_waiting(referral: Referral) -> bool:
    return referral.status in WAITING and referral.contacted_at is None


def _waiting_period(programme: Programme) -> tuple[timedelta, timedelta]:
    c = programme.checkins
    return timedelta(days=c.waiting_after_days), timedelta(days=c.waiting_every_days)


def wants(prefs: Preferences) -> bool:
    return prefs.agreed("checkins") and not prefs.blocked


async def arm_waiting(
    uow: Unit,
    programme: Programme,
    referral: Referral,
    prefs: Preferences,
    now: datetime,
    previous: int | None = None,
) -> bool:
    """Queue the next waiting check-in (after slot ``previous``, else the first not passed)."""
    if not wants(prefs) or not is_waiting(referral):
        return False
    after, every = _waiting_period(programme)
    slot, due = scheduling.next_waiting(referral.submitted_at, now, after, every, previous)
    made = await uow.outbox.schedule(
        kinds.CHECKIN, slot=f"w{slot}", referral=referral, due_at=due, now=now
    )
    return made is not None


async def arm_door(
    uow: Unit,
    programme: Programme,
    referral: Referral,
    prefs: Preferences,
    now: datetime,
    deferred_at: datetime,
) -> bool:
    """Queue "the door stays open" for ``deferred_after_weeks`` after the deferral, once.
    Waiting check-ins end here: they are no longer waiting."""
    await uow.outbox.drop(kinds.CHECKIN, referral)
    due = deferred_at + timedelta(weeks=programme.checkins.deferred_after_weeks)
    if not wants(prefs) or due < now:
        return False
    made = await uow.outbox.schedule(
        kinds.DOOR_OPEN, slot="door", referral=referral, due_at=due, now=now
    )
    return made is not None


async def arm_person(uow: Unit, config: ServiceConfig, person: Person, now: datetime) -> int:
    """Queue what fits each of the person's referrals now (after consent, resume, unblock)."""
    prefs = await preferences.load(uow, person)
    armed = 0
    for referral in await uow.referrals.for_person(person):
        programme = config.programme(await uow.referrals.programme_id(referral))
        if programme is None:
            continue
        if referral.status == "deferred":
            armed += await arm_door(uow, programme, referral, prefs, now, referral.updated_at)
        else:
            armed += await arm_waiting(uow, programme, referral, prefs, now)
    return armed + await session_calendar.arm_referrer(uow, config, person, now)


async def disarm_person(uow: Unit, person: Person, now: datetime) -> int:
    """Drop every pending check-in of the person, and their meeting reminders."""
    return await uow.outbox.drop_for_person(person, REFERRER_REMINDERS, now)


async def consent_changed(
    uow: Unit, config: ServiceConfig, person: Person, agreed: bool, now: datetime
) -> None:
    """The check-ins consent was turned on or off (/privacy, /stop, resume)."""
    if agreed:
        await arm_person(uow, config, person, now)
    else:
        await disarm_person(uow, person, now)
