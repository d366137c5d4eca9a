"""The holder records the agreement for someone without Telegram (issue #15 with #13).

A phone or professional referral's person cannot press "Yes, I agree": the agreement becomes a
task for the holder, who reads it out and presses "They agreed on the phone" or "They did not
agree" (``gp:`` buttons). Checked when pressed: a coordinator of the programme who holds the
referral (or anyone of them while nobody does), a person without Telegram, the current
version. The answer is recorded as the person's own would be (same table, same line in the
referral), audited with who recorded it; after a yes Match and the hand-over go ahead.
"""

from __future__ import annotations

import logging

from bot.services.assessment import _coordinates
from bot.services.base import ServiceFlow
from bot.services.casework import Actor
from bot.services.reply import Reply
from conversations import agreement, agreement_phone, screens
from storage import Person, Unit
from storage.agreements import Answer

log = logging.getLogger("peerdoor.agreement")


class PhoneAgreementFlow(ServiceFlow):
    async def press(self, who: Actor, data: str | None, update_id: int) -> Reply:
        async with self.store.unit() as uow:
            me = await uow.people.find(who.telegram_id)
            lang = await self.language_for(uow, me, who)
            _ = self.catalog.translator(lang)
            press = agreement_phone.parse(data)
            if press is None or me is None or not who.private:
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            referral = await uow.referrals.by_reference(press.reference)
            programme = (
                self.config.programme(await uow.referrals.programme_id(referral))
                if referral is not None
                else None
            )
            now = self.clock()
            if (
                referral is None
                or programme is None
                or programme.agreement is None
                or referral.status == "closed"
                or referral.holder_id not in (None, me.id)
                or not await _coordinates(uow, self.config, me, who.telegram_id, programme)
                or await self._has_telegram(uow, referral.person_id)
            ):
                await uow.audit.record(
                    me, "refused:agreement_phone", now, reference=press.reference
                )
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            terms = programme.agreement
            if press.version != terms.version:  # an older text: the new one, to read out
                return Reply(
                    [agreement_phone.task(programme, referral.reference, lang, _)],
                    notice=agreement.changed(_),
                )
            answer: Answer = "accepted" if press.action == "y" else "declined"
            before = await uow.agreements.get(referral, terms.version)
            if before is not None and before.answer == answer:
                return Reply(notice=_("That is done already."))  # a double tap
            await uow.agreements.answer(referral, terms.version, answer, now)
            await uow.audit.record(
                me,
                f"agreement:{answer}",
                now,
                reference=referral.reference,
                detail=f"{terms.version}:phone",
            )
            log.info("agreement.%s ref=%s by=phone", answer, referral.reference)
            told = agreement.for_holder(referral.reference, answer, terms.version, _)
        return Reply(replace=told)

    async def _has_telegram(self, uow: Unit, person_id: str) -> bool:
        person: Person | None = await uow.people.get(person_id)
        return person is None or await uow.people.has_telegram(person)
