"""Rendering a session's outbox rows: reminders (the supporter's with a calendar file), the log,
the person's news, and a concern for the coordinator.

Rendered at send time from what the database holds, like every outbox row: a session cancelled,
logged or past, or an engagement that ended, is not mentioned (the row is discarded). The
supporter's reminder carries an .ics with a neutral title; the person gets none (see
``referrer_reminder``). Messages about a referral to a supporter or coordinator are protected
from forwarding.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.delivery import assessment_meeting_renderers as assessing
from bot.delivery import kinds, session_calendar
from bot.delivery.context import Context, Rendered, Target
from bot.delivery.port import Document
from bot.delivery.worker import Discard
from bot.services.case_views import person_language
from conversations import assessment_meeting, session_times, sessions
from conversations.i18n import Translate
from conversations.sessions import Where
from storage import Engagement, Session

ICS_NAME = "meeting.ics"


@dataclass(frozen=True)
class About:
    """The session a row is about (its slot is "<session id>" or "<session id>:<n>")."""

    session: Session
    engagement: Engagement
    slot: str
    zone: ZoneInfo

    def when(self, language: str, _: Translate) -> str:
        return sessions.when_text(self.session.starts_at, self.zone, language, _)


async def _about(ctx: Context) -> About:
    slot = ctx.item.slot or ""
    head = slot.split(":")[0]
    session = await ctx.uow.sessions.get(int(head)) if head.isdigit() else None
    engagement = await ctx.uow.engagements.get(session.engagement_id) if session else None
    if session is None or engagement is None or engagement.referral_id != ctx.referral.id:
        raise Discard("gone")
    return About(session, engagement, slot, ZoneInfo(ctx.programme.timezone))


async def _ahead(ctx: Context, about: About | None = None, *, log: bool = False) -> About:
    """A session still to come (or, for the log, just gone), of an engagement still on."""
    about = about or await _about(ctx)
    if about.engagement.status != "accepted":
        raise Discard("ended")
    if about.session.cancelled_at is not None:
        raise Discard("cancelled")
    if about.session.outcome is not None:
        raise Discard("logged")
    if not log and about.session.starts_at <= ctx.now:
        raise Discard("late")  # its moment has passed (the bot was down): never late
    return about


async def _where(ctx: Context, about: About) -> Where:
    return Where.from_bytes(await ctx.uow.sessions.place(about.session, ctx.referral))


async def _supporter(ctx: Context, about: About) -> Target:
    supporter_id = about.engagement.supporter_id
    person = await ctx.uow.people.get(supporter_id) if supporter_id else None
    if person is None:
        raise Discard("no_supporter")
    if not await ctx.uow.roles.has(person, "supporter", ctx.programme.id):
        raise Discard("not_a_supporter")  # the role was taken away (asked at send time)
    lang = await person_language(ctx.uow, person, ctx.programme.default_language)
    return Target(await ctx.uow.people.telegram_id(person), lang, protect=True)


# -- the supporter ------------------------------------------------------------------------------


async def supporter_reminder(ctx: Context) -> Rendered | None:
    if assessment_meeting.meeting_of(ctx.item.slot) is not None:  # the holder's, instead
        return await assessing.holder_reminder(ctx)
    about = await _ahead(ctx)
    target = await _supporter(ctx, about)
    _ = ctx.t(target.language)
    where = await _where(ctx, about)
    ics = session_times.calendar_file(
        uid=f"session-{about.session.id}-{about.engagement.id}@peerdoor",
        starts_at=about.session.starts_at,
        minutes=ctx.programme.sessions.length_minutes,
        summary=sessions.calendar_summary(_),
        location=None if where.online else where.place,
        now=ctx.now,
    )
    prompt = sessions.supporter_reminder(
        about.session.id, ctx.referral.reference, about.when(target.language, _), where, _
    )
    return Rendered([target], prompt, document=Document(ics, ICS_NAME))


async def session_log(ctx: Context) -> Rendered | None:
    about = await _ahead(ctx, log=True)
    target = await _supporter(ctx, about)
    _ = ctx.t(target.language)
    when = about.when(target.language, _)
    return Rendered([target], sessions.ask_log(about.session.id, ctx.referral.reference, when, _))


async def planned(ctx: Context) -> Rendered | None:
    about = await _ahead(ctx)
    target = await _supporter(ctx, about)
    _ = ctx.t(target.language)
    when = about.when(target.language, _)
    where = await _where(ctx, about)
    prompt = sessions.planned_for_supporter(
        about.session.id, ctx.referral.reference, when, where, _
    )
    return Rendered([target], prompt)


# -- the person ---------------------------------------------------------------------------------


async def news(ctx: Context) -> Rendered | None:
    """A time is set ("<id>"), or called off ("<id>:x")."""
    if assessment_meeting.meeting_of(ctx.item.slot) is not None:
        return await assessing.news(ctx)
    about = await _about(ctx)
    target = ctx.to
    lang = target.language
    _ = ctx.t(lang)
    if about.slot.endswith(":x"):
        prompt = sessions.time_off(about.when(lang, _), _)
        return Rendered(ctx.targets, ctx.discreet(prompt, target))
    about = await _ahead(ctx, about)
    assert ctx.prefs is not None
    asked = session_calendar.wants_reminders(ctx.prefs)
    where = await _where(ctx, about)
    prompt = sessions.time_set(about.session.id, about.when(lang, _), where, asked, _)
    return Rendered(ctx.targets, ctx.discreet(prompt, target))


async def referrer_reminder(ctx: Context) -> Rendered | None:
    """No calendar file for the person: a file in their chat is one more thing someone else
    may open, and one tap would put it in a calendar that others may see (a shared family
    calendar, a work phone). The reminder itself is short and discreet."""
    if assessment_meeting.meeting_of(ctx.item.slot) is not None:
        return await assessing.referrer_reminder(ctx)
    about = await _ahead(ctx)
    assert ctx.prefs is not None
    if not session_calendar.wants_reminders(ctx.prefs):
        raise Discard("not_wanted")
    target = ctx.to
    _ = ctx.t(target.language)
    where = await _where(ctx, about)
    prompt = sessions.referrer_reminder(about.when(target.language, _), where, _)
    return Rendered(ctx.targets, ctx.discreet(prompt, target))


# -- the coordinator ----------------------------------------------------------------------------


async def concern(ctx: Context) -> Rendered | None:
    """A concern (the reference only) to the holder, else each coordinator."""
    await _about(ctx)
    _ = ctx.t(ctx.targets[0].language)
    return Rendered(ctx.targets, sessions.concern_for_holder(ctx.referral.reference, _))


async def concern_note(ctx: Context) -> Rendered | None:
    """The supporter's note after a concern (no slot: the note is an entry of the thread)."""
    text = await ctx.entry((await ctx.payload()).get("entry"))
    if text is None:
        raise Discard("gone")
    _ = ctx.t(ctx.targets[0].language)
    return Rendered(ctx.targets, sessions.note_for_holder(ctx.referral.reference, text, _))


RENDERERS: Mapping[str, Callable[[Context], Awaitable[Rendered | None]]] = {
    kinds.SESSION_REMINDER: supporter_reminder,
    kinds.SESSION_LOG: session_log,
    kinds.SESSION_PLANNED: planned,
    kinds.SESSION_NEWS: news,
    kinds.SESSION_REMINDER_REFERRER: referrer_reminder,
    kinds.CONCERN: concern,
    kinds.CONCERN_NOTE: concern_note,
}
