"""Rendering the rows of a meeting for the initial assessment (slot ``a<id>``, ``a<id>:<n>``):
the holder's reminder (with a calendar file, in place of the supporter's), the person's news of
the time and their discreet reminder -- the same words as for a supporter's meeting. Checked at
send time: the meeting still on and to come, the referral open, the holder still a coordinator.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.delivery import session_calendar
from bot.delivery.context import Context, Rendered
from bot.delivery.port import Document
from bot.delivery.worker import Discard
from conversations import assessment_meeting, session_times, sessions
from conversations.sessions import Where
from storage.assessment_meetings import AssessmentMeeting

ICS_NAME = "meeting.ics"


async def _ahead(ctx: Context) -> tuple[AssessmentMeeting, Where]:
    number = assessment_meeting.meeting_of(ctx.item.slot)
    meeting = await ctx.uow.assessment_meetings.get(number) if number is not None else None
    if meeting is None or meeting.referral_id != ctx.referral.id:
        raise Discard("gone")
    if meeting.cancelled_at is not None or ctx.referral.status == "closed":
        raise Discard("cancelled")
    if meeting.starts_at <= ctx.now:
        raise Discard("late")  # its moment has passed (the bot was down): never late
    where = Where.from_bytes(await ctx.uow.assessment_meetings.place(meeting, ctx.referral))
    return meeting, where


def _when(ctx: Context, meeting: AssessmentMeeting, language: str) -> str:
    zone = ZoneInfo(ctx.programme.timezone)
    return sessions.when_text(meeting.starts_at, zone, language, ctx.t(language))


async def holder_reminder(ctx: Context) -> Rendered | None:
    """The holder's reminder, as a supporter gets one for their meetings."""
    meeting, where = await _ahead(ctx)
    target = await ctx.holder()
    if target is None:
        raise Discard("no_holder")
    _ = ctx.t(target.language)
    ics = session_times.calendar_file(
        uid=f"assessment-{meeting.id}@peerdoor",
        starts_at=meeting.starts_at,
        minutes=ctx.programme.sessions.length_minutes,
        summary=sessions.calendar_summary(_),
        location=None if where.online else where.place,
        now=ctx.now,
    )
    prompt = assessment_meeting.holder_reminder(
        ctx.referral.reference, _when(ctx, meeting, target.language), where, _
    )
    return Rendered([target], prompt, document=Document(ics, ICS_NAME))


async def news(ctx: Context) -> Rendered | None:
    """The person: the time is set (the same discreet words as for any meeting), or it is
    called off ("a<id>:x")."""
    if (ctx.item.slot or "").endswith(":x"):
        number = assessment_meeting.meeting_of(ctx.item.slot)
        off = await ctx.uow.assessment_meetings.get(number) if number is not None else None
        if off is None or off.referral_id != ctx.referral.id:
            raise Discard("gone")
        lang = ctx.to.language
        prompt = sessions.time_off(_when(ctx, off, lang), ctx.t(lang))
        return Rendered(ctx.targets, ctx.discreet(prompt, ctx.to))
    meeting, where = await _ahead(ctx)
    target = ctx.to
    lang = target.language
    assert ctx.prefs is not None
    asked = session_calendar.wants_reminders(ctx.prefs)
    prompt = assessment_meeting.time_set(
        meeting.id, _when(ctx, meeting, lang), where, asked, ctx.t(lang)
    )
    return Rendered(ctx.targets, ctx.discreet(prompt, target))


async def referrer_reminder(ctx: Context) -> Rendered | None:
    meeting, where = await _ahead(ctx)
    assert ctx.prefs is not None
    if not session_calendar.wants_reminders(ctx.prefs):
        raise Discard("not_wanted")
    target = ctx.to
    _ = ctx.t(target.language)
    prompt = sessions.referrer_reminder(_when(ctx, meeting, target.language), where, _)
    return Rendered(ctx.targets, ctx.discreet(prompt, target))
