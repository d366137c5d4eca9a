"""The coordinator's side of matching: ranked suggestions, what to share, the offer.

Called by CaseworkFlow inside its unit of work once the press passed the rules for "match"
(the coordinator holds the referral; it is contacted, assessing or matched). What the
coordinator is choosing (the suggested supporters, the one picked, the answers ticked to share)
is the coordinator's dialog (conversations/coordinating.py), its state sealed in the "casework"
frame of their dialog stack; callback data carries positions only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.delivery import kinds
from bot.services import agreement_gate as agreements
from bot.services.casework_frame import keep, next_screen
from bot.services.reply import Reply
from bot.services.supporter_records import eligible_supporters
from conversations import coordinating, matching, screens, supporting
from conversations.callbacks import CasePress
from conversations.coordinating import CaseState
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.matching import Candidate, Profile
from storage import Engagement, Person, Referral, Unit

#: Buttons of the match screens; each is checked as the "match" action.
ACTIONS: frozenset[str] = frozenset({"match", "pick", "share", "offer", "unoffer", "matchtext"})


class Matchmaker:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock

    async def act(
        self,
        uow: Unit,
        coordinator: Person,
        referral: Referral,
        programme: Programme,
        press: CasePress,
        lang: str,
        _: Translate,
    ) -> Reply:
        action = press.action
        ctx = coordinating.Context(programme, lang, _, screen=await next_screen(uow, coordinator))
        if action == "matchtext":  # a supporter outside the bot: the coordinator types a name
            return await self._step(
                uow, coordinator, coordinating.ask("match", referral.reference, ctx)
            )
        live = await uow.engagements.live(referral)
        if action == "unoffer":
            return await self._unoffer(uow, coordinator, referral, live, _)
        if live is not None:
            name = await supporter_name(uow, live.supporter_id) or _("(no name)")
            if live.status == "offered":
                return Reply([supporting.offer_waiting(referral.reference, name, _)])
            return Reply([supporting.matched_with(referral.reference, name, _)])
        if action in ("match", "offer"):  # the agreement first, where the programme has one
            waiting = await agreements.gate(uow, coordinator, programme, referral, self.clock(), _)
            if waiting is not None:
                return Reply([waiting], keep_buttons=action == "offer")
        if action == "match":
            return await self._suggest(uow, coordinator, referral, programme, ctx)
        state = CaseState.parse(await uow.dialogs.frame(coordinator, "casework"))
        if state is not None and state.pending == "choose" and action in ("pick", "share"):
            answers = json.loads(await uow.referrals.answers(referral))
            ctx = coordinating.Context(programme, lang, _, answers, ctx.screen)
        outcome = coordinating.choose(state, referral.reference, action, press.arg, ctx)
        if isinstance(outcome.effect, coordinating.Offer):
            refused = await self._offer(uow, coordinator, referral, programme, outcome.effect, _)
            if refused is not None:
                return refused  # the state stays as it was
        return await self._step(uow, coordinator, outcome)

    async def _step(self, uow: Unit, coordinator: Person, outcome: coordinating.Outcome) -> Reply:
        """Store the dialog's new state (or end it); what the coordinator sees."""
        await keep(uow, coordinator, outcome, self.clock())
        return Reply(outcome.prompts, outcome.notice, outcome.replace, outcome.keep_buttons)

    async def _suggest(
        self,
        uow: Unit,
        coordinator: Person,
        referral: Referral,
        programme: Programme,
        ctx: coordinating.Context,
    ) -> Reply:
        """Supporters of the programme who may be matched (a profile, not paused; active,
        trained and checked: bot.services.supporter_records), ranked."""
        found = await eligible_supporters(uow, programme, self._today(programme))
        late = {e.person.id for e in found if e.overdue}
        people = [e.person for e in found if e.person.id != referral.person_id]
        loads = await uow.engagements.load([p.id for p in people])
        declined = {
            e.supporter_id
            for e in await uow.engagements.for_referral(referral)
            if e.status == "declined"
        }
        candidates = [
            Candidate(
                p.id,
                Profile.from_bytes(await uow.supporters.profile(p)),
                loads[p.id],
                p.id in declined,
                overdue=p.id in late,
            )
            for p in people
        ]
        answers = json.loads(await uow.referrals.answers(referral))
        ranked = matching.rank(matching.wish(programme, answers), candidates)
        shown = ranked[: supporting.MAX_SUGGESTIONS]
        await uow.audit.record(
            coordinator, "suggest", self.clock(), reference=referral.reference,
            detail=f"shown:{len(shown)}",
        )  # fmt: skip
        return await self._step(
            uow, coordinator, coordinating.suggested(referral.reference, shown, ctx)
        )

    async def _offer(
        self,
        uow: Unit,
        coordinator: Person,
        referral: Referral,
        programme: Programme,
        offer: coordinating.Offer,
        _: Translate,
    ) -> Reply | None:
        """The hand-over offered to the supporter picked; a Reply when it cannot be."""
        now = self.clock()
        supporter = await uow.people.get(offer.supporter)
        if supporter is None or not await uow.supporters.ready([supporter]):
            return Reply(notice=screens.expired_notice(_))
        still = await eligible_supporters(uow, programme, self._today(programme))
        if supporter.id not in {e.person.id for e in still}:  # training or checks undone
            return Reply(notice=screens.expired_notice(_))
        engagement = await uow.engagements.offer(
            referral, supporter, coordinator, json.dumps(offer.share).encode(), now
        )
        if engagement is None:
            return Reply(notice=_("That is done already."))
        await uow.outbox.add(
            kinds.HANDOVER,
            recipient=supporter,
            referral=referral,
            due_at=now,
            now=now,
            payload=json.dumps({"engagement": engagement.id}).encode(),
        )
        await uow.audit.record(
            coordinator, "offer", now, reference=referral.reference,
            detail=f"shared:{len(offer.share)}",
        )  # fmt: skip
        return None

    def _today(self, programme: Programme) -> date:
        return self.clock().astimezone(ZoneInfo(programme.timezone)).date()

    async def _unoffer(
        self,
        uow: Unit,
        coordinator: Person,
        referral: Referral,
        live: Engagement | None,
        _: Translate,
    ) -> Reply:
        if live is None or live.status != "offered":
            return Reply(notice=_("That is done already."), keep_buttons=True)
        await uow.engagements.decide(live, "withdrawn", self.clock())
        await uow.audit.record(
            coordinator, "withdraw_offer", self.clock(), reference=referral.reference
        )
        return Reply(replace=supporting.offer_withdrawn(referral.reference, _))


async def supporter_name(uow: Unit, supporter_id: str | None) -> str:
    """How coordinators know a supporter ("" once they are erased or have no name)."""
    person = await uow.people.get(supporter_id) if supporter_id else None
    if person is None:
        return ""
    return Profile.from_bytes(await uow.supporters.profile(person)).name
