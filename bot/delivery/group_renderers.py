"""Rendering a group's outbox rows: the person's invitation (a place, or the waiting list of a
full group), the holder's news of their answer, a member's reminders before a meeting and an
online meeting's link shortly before it.

Rendered at send time from what the database holds: an invitation already answered, or for a
group closed or paused since, is not sent (the row is discarded). The invitation names the
group, when it meets and how (online: the link comes later, privately), never another member.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.delivery import kinds
from bot.delivery.context import Context, Rendered
from bot.delivery.worker import Discard
from bot.services.groups import Details, arm_member, invitation_for, next_meeting_text
from conversations import group_screens, sessions
from storage.groups import Group, Meeting


async def _group(ctx: Context) -> tuple[Group, Details]:
    group_id = (await ctx.payload()).get("group")
    group = await ctx.uow.groups.get(str(group_id)) if group_id else None
    if group is None:
        raise Discard("gone")
    return group, Details.of(group)


async def invite(ctx: Context) -> Rendered | None:
    group, details = await _group(ctx)
    if group.status != "open":
        raise Discard("not_open")
    place = await ctx.uow.groups.place(group.id, ctx.referral.person_id)
    if place is None or place.status not in ("invited", "asked"):
        raise Discard("answered")
    target = ctx.to
    lang = target.language
    _ = ctx.t(lang)
    when = next_meeting_text(details, ctx.programme, ctx.now, lang, _)
    prompt = invitation_for(details, group, ctx.programme, place.status, when, lang, _)
    return Rendered(ctx.targets, ctx.discreet(prompt, target))


async def answer(ctx: Context) -> Rendered | None:
    _group_row, details = await _group(ctx)
    said = (await ctx.payload()).get("answer")
    if said not in ("joined", "waiting", "declined", "left"):
        raise Discard("unknown")
    target = ctx.to
    _ = ctx.t(target.language)
    name = group_screens.name_of(details.group, ctx.programme, target.language)
    prompt = group_screens.answer_for_holder(ctx.referral.reference, name, str(said), _)
    return Rendered(ctx.targets, prompt)


async def _meeting(ctx: Context) -> tuple[Meeting, Group, Details] | None:
    """The meeting a reminder or link is for (slot "<meeting id>[:<n>]"), of a group the person
    is a member of; the member's next meetings are queued too. None (nothing sent, the queueing
    kept) when the meeting was cancelled or has begun."""
    head = (ctx.item.slot or "").split(":")[0]
    meeting = await ctx.uow.groups.get_meeting(int(head)) if head.isdigit() else None
    group = await ctx.uow.groups.get(meeting.group_id) if meeting else None
    if meeting is None or group is None:
        raise Discard("gone")
    place = await ctx.uow.groups.place(group.id, ctx.referral.person_id)
    if place is None or place.status != "member" or group.status != "open":
        raise Discard("not_a_member")
    # whatever happens to this one, the member's next meeting is queued
    await arm_member(ctx.uow, ctx.programme, group, ctx.referral, meeting.starts_at, ctx.now)
    if meeting.state not in ("planned", "moved") or meeting.starts_at <= ctx.now:
        return None
    return meeting, group, Details.of(group)


async def reminder(ctx: Context) -> Rendered | None:
    found = await _meeting(ctx)
    if found is None:
        return None
    meeting, group, details = found
    place = await ctx.uow.groups.place(group.id, ctx.referral.person_id)
    if place is None or not place.reminders:
        return None  # turned off since: nothing sent
    target = ctx.to
    lang = target.language
    _ = ctx.t(lang)
    when = sessions.when_text(meeting.starts_at, ZoneInfo(ctx.programme.timezone), lang, _)
    how = group_screens.how_text(details.group, ctx.programme, lang, _)
    prompt = group_screens.member_reminder(meeting.id, when, how, _)
    return Rendered(ctx.targets, ctx.discreet(prompt, target))


async def link(ctx: Context) -> Rendered | None:
    found = await _meeting(ctx)
    if found is None:
        return None
    meeting, _group, details = found
    if details.group.link is None:
        raise Discard("no_link")
    target = ctx.to
    lang = target.language
    _ = ctx.t(lang)
    when = sessions.when_text(meeting.starts_at, ZoneInfo(ctx.programme.timezone), lang, _)
    prompt = group_screens.meeting_link(when, details.group.link, _)
    return Rendered(ctx.targets, ctx.discreet(prompt, target))


async def change(ctx: Context) -> Rendered | None:
    """A meeting moved or cancelled, to a member at once (still a member: else nothing)."""
    payload = await ctx.payload()
    meeting_id = payload.get("meeting")
    meeting = await ctx.uow.groups.get_meeting(int(meeting_id)) if meeting_id else None
    if meeting is None:
        raise Discard("gone")
    place = await ctx.uow.groups.place(meeting.group_id, ctx.referral.person_id)
    if place is None or place.status != "member":
        raise Discard("not_a_member")
    target = ctx.to
    lang = target.language
    _ = ctx.t(lang)
    zone = ZoneInfo(ctx.programme.timezone)
    old = sessions.when_text(datetime.fromisoformat(str(payload["old"])), zone, lang, _)
    new = payload.get("new")
    new_when = sessions.when_text(datetime.fromisoformat(str(new)), zone, lang, _) if new else None
    prompt = group_screens.meeting_changed(old, new_when, _)
    return Rendered(ctx.targets, ctx.discreet(prompt, target))


async def door(ctx: Context) -> Rendered | None:
    """Missed two meetings in a row, ending with this one: one gentle word (slot "door:<id>")."""
    head = (ctx.item.slot or "").removeprefix("door:")
    meeting = await ctx.uow.groups.get_meeting(int(head)) if head.isdigit() else None
    if meeting is None:
        raise Discard("gone")
    person_id = ctx.referral.person_id
    place = await ctx.uow.groups.place(meeting.group_id, person_id)
    if place is None or place.status != "member":
        raise Discard("not_a_member")
    held = [m for m in await ctx.uow.groups.meetings(meeting.group_id) if m.state == "held"]
    upto = [m for m in held if m.starts_at <= meeting.starts_at]
    if [m.id for m in upto[-1:]] != [meeting.id]:
        raise Discard("not_held")
    marks = [(await ctx.uow.groups.attendance(m.id)).get(person_id, (None, None))[1] for m in upto]
    missed = 0
    for came in reversed(marks):
        if came:
            break
        missed += 1
    if missed != 2:  # once per run of missed meetings: at the second
        raise Discard("not_two_missed")
    target = ctx.to
    _ = ctx.t(target.language)
    return Rendered(ctx.targets, ctx.discreet(group_screens.door_open(_), target))


async def concern(ctx: Context) -> Rendered | None:
    """A facilitator's concern: the reference and the group's name, never more."""
    _group_row, details = await _group(ctx)
    _ = ctx.t(ctx.targets[0].language)
    name = group_screens.name_of(details.group, ctx.programme, ctx.targets[0].language)
    return Rendered(ctx.targets, group_screens.concern_for_holder(ctx.referral.reference, name, _))


async def ended(ctx: Context) -> Rendered | None:
    """The group closed: told to each member and each person waiting (when it closed)."""
    _group_row, details = await _group(ctx)
    target = ctx.to
    _ = ctx.t(target.language)
    name = group_screens.name_of(details.group, ctx.programme, target.language)
    return Rendered(ctx.targets, ctx.discreet(group_screens.group_ended(name, _), target))


RENDERERS: Mapping[str, Callable[[Context], Awaitable[Rendered | None]]] = {
    kinds.GROUP_INVITE: invite,
    kinds.GROUP_ANSWER: answer,
    kinds.GROUP_REMINDER: reminder,
    kinds.GROUP_LINK: link,
    kinds.GROUP_CHANGE: change,
    kinds.GROUP_DOOR: door,
    kinds.GROUP_CONCERN: concern,
    kinds.GROUP_ENDED: ended,
}
