"""The coordinator's side of matching: ranked suggestions, what to share, the offer.

Called by CaseworkFlow inside its unit of work once the press passed the rules for "match"
(the coordinator holds the referral; it is contacted, assessing or matched). What the
coordinator is choosing (the suggested supporters, the one picked, the answers ticked to share)
is kept sealed in their staff state; callback data carries positions only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from bot.delivery import kinds
from bot.services import agreement_gate as agreements
from bot.services.reply import Reply
from conversations import callbacks, matching, screens, supporting
from conversations.callbacks import CasePress
from conversations.casework import ask_text
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.matching import Candidate, Profile
from storage import Engagement, Person, Referral, Unit

#: Buttons of the match screens; each is checked as the "match" action.
ACTIONS: frozenset[str] = frozenset({"match", "pick", "share", "offer", "unoffer", "matchtext"})
PENDING = "match:offer"


@dataclass
class Choosing:
    """A coordinator between "Match" and "Send": sealed in their staff state."""

    reference: str
    suggested: list[str] = field(default_factory=list)  # supporter person ids, as shown
    names: list[str] = field(default_factory=list)
    chosen: int = -1
    share: list[str] = field(default_factory=list)  # question ids

    def to_bytes(self) -> bytes:
        return json.dumps({"pending": PENDING, **asdict(self)}).encode()

    @classmethod
    async def load(cls, uow: Unit, person: Person, reference: str) -> Choosing | None:
        raw = await uow.staff.load(person)
        data = json.loads(raw) if raw else {}
        if data.get("pending") != PENDING or data.get("reference") != reference:
            return None
        data.pop("pending")
        return cls(**data)


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
        if action == "matchtext":  # a supporter outside the bot: the coordinator types a name
            await uow.staff.save(
                coordinator,
                json.dumps({"pending": "match", "reference": referral.reference}).encode(),
                self.clock(),
            )
            return Reply([ask_text("match", referral.reference, _)])
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
            return await self._suggest(uow, coordinator, referral, programme, lang, _)
        state = await Choosing.load(uow, coordinator, referral.reference)
        if state is None:
            return Reply(notice=screens.expired_notice(_))
        answers = json.loads(await uow.referrals.answers(referral))
        chosen = callbacks.number(press.arg)
        if action == "pick" and chosen is not None and chosen < len(state.suggested):
            state.chosen = chosen
            state.share = supporting.default_share(programme, answers)
        elif action == "share" and state.chosen >= 0:
            question = supporting.questions_at(programme, press.arg)
            allowed = {q.id for q in supporting.shareable(programme, answers)}
            if question is None or question.id not in allowed:
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            picked = set(state.share) ^ {question.id}
            state.share = [q.id for q in programme.form if q.id in picked]
        elif action == "offer" and state.chosen >= 0:
            return await self._offer(uow, coordinator, referral, state, _)
        else:
            return Reply(notice=screens.expired_notice(_))
        await uow.staff.save(coordinator, state.to_bytes(), self.clock())
        name = state.names[state.chosen] or _("(no name)")
        prompt = supporting.choose_share(
            programme, referral.reference, name, answers, state.share, lang, _
        )
        return Reply(replace=prompt, keep_buttons=True)

    async def _suggest(
        self,
        uow: Unit,
        coordinator: Person,
        referral: Referral,
        programme: Programme,
        lang: str,
        _: Translate,
    ) -> Reply:
        """Supporters of the programme with a profile and not paused, ranked."""
        people = await uow.supporters.ready(await uow.roles.holders("supporter", programme.id))
        people = [p for p in people if p.id != referral.person_id]
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
            )
            for p in people
        ]
        answers = json.loads(await uow.referrals.answers(referral))
        ranked = matching.rank(matching.wish(programme, answers), candidates)
        shown = ranked[: supporting.MAX_SUGGESTIONS]
        state = Choosing(referral.reference, [s.person_id for s in shown], [s.name for s in shown])
        await uow.staff.save(coordinator, state.to_bytes(), self.clock())
        await uow.audit.record(
            coordinator, "suggest", self.clock(), reference=referral.reference,
            detail=f"shown:{len(shown)}",
        )  # fmt: skip
        return Reply([supporting.suggestions(programme, referral.reference, shown, lang, _)])

    async def _offer(
        self, uow: Unit, coordinator: Person, referral: Referral, state: Choosing, _: Translate
    ) -> Reply:
        now = self.clock()
        supporter = await uow.people.get(state.suggested[state.chosen])
        if supporter is None or not await uow.supporters.ready([supporter]):
            return Reply(notice=screens.expired_notice(_))
        engagement = await uow.engagements.offer(
            referral, supporter, coordinator, json.dumps(state.share).encode(), now
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
        await uow.staff.clear(coordinator)
        await uow.audit.record(
            coordinator, "offer", now, reference=referral.reference,
            detail=f"shared:{len(state.share)}",
        )  # fmt: skip
        name = state.names[state.chosen] or _("(no name)")
        return Reply(replace=supporting.offered(referral.reference, name, _))

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
