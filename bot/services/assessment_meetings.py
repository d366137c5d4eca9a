"""A meeting for the initial assessment (issue #15 item 3): the holder plans it with the
meeting planner (bot/services/sessions.py drives it), and it gets the same reminders as a
supporter's meeting: the holder's before it (with a calendar file), the person's news of the
time and, if they asked, their discreet reminders; for a person without Telegram each of these
becomes a task for the holder (bot.delivery.dispatch). Used inside the caller's unit of work.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.delivery import kinds, session_calendar
from bot.services import preferences
from bot.services.assessment import _coordinates
from conversations import assessment_meeting, session_times
from conversations.forms import Programme, ServiceConfig
from storage import Person, Referral, Unit
from storage.assessment_meetings import AssessmentMeeting
from storage.people import NoTelegram

log = logging.getLogger("peerdoor.sessions")


async def held(
    uow: Unit, config: ServiceConfig, person: Person, reference: str, *, planning: bool = True
) -> tuple[Referral, Programme] | None:
    """The referral, if ``person`` holds it as a coordinator of its programme and (to plan) it
    is at "Assessing" (checked at every step of planning, and again when saved)."""
    referral = await uow.referrals.by_reference(reference)
    if referral is None or referral.holder_id != person.id:
        return None
    if planning and referral.status != "assessing":
        return None
    programme = config.programme(await uow.referrals.programme_id(referral))
    if programme is None:
        return None
    try:
        telegram_id: int | None = await uow.people.telegram_id(person)
    except NoTelegram:
        telegram_id = None
    if not await _coordinates(uow, config, person, telegram_id, programme):
        return None
    return referral, programme


async def save(
    uow: Unit,
    programme: Programme,
    referral: Referral,
    holder: Person,
    starts_at: datetime,
    place: bytes,
    now: datetime,
) -> AssessmentMeeting:
    """Keep the meeting, queue its reminders and the person's news, audit it."""
    meeting = await uow.assessment_meetings.add(referral, starts_at, place, holder, now)
    settings = programme.sessions
    planned = session_times.plan(
        starts_at, settings.remind_before_hours, settings.log_after_hours, now
    )
    for index, due in planned.reminders:
        await uow.outbox.schedule(
            kinds.SESSION_REMINDER,
            slot=assessment_meeting.slot(meeting.id, index),
            referral=referral,
            due_at=due,
            now=now,
        )
    await uow.outbox.schedule(
        kinds.SESSION_NEWS,
        slot=assessment_meeting.slot(meeting.id),
        referral=referral,
        due_at=now,
        now=now,
    )
    owner = await uow.people.get(referral.person_id)
    if owner is not None and session_calendar.wants_reminders(await preferences.load(uow, owner)):
        await arm_referrer(uow, programme, referral, meeting, now)
    await uow.audit.record(
        holder,
        "assessment_meeting:planned",
        now,
        reference=referral.reference,
        detail=str(meeting.id),
    )
    log.info("assessment_meeting.planned ref=%s", referral.reference)
    return meeting


async def cancel(
    uow: Unit, referral: Referral, meeting: AssessmentMeeting, holder: Person, now: datetime
) -> bool:
    """Cancel it and drop what is pending for it; the person is told only if they were told
    the time (as for a supporter's meeting). False if it was not on any more."""
    if not await uow.assessment_meetings.cancel(meeting, now):
        return False
    slot = assessment_meeting.slot(meeting.id)
    told = await uow.outbox.slot_state(kinds.SESSION_NEWS, referral, slot) == "sent"
    ahead = (kinds.SESSION_REMINDER, kinds.SESSION_REMINDER_REFERRER, kinds.SESSION_NEWS)
    await uow.outbox.drop_slots(referral, ahead, slot)
    if told:
        await uow.outbox.schedule(
            kinds.SESSION_NEWS, slot=f"{slot}:x", referral=referral, due_at=now, now=now
        )
    await uow.audit.record(
        holder,
        "assessment_meeting:cancelled",
        now,
        reference=referral.reference,
        detail=str(meeting.id),
    )
    log.info("assessment_meeting.cancelled ref=%s", referral.reference)
    return True


async def arm_referrer(
    uow: Unit, programme: Programme, referral: Referral, meeting: AssessmentMeeting, now: datetime
) -> int:
    """The person's reminders for one meeting (a slot already used is never queued again)."""
    settings = programme.sessions
    planned = session_times.plan(
        meeting.starts_at, settings.remind_before_hours, settings.log_after_hours, now
    )
    made = 0
    for index, due in planned.reminders:
        row = await uow.outbox.schedule(
            kinds.SESSION_REMINDER_REFERRER,
            slot=assessment_meeting.slot(meeting.id, index),
            referral=referral,
            due_at=due,
            now=now,
        )
        made += row is not None
    return made


async def arm_all(uow: Unit, config: ServiceConfig, person: Person, now: datetime) -> int:
    """The person asked for reminders: those of their assessment meetings still to come."""
    made = 0
    for referral in await uow.referrals.for_person(person):
        programme = config.programme(await uow.referrals.programme_id(referral))
        if programme is None or referral.status == "closed":
            continue
        for meeting in await uow.assessment_meetings.for_referral(referral):
            if meeting.cancelled_at is None and meeting.starts_at > now:
                made += await arm_referrer(uow, programme, referral, meeting, now)
    return made
