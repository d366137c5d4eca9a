"""The confidentiality agreement (issue #15): asked before a hand-over, answered in the bot.

When a coordinator taps Match (or sends a hand-over) on a referral whose programme declares an
``agreement`` the person has not accepted in its current version, ``gate`` queues the agreement
for the person and tells the coordinator the hand-over waits. The person's answer is recorded
(version, answer, when; no content) and their holder is told; "I would like to talk about it"
reaches the holder only. A press for an older version shows the new text.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from bot.delivery import kinds
from bot.services.base import ServiceFlow
from bot.services.casework import Actor
from bot.services.reply import Reply
from conversations import agreement, screens
from conversations.agreement import AgreementPress
from conversations.forms import Programme
from conversations.i18n import Translate
from storage import Person, Referral, Unit
from storage.agreements import Answer

log = logging.getLogger("peerdoor.agreement")


class AgreementFlow(ServiceFlow):
    async def press(self, who: Actor, data: str | None, update_id: int) -> Reply:
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            lang = await self.language_for(uow, person, who)
            _ = self.catalog.translator(lang)
            press = agreement.parse(data)
            found = await self._asked(uow, person) if person is not None else None
            if press is None or person is None or found is None or not who.private:
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            referral, programme = found
            reply = await self._answer(uow, person, referral, programme, press, lang, _)
        self.wake()
        return reply

    async def _answer(
        self,
        uow: Unit,
        person: Person,
        referral: Referral,
        programme: Programme,
        press: AgreementPress,
        lang: str,
        _: Translate,
    ) -> Reply:
        terms = programme.agreement
        assert terms is not None
        if press.version != terms.version:  # an older text: the new one, to read again
            return Reply([agreement.ask(programme, lang, _)], notice=agreement.changed(_))
        now = self.clock()
        if press.action == "r":
            return Reply([agreement.ask(programme, lang, _)], keep_buttons=True)
        if press.action == "c":
            await self._tell_holder(uow, referral, "talk", terms.version, now)
            await uow.audit.record(
                person, "agreement:talk", now, reference=referral.reference, detail=terms.version
            )
            return Reply([agreement.coordinator_told(_)], keep_buttons=True)
        answer: Answer = "accepted" if press.action == "y" else "declined"
        before = await uow.agreements.get(referral, terms.version)
        if before is not None and before.answer == answer:
            return Reply(notice=_("That is done already."))  # a double tap
        await uow.agreements.answer(referral, terms.version, answer, now)
        await uow.audit.record(
            person, f"agreement:{answer}", now, reference=referral.reference, detail=terms.version
        )
        await self._tell_holder(uow, referral, answer, terms.version, now)
        log.info("agreement.%s ref=%s", answer, referral.reference)
        if answer == "accepted":
            return Reply(replace=agreement.accepted(_))
        return Reply(replace=agreement.declined(terms.version, _))

    async def _tell_holder(
        self, uow: Unit, referral: Referral, news: str, version: str, now: datetime
    ) -> None:
        await uow.outbox.add(
            kinds.AGREEMENT_ANSWER,
            referral=referral,
            due_at=now,
            now=now,
            payload=json.dumps({"news": news, "version": version}).encode(),
        )

    async def _asked(self, uow: Unit, person: Person) -> tuple[Referral, Programme] | None:
        """The person's open referral whose programme has an agreement (they have one live
        referral at a time)."""
        for referral in await uow.referrals.for_person(person):
            if referral.status == "closed":
                continue
            programme = self.config.programme(await uow.referrals.programme_id(referral))
            if programme is not None and programme.agreement is not None:
                return referral, programme
        return None
