"""A professional turns off their updates about a referral they made (issue #13 item 4): one
press on the "received" update (``pu:off:<reference>``). Checked when pressed: the presser is
the one who made that referral; then no "contacted" update is queued, audited (no content)."""

from __future__ import annotations

import logging

from bot.delivery import kinds
from bot.services.base import ServiceFlow
from bot.services.casework import Actor
from bot.services.reply import Reply
from conversations import referring, screens

log = logging.getLogger("peerdoor.referring")


class ProUpdatesFlow(ServiceFlow):
    async def press(self, who: Actor, data: str | None, update_id: int) -> Reply:
        async with self.store.unit() as uow:
            me = await uow.people.find(who.telegram_id)
            _ = self._t(await self.language_for(uow, me, who))
            reference = referring.parse_updates_off(data)
            referral = await uow.referrals.by_reference(reference) if reference else None
            made = await uow.referrals.referrer(referral) if referral is not None else None
            now = self.clock()
            if me is None or referral is None or made is None or made[0] != me.id:
                if me is not None:
                    await uow.audit.record(me, "refused:pro_updates_off", now)
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            if await uow.referrals.stop_updates(referral, me):
                await uow.outbox.drop(kinds.PRO_UPDATE, referral)  # one not sent yet goes too
                await uow.audit.record(me, "pro_updates:off", now, reference=referral.reference)
                log.info("pro_updates.off ref=%s", referral.reference)
        return Reply(replace=referring.updates_stopped(referral.reference, _))
