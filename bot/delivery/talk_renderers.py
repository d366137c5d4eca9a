"""How a message between a supporter and the person renders, at send time (issue #15), and
the confidentiality agreement and its answer for the holder.

The row carries the message's id and the engagement's; the text is opened when it is sent. A
message for a supporter who lost the role, or for an engagement that ended or whose messages
were stopped since, is dropped: nothing goes to someone who is no longer on the other side.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from bot.delivery import kinds
from bot.delivery.context import Context, Rendered, Target
from bot.delivery.worker import Discard
from bot.services.case_views import person_language
from conversations import agreement, relationship
from conversations.relationship import Relationship
from storage import Engagement


async def _message(ctx: Context) -> tuple[Engagement, str, int]:
    payload = await ctx.payload()
    engagement = await ctx.uow.engagements.get(str(payload.get("engagement", "")))
    if engagement is None or engagement.referral_id != ctx.referral.id:
        raise Discard("no_engagement")
    if engagement.status != "accepted" or not ctx.programme.talk.enabled:
        raise Discard("ended")
    if await ctx.uow.talk.stopped_by(engagement) is not None:
        raise Discard("stopped")
    number = payload.get("message")
    found = await ctx.uow.talk.get(number, ctx.referral) if isinstance(number, int) else None
    if found is None or found.engagement_id != engagement.id:
        raise Discard("no_message")
    return engagement, found.body.decode(), int(found.holder_reads)


async def to_supporter(ctx: Context) -> Rendered | None:
    engagement, text, holder_reads = await _message(ctx)
    supporter = (
        await ctx.uow.people.get(engagement.supporter_id) if engagement.supporter_id else None
    )
    if supporter is None or not await ctx.uow.roles.has(supporter, "supporter", ctx.programme.id):
        raise Discard("not_a_supporter")  # the role was taken away (asked at send time)
    lang = await person_language(ctx.uow, supporter, ctx.programme.default_language)
    item = Relationship(
        engagement.id, "supporter", ctx.referral.reference, None, bool(holder_reads)
    )
    target = Target(await ctx.uow.people.telegram_id(supporter), lang, protect=True)
    return Rendered([target], relationship.received(item, text, ctx.t(lang)))


async def to_person(ctx: Context) -> Rendered | None:
    engagement, text, holder_reads = await _message(ctx)
    lang = ctx.to.language
    item = Relationship(engagement.id, "person", ctx.referral.reference, None, bool(holder_reads))
    prompt = relationship.received(item, text, ctx.t(lang))
    return Rendered(ctx.targets, ctx.discreet(prompt, ctx.to))


async def _stopped(ctx: Context) -> Engagement:
    """The engagement whose messages were stopped, if they still are (started again in the
    meantime: nothing to tell)."""
    payload = await ctx.payload()
    engagement = await ctx.uow.engagements.get(str(payload.get("engagement", "")))
    if engagement is None or engagement.referral_id != ctx.referral.id:
        raise Discard("no_engagement")
    if engagement.status != "accepted":
        raise Discard("ended")
    if await ctx.uow.talk.stopped_by(engagement) is None:
        raise Discard("restarted")
    return engagement


async def stopped_to_supporter(ctx: Context) -> Rendered | None:
    """The person stopped the messages: their supporter is told, once."""
    engagement = await _stopped(ctx)
    supporter = (
        await ctx.uow.people.get(engagement.supporter_id) if engagement.supporter_id else None
    )
    if supporter is None or not await ctx.uow.roles.has(supporter, "supporter", ctx.programme.id):
        raise Discard("not_a_supporter")
    lang = await person_language(ctx.uow, supporter, ctx.programme.default_language)
    item = Relationship(engagement.id, "supporter", ctx.referral.reference, "person", False)
    target = Target(await ctx.uow.people.telegram_id(supporter), lang, protect=True)
    return Rendered([target], relationship.stopped_by_other(item, ctx.t(lang)))


async def stopped_to_person(ctx: Context) -> Rendered | None:
    """Their supporter stopped the messages: the person is told, once (discreetly)."""
    engagement = await _stopped(ctx)
    lang = ctx.to.language
    item = Relationship(engagement.id, "person", ctx.referral.reference, "supporter", False)
    prompt = relationship.stopped_by_other(item, ctx.t(lang))
    return Rendered(ctx.targets, ctx.discreet(prompt, ctx.to))


async def agreement_ask(ctx: Context) -> Rendered | None:
    """The confidentiality agreement, unless it changed or was accepted in the meantime."""
    terms = ctx.programme.agreement
    version = (await ctx.payload()).get("version")
    if terms is None or version != terms.version:
        raise Discard("changed")
    found = await ctx.uow.agreements.get(ctx.referral, terms.version)
    if found is not None and found.answer == "accepted":
        raise Discard("answered")
    lang = ctx.to.language
    prompt = agreement.ask(ctx.programme, lang, ctx.t(lang))
    return Rendered(ctx.targets, ctx.discreet(prompt, ctx.to))


async def agreement_answer(ctx: Context) -> Rendered | None:
    payload = await ctx.payload()
    news = payload.get("news")
    if news not in ("accepted", "declined", "talk"):
        raise Discard("unknown")
    prompt = agreement.for_holder(
        ctx.referral.reference, news, str(payload.get("version", "")), ctx.t(ctx.to.language)
    )
    return Rendered(ctx.targets, prompt)


async def how_is_it_going(ctx: Context) -> Rendered | None:
    """After the first two meetings: how is it going? (Not once support ended or was answered.)"""
    engagement = await ctx.uow.engagements.get(ctx.item.slot or "")
    if engagement is None or engagement.referral_id != ctx.referral.id:
        raise Discard("no_engagement")
    if engagement.status != "accepted":
        raise Discard("ended")
    if await ctx.uow.checks.answered(engagement) is not None:
        raise Discard("answered")
    prompt = relationship.how_is_it_going(engagement.id, ctx.t(ctx.to.language))
    return Rendered(ctx.targets, ctx.discreet(prompt, ctx.to))


async def change_asked(ctx: Context) -> Rendered | None:
    prompt = relationship.change_for_holder(ctx.referral.reference, ctx.t(ctx.to.language))
    return Rendered(ctx.targets, prompt)


async def missed_twice(ctx: Context) -> Rendered | None:
    prompt = relationship.missed_twice(ctx.referral.reference, ctx.t(ctx.to.language))
    return Rendered(ctx.targets, prompt)


RENDERERS: Mapping[str, Callable[[Context], Awaitable[Rendered | None]]] = {
    kinds.TALK_TO_SUPPORTER: to_supporter,
    kinds.TALK_TO_PERSON: to_person,
    kinds.AGREEMENT: agreement_ask,
    kinds.TALK_STOPPED_SUPPORTER: stopped_to_supporter,
    kinds.TALK_STOPPED_PERSON: stopped_to_person,
    kinds.AGREEMENT_ANSWER: agreement_answer,
    kinds.HOW_IS_IT_GOING: how_is_it_going,
    kinds.CHANGE_ASKED: change_asked,
    kinds.MISSED_TWICE: missed_twice,
}
