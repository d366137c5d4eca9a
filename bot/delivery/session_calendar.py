"""A session's messages in the outbox: queueing and dropping its reminders and its log.

Like the check-in calendar, the outbox is the calendar: each reminder is a row with its due
time and a slot ("<session id>:<n>" for the n-th configured reminder, "<session id>" for the
log and the news), unique per referral and kind, so arming twice never queues twice. Every row
is checked again when it is due (session still on? engagement still accepted? still wanted?),
so a row this module failed to drop is discarded then. Used inside the caller's unit of work.
"""

from __future__ import annotations

from datetime import datetime

from bot.delivery import kinds
from bot.services import preferences
from conversations import assessment_meeting, session_times, sessions
from conversations.forms import Programme, ServiceConfig
from conversations.i18n import Translate
from conversations.preferences import Preferences
from conversations.prompts import Prompt
from storage import Engagement, Person, Referral, Session, Unit

#: Rows that belong to a session still to come: cancelling it drops what is pending of these.
_AHEAD = (
    kinds.SESSION_REMINDER,
    kinds.SESSION_REMINDER_REFERRER,
    kinds.SESSION_LOG,
    kinds.SESSION_NEWS,
    kinds.SESSION_PLANNED,
)


def wants_reminders(prefs: Preferences) -> bool:
    """The person asked for meeting reminders and agreed to check-ins and reminders."""
    return prefs.session_reminders and prefs.agreed("checkins") and not prefs.blocked


def is_on(session: Session) -> bool:
    return session.cancelled_at is None and session.outcome is None


async def arm(
    uow: Unit,
    programme: Programme,
    referral: Referral,
    session: Session,
    now: datetime,
    *,
    by_coordinator: bool,
) -> None:
    """A session was saved: the supporter's reminders and log, the person's news (and their
    reminders, if they asked for them), and the supporter's news when a coordinator planned."""
    settings = programme.sessions
    planned = session_times.plan(
        session.starts_at, settings.remind_before_hours, settings.log_after_hours, now
    )
    sid = str(session.id)
    for index, due in planned.reminders:
        await uow.outbox.schedule(
            kinds.SESSION_REMINDER, slot=f"{sid}:{index}", referral=referral, due_at=due, now=now
        )
    await uow.outbox.schedule(
        kinds.SESSION_LOG, slot=sid, referral=referral, due_at=planned.log_at, now=now
    )
    await uow.outbox.schedule(kinds.SESSION_NEWS, slot=sid, referral=referral, due_at=now, now=now)
    if by_coordinator:
        await uow.outbox.schedule(
            kinds.SESSION_PLANNED, slot=sid, referral=referral, due_at=now, now=now
        )
    owner = await uow.people.get(referral.person_id)
    if owner is not None and wants_reminders(await preferences.load(uow, owner)):
        await _arm_referrer(uow, programme, referral, session, now)


async def _arm_referrer(
    uow: Unit, programme: Programme, referral: Referral, session: Session, now: datetime
) -> int:
    settings = programme.sessions
    planned = session_times.plan(
        session.starts_at, settings.remind_before_hours, settings.log_after_hours, now
    )
    made = 0
    for index, due in planned.reminders:
        row = await uow.outbox.schedule(
            kinds.SESSION_REMINDER_REFERRER,
            slot=f"{session.id}:{index}",
            referral=referral,
            due_at=due,
            now=now,
        )
        made += row is not None
    return made


async def upcoming(uow: Unit, engagement: Engagement, now: datetime) -> list[Session]:
    """The engagement's sessions still to come, earliest first."""
    return [
        s for s in await uow.sessions.for_engagement(engagement) if is_on(s) and s.starts_at > now
    ]


async def arm_referrer(uow: Unit, config: ServiceConfig, person: Person, now: datetime) -> int:
    """The person's reminders for every meeting still to come (they asked, or came back after
    /stop). Reminders already sent are never queued again (the slot is taken)."""
    if not wants_reminders(await preferences.load(uow, person)):
        return 0
    made = 0
    for referral in await uow.referrals.for_person(person):
        engagement = await uow.engagements.live(referral)
        programme = config.programme(await uow.referrals.programme_id(referral))
        if engagement is None or engagement.status != "accepted" or programme is None:
            continue
        for session in await upcoming(uow, engagement, now):
            made += await _arm_referrer(uow, programme, referral, session, now)
    return made


async def disarm_referrer(uow: Unit, person: Person, now: datetime) -> int:
    """Drop the person's pending meeting reminders (/stop, or "no more reminders")."""
    return await uow.outbox.drop_for_person(person, (kinds.SESSION_REMINDER_REFERRER,), now)


async def cancel(uow: Unit, referral: Referral, session: Session, now: datetime) -> bool:
    """Cancel a session and drop what is pending for it. The person is told only if they were
    told of the time (else the news is simply dropped). False if it was not on any more."""
    if not await uow.sessions.cancel(session, now):
        return False
    sid = str(session.id)
    told = await uow.outbox.slot_state(kinds.SESSION_NEWS, referral, sid) == "sent"
    await uow.outbox.drop_slots(referral, _AHEAD, sid)
    if told:
        await uow.outbox.schedule(
            kinds.SESSION_NEWS, slot=f"{sid}:x", referral=referral, due_at=now, now=now
        )
    return True


async def engagement_ended(uow: Unit, engagement: Engagement, referral: Referral) -> int:
    """An engagement ended (support finished, or the supporter left): its sessions' pending
    reminders and logs are dropped. (Were one missed here, it is discarded when due.)"""
    dropped = 0
    for session in await uow.sessions.for_engagement(engagement):
        dropped += await uow.outbox.drop_slots(referral, _AHEAD, str(session.id))
    return dropped


async def with_session_buttons(
    uow: Unit, referral: Referral, prompt: Prompt, _: Translate
) -> Prompt:
    """A matched referral's screen for its holder, plus "Plan a session" and "Meetings" (a row
    of their own: the referral's lifecycle actions are unchanged)."""
    engagement = await uow.engagements.live(referral)
    if referral.status == "assessing" and (engagement is None or engagement.status != "accepted"):
        row = assessment_meeting.plan_row(referral.reference, _)  # the assessment's meeting
        return Prompt(prompt.text, (*prompt.buttons, row))
    if engagement is None or engagement.status != "accepted":
        return prompt
    return Prompt(prompt.text, (*prompt.buttons, sessions.plan_row(engagement.id, _)))
