"""Check-ins for a person: /stop, resuming, and the mark on people who blocked the bot.

The calendar itself (which rows, when) is bot.delivery.calendar; rendering is
bot.delivery.dispatch.
"""

from __future__ import annotations

import logging
from functools import cached_property

from bot.delivery import kinds
from bot.delivery.calendar import arm_person, disarm_person
from bot.services import preferences
from bot.services.base import ServiceFlow
from bot.services.reply import Reply, Sender
from conversations import checkins
from conversations.i18n import Translate
from conversations.preferences import Preferences
from conversations.prompts import Prompt
from storage import Person, Unit
from storage.outbox import OutboxItem

log = logging.getLogger("peerdoor.checkins")


class CheckinsFlow(ServiceFlow):
    """/stop, resume, and the blocked mark. One transaction per update, like the intake."""

    @cached_property
    def _clear(self) -> set[int]:
        """Telegram ids seen writing since start whose blocked mark is known to be clear: one
        look-up per person per process, not per update. Memory only."""
        return set()

    async def stop(self, who: Sender, update_id: int) -> Reply:
        """/stop: no more check-ins; the consent is withdrawn (recorded with time and version)."""
        async with self.store.unit() as uow:
            await uow.updates.claim(update_id, self.clock())
            person = await uow.people.find(who.telegram_id)
            if person is None:
                return Reply([checkins.stopped(self._t_for(who, None))])
            prefs = await preferences.load(uow, person)
            now = self.clock()
            if prefs.agreed("checkins") or prefs.checkins_stopped_at is None:
                prefs.record("checkins", False, await self._version(uow, person), now)
            prefs.checkins_stopped_at = now
            await preferences.save(uow, person, prefs, now)
            dropped = await disarm_person(uow, person, now)
            await uow.audit.record(person, "choice:checkins", now)
        log.info("checkins.stopped dropped=%d", dropped)
        return Reply([checkins.stopped(self._t_for(who, prefs))])

    async def resume(self, who: Sender, update_id: int) -> Reply:
        """The button under the offer: check-ins again, from the next one due."""
        async with self.store.unit() as uow:
            if not await uow.updates.claim(update_id, self.clock()):
                return Reply(keep_buttons=True)
            person = await uow.people.find(who.telegram_id)
            if person is None:
                return Reply([checkins.stopped(self._t_for(who, None))])
            prefs = await preferences.load(uow, person)
            now = self.clock()
            prefs.record("checkins", True, await self._version(uow, person), now)
            prefs.checkins_stopped_at = None
            prefs.blocked = False
            await preferences.save(uow, person, prefs, now)
            armed = await arm_person(uow, self.config, person, now)
            await uow.audit.record(person, "choice:checkins", now)
        self.wake()
        log.info("checkins.resumed armed=%d", armed)
        return Reply([checkins.resumed(self._t_for(who, prefs))])

    async def offer(self, who: Sender) -> Prompt | None:
        """At /start: after a /stop, kindly offer to resume (once per /start, a button)."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            if person is None:
                return None
            prefs = await preferences.load(uow, person)
            if prefs.checkins_stopped_at is None or prefs.agreed("checkins"):
                return None
            if not await uow.referrals.for_person(person):
                return None
        return checkins.offer_resume(self._t_for(who, prefs))

    async def came_back(self, telegram_id: int) -> None:
        """They wrote, or unblocked the bot: clear the blocked mark and re-arm check-ins."""
        if telegram_id in self._clear:
            return
        async with self.store.unit() as uow:
            person = await uow.people.find(telegram_id)
            if person is not None:
                prefs = await preferences.load(uow, person)
                if prefs.blocked:
                    now = self.clock()
                    prefs.blocked = False
                    await preferences.save(uow, person, prefs, now)
                    await arm_person(uow, self.config, person, now)
                    log.info("person.unblocked")
        self._clear.add(telegram_id)
        self.wake()

    async def left(self, telegram_id: int) -> None:
        """Telegram says they blocked the bot (my_chat_member "kicked")."""
        async with self.store.unit() as uow:
            person = await uow.people.find(telegram_id)
            if person is not None:
                await self._mark(uow, person)
        self._clear.discard(telegram_id)

    async def blocked(self, item: OutboxItem) -> None:
        """The delivery worker gave up on a row with "blocked": mark its recipient."""
        async with self.store.unit() as uow:
            person = await _recipient(uow, item)
            if person is not None:
                await self._mark(uow, person)
                self._clear.discard(await uow.people.telegram_id(person))

    async def _mark(self, uow: Unit, person: Person) -> None:
        prefs = await preferences.load(uow, person)
        if not prefs.blocked:
            prefs.blocked = True
            await preferences.save(uow, person, prefs, self.clock())
            log.info("person.blocked")

    async def _version(self, uow: Unit, person: Person) -> str:
        for referral in await uow.referrals.for_person(person):
            programme = self.config.programme(await uow.referrals.programme_id(referral))
            if programme is not None:
                return programme.privacy_version
        return "1"

    def _t_for(self, who: Sender, prefs: Preferences | None) -> Translate:
        language = prefs.language if prefs is not None else None
        if language is None:
            language = self.catalog.best_language(who.language_code, list(self.catalog.languages))
        return self.catalog.translator(language)


async def _recipient(uow: Unit, item: OutboxItem) -> Person | None:
    """Whose private chat a row was for (None for a group)."""
    if item.kind in kinds.REFERRER_KINDS and item.referral_id is not None:
        referral = await uow.referrals.get(item.referral_id)
        owner = await uow.people.get(referral.person_id) if referral is not None else None
        if owner is None or await uow.people.has_telegram(owner):
            return owner
        return None  # no Telegram: the row was a task for a coordinator, not for them
    if item.recipient_id is not None:
        return await uow.people.get(item.recipient_id)
    if item.kind in (kinds.CONTACT_REMINDER, kinds.URGENT, kinds.TO_HOLDER, kinds.DETAILS):
        referral = await uow.referrals.get(item.referral_id) if item.referral_id else None
        if referral is not None and referral.holder_id is not None:
            return await uow.people.get(referral.holder_id)
    return None
