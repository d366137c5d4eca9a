"""The relationship looked after (issue #15): after the first two meetings the person is asked,
privately, how it is going; two meetings in a row that did not happen alert the holder; and
coordinators see the answers per supporter once there are at least five.

``after_log`` runs in the transaction of the supporter's session log (bot.services.sessions).
The person's question waits for their feedback consent (the outbox kind's ``consent``): without
it, or withdrawn, it is dropped. "I would like a different supporter" reaches the holder only.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from bot.delivery import kinds
from bot.services.base import ServiceFlow
from bot.services.reply import Reply, Sender
from conversations import relationship, screens
from conversations.forms import Programme
from conversations.matching import Profile
from storage import Person, Referral, Session, Unit
from storage.relationship_checks import ANSWERS

log = logging.getLogger("peerdoor.care")

#: Meetings that took place (a concern logged means it happened and something worried them).
MET = ("happened", "concern")


async def after_log(uow: Unit, session: Session, referral: Referral, now: datetime) -> None:
    """A session was just logged: the second meeting asks the person how it is going; a second
    "did not happen" in a row alerts the holder."""
    engagement = await uow.engagements.get(session.engagement_id)
    if engagement is None:
        return
    logged = [
        s
        for s in await uow.sessions.for_engagement(engagement)
        if s.outcome is not None and s.cancelled_at is None
    ]
    if not logged or logged[-1].id != session.id:
        return  # a late log of an earlier meeting: the latest one decides
    met = [s for s in logged if s.outcome in MET]
    if session.outcome in MET and len(met) == 2 and engagement.status == "accepted":
        await uow.outbox.schedule(
            kinds.HOW_IS_IT_GOING,
            slot=engagement.id,  # once per engagement
            referral=referral,
            due_at=now,
            now=now,
        )
        log.info("care.asked ref=%s", referral.reference)
    outcomes = [s.outcome for s in logged]
    if outcomes[-2:] == ["missed", "missed"] and (len(outcomes) < 3 or outcomes[-3] != "missed"):
        await uow.outbox.add(
            kinds.MISSED_TWICE,
            referral=referral,
            due_at=now,
            now=now,
            payload=json.dumps({"engagement": engagement.id}).encode(),
        )
        await uow.audit.record(None, "care:missed_twice", now, reference=referral.reference)
        log.info("care.missed_twice ref=%s", referral.reference)


class CareFlow(ServiceFlow):
    async def press(self, who: Sender, data: str | None, update_id: int) -> Reply:
        """``h:`` buttons: the person's answer to "how is it going?"."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            _ = self._t(await self.language_for(uow, person, who))
            press = relationship.parse_check(data)
            engagement = await uow.engagements.get(press.engagement) if press else None
            referral = await uow.referrals.get(engagement.referral_id) if engagement else None
            if (
                press is None
                or person is None
                or engagement is None
                or referral is None
                or referral.person_id != person.id
            ):
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            now = self.clock()
            answer = next(a for a in ANSWERS if a == press.answer)
            if not await uow.checks.answer(engagement, answer, now):
                return Reply(notice=_("That is done already."))
            await uow.audit.record(person, f"care:{answer}", now, reference=referral.reference)
            if answer == "change":  # the holder only; the supporter is never told
                await uow.outbox.add(
                    kinds.CHANGE_ASKED,
                    referral=referral,
                    due_at=now,
                    now=now,
                    payload=json.dumps({"engagement": engagement.id}).encode(),
                )
            log.info("care.answered ref=%s", referral.reference)
            reply = Reply(replace=relationship.check_thanks(answer, _))
        self.wake()
        return reply

    async def feedback(self, who: Sender, update_id: int) -> Reply | None:
        """/feedback: for a coordinator, the answers per supporter of their programmes."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            programmes = await self._coordinated(uow, person, who.telegram_id)
            if not programmes:
                return None
            _ = self._t(await self.language_for(uow, person, who))
            supporters: dict[str, Person] = {}
            for programme in programmes:
                for p in await uow.roles.holders("supporter", programme.id):
                    supporters[p.id] = p
            counts = await uow.checks.per_supporter(list(supporters))
            rows = []
            for sid, supporter in supporters.items():
                name = Profile.from_bytes(await uow.supporters.profile(supporter)).name
                rows.append((name or _("(no name)"), counts[sid]))
            rows.sort(key=lambda row: row[0].casefold())
            if person is not None:
                await uow.audit.record(person, "care:feedback_viewed", self.clock())
            return Reply([relationship.feedback_per_supporter(rows, _)], protect=True)

    async def _coordinated(
        self, uow: Unit, person: Person | None, telegram_id: int
    ) -> list[Programme]:
        found = []
        for programme in self.config.programmes:
            if telegram_id in programme.coordinators or (
                person is not None and await uow.roles.has(person, "coordinator", programme.id)
            ):
                found.append(programme)
        return found
