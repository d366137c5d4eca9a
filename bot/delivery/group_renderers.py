"""Rendering a group's outbox rows: the person's invitation (a place, or the waiting list of a
full group) and the holder's news of their answer.

Rendered at send time from what the database holds: an invitation already answered, or for a
group closed or paused since, is not sent (the row is discarded). The invitation names the
group, when it meets and how (online: the link comes later, privately), never another member.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from bot.delivery import kinds
from bot.delivery.context import Context, Rendered
from bot.delivery.worker import Discard
from bot.services.groups import Details, invitation_for, next_meeting_text
from conversations import group_screens
from storage.groups import Group


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


RENDERERS: Mapping[str, Callable[[Context], Awaitable[Rendered | None]]] = {
    kinds.GROUP_INVITE: invite,
    kinds.GROUP_ANSWER: answer,
}
