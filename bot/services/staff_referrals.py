"""A coordinator acting for someone without Telegram (issue 13): /newreferral <programme> (how
the person agreed, then the programme's form on their behalf, sent by bot/services/referring.py
``phone``), /persondata REF (their /mydata copy, to send by post) and /erase REF (everything,
after a confirm press), on the person's request. Each is audited; each is refused kindly to
anyone who is not a coordinator of the programme, and outside a private chat.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from bot.delivery.kinds import WITHDRAWN
from bot.services import groups, preferences
from bot.services.casework import Actor
from bot.services.mydata import MyData
from bot.services.reply import Clock, File, Reply
from bot.services.revocation import has_role
from conversations import callbacks, mydata, referring, screens
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.intake import Intake
from storage import Person, Referral, Store, Unit

log = logging.getLogger("peerdoor.referring")


class StaffReferrals:
    """/newreferral, /persondata and /erase: a coordinator acting for someone without Telegram."""

    def __init__(
        self, store: Store, intake: Intake, clock: Clock, wake: Callable[[], None] = lambda: None
    ) -> None:
        self.store, self.intake, self.clock, self.wake = store, intake, clock, wake

    async def new_referral(self, who: Actor, arg: str, update_id: int) -> Reply:
        """/newreferral <programme>: how the person agreed, before the form. Nothing stored."""
        _ = self._t(who)
        config = self.intake.config
        if not who.private:
            return Reply([referring.only_private(_)])
        programme = config.programme(arg.strip()) if arg.strip() else None
        async with self.store.unit() as uow:
            mine = [p.id for p in config.programmes if await self._coordinates(uow, who, p)]
            if not mine:
                return Reply([referring.only_coordinators(_)])
            if programme is None:
                return Reply([referring.newreferral_usage(mine, _)])
            if programme.id not in mine:
                return Reply([referring.only_coordinators(_)])
            # the screen takes a number on the coordinator's counter: once the form they start
            # from it shows its first question, a press on it is stale
            person = await uow.people.find(who.telegram_id)
            person = person or await uow.people.create(who.telegram_id, self.clock())
            state = await uow.dialogs.load(person)
            state.screens = state.next_screen
            await uow.dialogs.save(person, state, self.clock(), form_changed=False)
        return Reply([referring.how_agreed(programme, _, state.screens)])

    async def press(self, who: Actor, data: str | None, update_id: int) -> Reply:
        """A press on "How did they agree?": the form begins (for the person, by phone)."""
        _ = self._t(who)
        found = callbacks.parse(data)
        if not isinstance(found, callbacks.StaffReferralPress) or not who.private:
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        if found.action == "erase":
            return await self.erase(who, found.arg, update_id)
        programme = self.intake.config.programme(found.arg)
        async with self.store.unit() as uow:
            if programme is None or not await self._coordinates(uow, who, programme):
                await self._refused(uow, who, "newreferral")
                return Reply([referring.only_coordinators(_)])
            if found.action == "no":
                return Reply([referring.not_taken(_)])
            if found.action not in referring.AGREED_BY:
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            person = await uow.people.find(who.telegram_id)
            person = person or await uow.people.create(who.telegram_id, self.clock())
            if found.screen and found.screen != (await uow.dialogs.load(person)).screens:
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            if await uow.drafts.load(person) is not None:
                return Reply([referring.form_in_progress(_)])
            language = self._language(who, programme)
            context = {
                "agreed": found.action,
                "notice": programme.privacy_version,
                "by": who.first_name[:40],
            }
            counted = (await uow.dialogs.load(person)).screens
            outcome = self.intake.begin(
                programme, language, purpose="phone", context=context, counted=counted
            )
            assert outcome.draft is not None
            screen = outcome.draft.screen  # the person's one counter moves to it
            await uow.drafts.save(
                person, outcome.draft.to_bytes(), self.clock(), programme.id, screen
            )
            await uow.audit.record(person, "phone_referral_begun", self.clock())
        log.info("referral.phone_begun")
        return Reply(outcome.prompts)

    async def person_data(self, who: Actor, code: str, update_id: int) -> Reply:
        """/persondata REF: the /mydata copy of a person without Telegram, to send them by post."""
        _ = self._t(who)
        now = self.clock()
        async with self.store.unit() as uow:
            first_time = await uow.updates.claim(update_id, now)
            found = await self._offline_case(uow, who, code, "persondata", _)
            if isinstance(found, Reply):
                return found
            _referral, owner, coordinator = found
            language = (await preferences.load(uow, owner)).language or "en"
            holding = await MyData(self.store, self.intake, self.clock).holding(
                uow, owner, language
            )
            if first_time:
                for copy in holding.referrals:
                    await uow.audit.record(
                        coordinator, "export_for_person", now, reference=copy.reference
                    )
        their = self.intake.translator(holding.language)
        blob = json.dumps(mydata.as_data(holding, now, their), ensure_ascii=False, indent=2)
        log.info("person.exported_by_coordinator")
        reply = Reply(mydata.summary(holding, their), protect=True)
        reply.files.append(File(blob.encode(), mydata.filename(holding, now), ""))
        return reply

    async def erase_request(self, who: Actor, code: str, update_id: int) -> Reply:
        """/erase REF: ask before erasing a person without Telegram, on their request."""
        _ = self._t(who)
        async with self.store.unit() as uow:
            found = await self._offline_case(uow, who, code, "erase", _)
            if isinstance(found, Reply):
                return found
            referral = found[0]
        return Reply([referring.confirm_erase(referral.reference, _)])

    async def erase(self, who: Actor, code: str, update_id: int) -> Reply:
        """The confirm press: the person, their referrals and everything of theirs go."""
        _ = self._t(who)
        now = self.clock()
        async with self.store.unit() as uow:
            found = await self._offline_case(uow, who, code, "erase", _)
            if isinstance(found, Reply):
                return found
            referral, owner, coordinator = found
            for held in await uow.referrals.for_person(owner):
                await uow.audit.record(
                    coordinator, "erased_on_request", now, reference=held.reference
                )
                if held.holder_id is not None and held.holder_id != coordinator.id:
                    holder = await uow.people.get(held.holder_id)
                    if holder is not None:
                        payload = json.dumps({"reference": held.reference}).encode()
                        await uow.outbox.add(
                            WITHDRAWN, recipient=holder, due_at=now, now=now, payload=payload
                        )
            freed = await groups.places_held(uow, owner)
            await uow.people.erase(owner)
            await groups.refill(uow, freed, now)  # a place they held: the next in line
        self.wake()
        log.info("person.erased_by_coordinator")
        return Reply([referring.erased(referral.reference, _)])

    async def _offline_case(
        self, uow: Unit, who: Actor, code: str, what: str, _: Translate
    ) -> tuple[Referral, Person, Person] | Reply:
        """The referral REF of a person without Telegram, if ``who`` coordinates its programme
        (else a kind refusal, audited): (referral, its person, the coordinator)."""
        if not who.private:
            return Reply([referring.only_private(_)])
        referral = await uow.referrals.by_reference(code.strip()) if code.strip() else None
        programme = (
            self.intake.config.programme(await uow.referrals.programme_id(referral))
            if referral is not None
            else None
        )
        if referral is None or programme is None:
            return Reply([referring.no_such_referral(_)])
        if not await self._coordinates(uow, who, programme):
            await self._refused(uow, who, what, referral.reference)
            return Reply([referring.only_coordinators(_)])
        owner = await uow.people.get(referral.person_id)
        if owner is None:
            return Reply([referring.no_such_referral(_)])
        coordinator = await uow.people.find(who.telegram_id)
        coordinator = coordinator or await uow.people.create(who.telegram_id, self.clock())
        if await uow.people.has_telegram(owner):
            return Reply([referring.has_telegram(_)])
        return referral, owner, coordinator

    async def _coordinates(self, uow: Unit, who: Actor, programme: Programme) -> bool:
        if who.telegram_id in programme.coordinators:
            return True
        person = await uow.people.find(who.telegram_id)
        return person is not None and await has_role(
            uow, self.intake.config, person, "coordinator", programme.id
        )

    async def _refused(
        self, uow: Unit, who: Actor, what: str, reference: str | None = None
    ) -> None:
        person = await uow.people.find(who.telegram_id)
        await uow.audit.record(person, f"refused:{what}", self.clock(), reference=reference)
        log.warning("referring.refused what=%s", what)

    def _language(self, who: Actor, programme: Programme) -> str:
        return self.intake.catalog.best_language(who.language_code, programme.languages)

    def _t(self, who: Actor) -> Translate:
        catalog = self.intake.catalog
        return catalog.translator(
            catalog.best_language(who.language_code, list(catalog.languages))
        )
