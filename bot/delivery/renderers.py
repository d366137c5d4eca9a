"""How each kind of outbox row renders, at send time, from what the database holds then.

Outbox rows carry ids and small codes, not message texts: the text is made when it is sent, so a
referral erased in the meantime is simply not mentioned, and nothing rendered rests on disk.
One renderer per kind in bot.delivery.kinds (``RENDERERS``); the recipients are resolved from
the kind's audience before the renderer runs (``ctx.targets``, ``ctx.to``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping

from bot.delivery import (
    calendar,
    group_renderers,
    kinds,
    session_renderers,
    support_views,
    talk_renderers,
)
from bot.delivery.context import Context, Rendered, Target
from bot.delivery.worker import Discard
from bot.services import groups
from bot.services.case_views import case_view, person_language
from conversations import (
    agreement_phone,
    applicants,
    assessment_meeting,
    casework,
    checkins,
    news,
    referring,
    relationship,
    revoking,
    surveys,
)
from conversations.lifecycle import in_queue
from conversations.prompts import Prompt, esc
from storage import Unit

Renderer = Callable[[Context], Awaitable[Rendered | None]]


# -- a referral and its holder ------------------------------------------------------------------


async def notice(ctx: Context) -> Rendered | None:
    """A new referral for the coordinators (again, while nobody claims it); the message is
    kept on the referral, to edit when it is claimed."""
    referral, programme = ctx.referral, ctx.programme
    if referral.holder_id is not None or not in_queue(referral.status):
        return None
    lang = programme.default_language
    reminder = ctx.item.kind == kinds.NOTICE_REMINDER
    prompt = casework.group_notice(
        programme,
        referral.reference,
        referral.submitted_at,
        referral.urgent,
        ctx.now,
        lang,
        ctx.t(lang),
        reminder=reminder,
    )
    prompt = await _with_route(ctx, prompt, lang)
    if reminder:  # and the next one
        every = programme.service_levels.claim_window(referral.urgent)
        await ctx.uow.outbox.add(
            kinds.NOTICE_REMINDER, referral=referral, due_at=ctx.now + every, now=ctx.now
        )

    # the group message, to edit when claimed: recorded with the mark, never after it
    async def keep(uow: Unit, message_id: int) -> object:
        return await uow.referrals.mark(referral, group_message_id=message_id)

    return Rendered(ctx.targets, prompt, keep=keep)


async def _with_route(ctx: Context, prompt: Prompt, lang: str) -> Prompt:
    """A referral made on someone's behalf says so (a workflow fact, no personal detail)."""
    route = ctx.referral.route
    if route == "self":
        return prompt
    by = None
    made = await ctx.uow.referrals.referrer(ctx.referral) if route == "staff" else None
    if made is not None:
        by = str(json.loads(made[1]).get("by") or "") or None
    line = referring.route_line(route, by, ctx.t(lang))
    return Prompt(f"{prompt.text}\n{line}", prompt.buttons) if line else prompt


async def task_for_holder(ctx: Context) -> Rendered | None:
    """A step that would message a person without Telegram: a private task for the holder."""
    assert ctx.task is not None and ctx.task_for
    lang = ctx.task_for[0].language
    task = ctx.task
    if task == "meeting" and assessment_meeting.meeting_of(ctx.item.slot) is not None:
        task = "assessment_meeting"  # the assessment's meeting, not one with a supporter
    prompt = referring.task_for_holder(ctx.referral.reference, task, ctx.t(lang))
    if ctx.task == "agreement" and ctx.programme.agreement is not None:  # to read out, answered
        prompt = agreement_phone.task(ctx.programme, ctx.referral.reference, lang, ctx.t(lang))
    return Rendered(ctx.task_for, prompt)


async def pro_update(ctx: Context) -> Rendered | None:
    """One discreet update for the professional who referred: the reference and one fact."""
    update = str((await ctx.payload()).get("update", ""))
    prompt = referring.update_for_professional(
        ctx.referral.reference, update, ctx.t(ctx.to.language)
    )
    return Rendered(ctx.targets, prompt)


async def contact_reminder(ctx: Context) -> Rendered | None:
    referral = ctx.referral
    if referral.contacted_at is not None or not in_queue(referral.status):
        return None
    return Rendered(
        ctx.targets, casework.contact_reminder(referral.reference, ctx.t(ctx.to.language))
    )


async def details(ctx: Context) -> Rendered | None:
    holder_id = ctx.referral.holder_id
    if holder_id is None or ctx.item.recipient_id != holder_id:
        return None
    view, actions = await case_view(ctx.uow, ctx.config, ctx.referral, holder_id)
    lang = ctx.to.language
    shown = casework.details(view, actions, ctx.now, lang, ctx.t(lang))
    shown = await groups.beside_match(
        ctx.uow, ctx.config, ctx.referral, holder_id, shown, ctx.t(lang)
    )
    return Rendered(ctx.targets, shown)


async def urgent(ctx: Context) -> Rendered | None:
    prompt = casework.urgent_for_holder(ctx.referral.reference, ctx.t(ctx.to.language))
    return Rendered(ctx.targets, prompt)


async def handed_back(ctx: Context) -> Rendered | None:
    """Back in the queue because its holder lost the role: the group may claim it again."""
    referral, programme = ctx.referral, ctx.programme
    if referral.holder_id is not None or referral.status == "closed":
        return None  # claimed again already
    lang = programme.default_language
    return Rendered(
        ctx.targets, revoking.handed_back(programme, referral.reference, lang, ctx.t(lang))
    )


async def reopened(ctx: Context) -> Rendered | None:
    prompt = casework.reopened_for_holder(ctx.referral.reference, ctx.t(ctx.to.language))
    return Rendered(ctx.targets, prompt)


async def to_holder(ctx: Context) -> Rendered | None:
    text = await ctx.entry((await ctx.payload()).get("entry"))
    if text is None:
        return None
    prompt = casework.from_referrer(ctx.referral.reference, text, ctx.t(ctx.to.language))
    return Rendered(ctx.targets, prompt)


async def withdrawn(ctx: Context) -> Rendered | None:
    """The person erased everything: their holder learns the reference, nothing more."""
    reference = str((await ctx.payload()).get("reference", ""))
    return Rendered(ctx.targets, casework.withdrawn(reference, ctx.t(ctx.to.language)))


# -- the referrer -------------------------------------------------------------------------------


async def news_for_referrer(ctx: Context) -> Rendered | None:
    payload, programme, lang = await ctx.payload(), ctx.programme, ctx.to.language
    _ = ctx.t(lang)
    what = payload.get("news")
    prompt: Prompt
    if what == "deferred":
        wanted = payload.get("resources") or []
        chosen = [r for r in programme.signposting if r.id in wanted]
        prompt = news.deferred(programme, chosen, lang, _)
    elif what == "matched":
        prompt = news.matched(programme, lang, _)
        if programme.talk.enabled:  # and how to write to their supporter (issue #15)
            prompt = Prompt(f"{prompt.text}\n\n{esc(relationship.how_to_write(_))}")
    elif what == "closed":
        prompt = news.closed(programme, lang, _)
    else:
        prompt = news.picked_up(programme, lang, _)
    return Rendered(ctx.targets, ctx.discreet(prompt, ctx.to))


async def to_referrer(ctx: Context) -> Rendered | None:
    text = await ctx.entry((await ctx.payload()).get("entry"))
    if text is None:
        return None
    return Rendered(ctx.targets, news.message_from_team(text, ctx.t(ctx.to.language)))


async def checkin(ctx: Context) -> Rendered | None:
    """A check-in while they wait; sending it queues the next one."""
    if not calendar.is_waiting(ctx.referral):
        raise Discard("not_waiting")
    slot = ctx.item.slot
    previous = int(slot[1:]) if slot and slot[1:].isdigit() else 0
    assert ctx.prefs is not None
    await calendar.arm_waiting(ctx.uow, ctx.programme, ctx.referral, ctx.prefs, ctx.now, previous)
    lang = ctx.to.language
    prompt = checkins.waiting(ctx.programme, lang, ctx.t(lang))
    return Rendered(ctx.targets, ctx.discreet(prompt, ctx.to))


async def door_open(ctx: Context) -> Rendered | None:
    """Weeks after a deferral: the door stays open (unless they came back, or it reopened)."""
    latest = await ctx.uow.referrals.for_person(await ctx.owner())
    if ctx.referral.status not in calendar.DEFERRED or latest[0].id != ctx.referral.id:
        raise Discard("not_deferred")
    lang = ctx.to.language
    prompt = checkins.door_open(ctx.programme, lang, ctx.t(lang))
    return Rendered(ctx.targets, ctx.discreet(prompt, ctx.to))


async def feedback(ctx: Context) -> Rendered | None:
    """The person's feedback survey, when support ended."""
    engagement = await ctx.uow.engagements.get(str((await ctx.payload()).get("engagement", "")))
    if engagement is None:
        raise Discard("no_engagement")
    if await ctx.uow.surveys.submitted(engagement.id, "feedback"):
        raise Discard("answered")
    prompt = surveys.invitation(
        ctx.programme, "feedback", engagement.id, ctx.referral.reference, ctx.t(ctx.to.language)
    )
    return Rendered(ctx.targets, ctx.discreet(prompt, ctx.to))


# -- peer support -------------------------------------------------------------------------------


async def handover(ctx: Context) -> Rendered | None:
    found = await support_views.handover(ctx.uow, ctx.item, ctx.referral, ctx.programme, ctx.t)
    if found is None:
        return None
    supporter, lang, prompt = found
    target = Target(await ctx.uow.people.telegram_id(supporter), lang, protect=True)
    return Rendered([target], prompt)


async def offer_answer(ctx: Context) -> Rendered | None:
    t = ctx.t(ctx.to.language)
    said = await support_views.offer_answer(ctx.uow, ctx.item, ctx.referral, t)
    said = await groups.beside_match(
        ctx.uow, ctx.config, ctx.referral, ctx.referral.holder_id, said, t
    )
    return Rendered(ctx.targets, said)


async def closing_report(ctx: Context) -> Rendered | None:
    """The supporter's closing report, when support ended."""
    engagement = await ctx.uow.engagements.get(str((await ctx.payload()).get("engagement", "")))
    if engagement is None:
        raise Discard("no_engagement")
    item, programme = ctx.item, ctx.programme
    supporter = await ctx.uow.people.get(item.recipient_id) if item.recipient_id else None
    if supporter is None or await ctx.uow.surveys.submitted(engagement.id, "closing"):
        raise Discard("answered")
    if not await ctx.uow.roles.has(supporter, "supporter", programme.id):
        raise Discard("not_a_supporter")  # the role was taken away (asked at send time)
    lang = await person_language(ctx.uow, supporter, programme.default_language)
    target = Target(await ctx.uow.people.telegram_id(supporter), lang, protect=True)
    prompt = surveys.invitation(
        programme, "closing", engagement.id, ctx.referral.reference, ctx.t(lang)
    )
    return Rendered([target], prompt)


async def support_ended(ctx: Context) -> Rendered | None:
    prompt = surveys.support_ended_for_holder(ctx.referral.reference, ctx.t(ctx.to.language))
    return Rendered(ctx.targets, prompt)


async def closing_received(ctx: Context) -> Rendered | None:
    prompt = surveys.closing_received(ctx.referral.reference, ctx.t(ctx.to.language))
    return Rendered(ctx.targets, prompt)


async def supporter_welcome(ctx: Context) -> Rendered | None:
    """A volunteer a coordinator made active: welcome, and a way to their profile."""
    programme = ctx.config.programme(str((await ctx.payload()).get("programme", "")))
    if programme is None:
        raise Discard("no_programme")
    target = ctx.to
    return Rendered(
        ctx.targets, applicants.welcome(programme, target.language, ctx.t(target.language))
    )


async def new_applicant(ctx: Context) -> Rendered | None:
    """A coordinator: someone applied to volunteer (the programme only; the rest in private)."""
    programme = ctx.config.programme(str((await ctx.payload()).get("programme", "")))
    if programme is None:
        raise Discard("no_programme")
    target = ctx.to
    return Rendered(
        ctx.targets, applicants.new_applicant(programme, target.language, ctx.t(target.language))
    )


#: One renderer per kind of bot.delivery.kinds.KINDS.
RENDERERS: Mapping[str, Renderer] = {
    kinds.PRO_UPDATE: pro_update,
    kinds.NOTICE: notice,
    kinds.NOTICE_REMINDER: notice,
    kinds.CONTACT_REMINDER: contact_reminder,
    kinds.DETAILS: details,
    kinds.URGENT: urgent,
    kinds.TO_HOLDER: to_holder,
    kinds.WITHDRAWN: withdrawn,
    kinds.REOPENED: reopened,
    kinds.HANDED_BACK: handed_back,
    kinds.NEWS: news_for_referrer,
    kinds.TO_REFERRER: to_referrer,
    kinds.CHECKIN: checkin,
    kinds.DOOR_OPEN: door_open,
    kinds.FEEDBACK: feedback,
    kinds.HANDOVER: handover,
    kinds.OFFER_ANSWER: offer_answer,
    kinds.CLOSING_REPORT: closing_report,
    kinds.SUPPORT_ENDED: support_ended,
    kinds.CLOSING_RECEIVED: closing_received,
    kinds.SUPPORTER_WELCOME: supporter_welcome,
    kinds.NEW_APPLICANT: new_applicant,
    **session_renderers.RENDERERS,
    **talk_renderers.RENDERERS,
    **group_renderers.RENDERERS,
}
