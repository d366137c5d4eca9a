"""Rendering outbox rows into Telegram messages, from what the database holds at send time.

Outbox rows carry ids and small codes, not message texts: the text is made when it is sent, so a
referral erased in the meantime is simply not mentioned, and nothing rendered rests on disk.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Bot

from bot.delivery import calendar, support_views
from bot.delivery.kinds import (
    NOTICE,
    NOTICE_REMINDER,
    SESSION_KINDS,
    TO_REFERRER,
    WITHDRAWN,
    timing,
)
from bot.delivery.session_delivery import SessionDelivery
from bot.delivery.worker import Discard, Postponed, Sent
from bot.services import preferences, surveys
from bot.services.case_views import case_view, person_language
from bot.telegram.replies import send_prompt
from conversations import casework, checkins, news, scheduling
from conversations.forms import Programme, ServiceConfig
from conversations.i18n import Catalog, Translate
from conversations.lifecycle import in_queue
from conversations.preferences import Preferences
from conversations.prompts import Prompt, esc
from storage import Person, Referral, Store, Unit
from storage.outbox import OutboxItem

log = logging.getLogger("peerdoor.delivery")


@dataclass(frozen=True)
class Target:
    chat_id: int
    language: str
    protect: bool = False
    silent: bool = False
    discreet: bool = True


class Dispatcher:
    def __init__(
        self,
        config: ServiceConfig,
        catalog: Catalog,
        store: Store,
        bot: Bot,
        clock: Callable[[], datetime],
    ) -> None:
        self.config, self.catalog, self.store, self.bot, self.clock = (
            config,
            catalog,
            store,
            bot,
            clock,
        )

    async def __call__(self, item: OutboxItem) -> Sent | None:
        if item.kind == WITHDRAWN:
            return await self._withdrawn(item)
        if item.kind in SESSION_KINDS:  # reminders with a calendar file, logs, concerns
            return await SessionDelivery(self)(item)
        async with self.store.unit() as uow:
            referral = await uow.referrals.get(item.referral_id) if item.referral_id else None
            if referral is None:
                return None
            programme = self.config.programme(await uow.referrals.programme_id(referral))
            if programme is None:
                return None
            _when(item, programme, self.clock())
            made = await self._render(uow, item, referral, programme)
        if made is None:
            return None
        targets, prompt = made
        first: int | None = None
        for target in targets:
            sent_id = await send_prompt(
                self.bot, target.chat_id, prompt, target.protect, silent=target.silent
            )
            first = first if first is not None else sent_id
        only = first if len(targets) == 1 else None
        if item.kind in (NOTICE, NOTICE_REMINDER) and only is not None:
            group_message = only

            # the group message, to edit when claimed: recorded with the mark, never after it
            async def record(uow: Unit) -> object:
                return await uow.referrals.mark(referral, group_message_id=group_message)

            return Sent(only, record)
        return Sent(only)

    async def _render(
        self, uow: Unit, item: OutboxItem, referral: Referral, programme: Programme
    ) -> tuple[list[Target], Prompt] | None:
        now = self.clock()
        match item.kind:
            case "notice" | "notice_reminder":
                if referral.holder_id is not None or not in_queue(referral.status):
                    return None
                lang = programme.default_language
                prompt = casework.group_notice(
                    programme,
                    referral.reference,
                    referral.submitted_at,
                    referral.urgent,
                    now,
                    lang,
                    self._t(lang),
                    reminder=item.kind == NOTICE_REMINDER,
                )
                if item.kind == NOTICE_REMINDER:
                    await self._next_reminder(uow, referral, programme)
                return await self._coordinators(uow, programme), prompt
            case "contact_reminder":
                holder = await self._holder(uow, referral)
                if (
                    holder is None
                    or referral.contacted_at is not None
                    or not in_queue(referral.status)
                ):
                    return None
                return [holder], casework.contact_reminder(
                    referral.reference, self._t(holder.language)
                )
            case "details":
                holder = await self._holder(uow, referral)
                holder_id = referral.holder_id
                if holder is None or holder_id is None or item.recipient_id != holder_id:
                    return None
                view, actions = await case_view(uow, self.config, referral, holder_id)
                return [holder], casework.details(
                    view, actions, now, holder.language, self._t(holder.language)
                )
            case "urgent":
                holder = await self._holder(uow, referral)
                if holder is None:
                    return None
                return [holder], casework.urgent_for_holder(
                    referral.reference, self._t(holder.language)
                )
            case "news":
                person = await self._referrer(uow, referral, programme)
                payload = json.loads(await uow.outbox.payload(item) or b"{}")
                prompt = self._news(payload, programme, person.language)
                if not person.discreet:  # they chose plain messages: say who it is from
                    name = programme.text(programme.name, person.language)
                    prompt = Prompt(f"{esc(name)}\n\n{prompt.text}", prompt.buttons)
                return [person], prompt
            case "to_referrer" | "to_holder":
                payload = json.loads(await uow.outbox.payload(item) or b"{}")
                entry = next(
                    (e for e in await uow.thread.list(referral) if e.id == payload.get("entry")),
                    None,
                )
                if entry is None:
                    return None
                text = entry.body.decode()
                if item.kind == TO_REFERRER:
                    person = await self._referrer(uow, referral, programme)
                    return [person], news.message_from_team(text, self._t(person.language))
                holder = await self._holder(uow, referral)
                if holder is None:
                    return None
                return [holder], casework.from_referrer(
                    referral.reference, text, self._t(holder.language)
                )
            case "checkin":
                person = await self._referrer(uow, referral, programme)
                if not calendar.is_waiting(referral):
                    raise Discard("not_waiting")
                previous = int(item.slot[1:]) if item.slot and item.slot[1:].isdigit() else 0
                prefs = await self._consenting(uow, referral)
                await calendar.arm_waiting(uow, programme, referral, prefs, now, previous)
                return [person], self._discreet(
                    checkins.waiting(programme, person.language, self._t(person.language)),
                    programme,
                    person,
                )
            case "door_open":
                person = await self._referrer(uow, referral, programme)
                await self._consenting(uow, referral)
                latest = await uow.referrals.for_person(await self._owner(uow, referral))
                if referral.status not in calendar.DEFERRED or latest[0].id != referral.id:
                    raise Discard("not_deferred")  # they came back, or it was reopened
                return [person], self._discreet(
                    checkins.door_open(programme, person.language, self._t(person.language)),
                    programme,
                    person,
                )
            case "feedback" | "closing_report" | "support_ended" | "closing_received":
                return await surveys.render(self, uow, item, referral, programme)
            case "handover":
                found = await support_views.handover(uow, item, referral, programme, self._t)
                if found is None:
                    return None
                supporter, lang, prompt = found
                target = Target(await uow.people.telegram_id(supporter), lang, protect=True)
                return [target], prompt
            case "offer_answer":
                holder = await self._holder(uow, referral)
                if holder is None:
                    return None
                prompt = await support_views.offer_answer(
                    uow, item, referral, self._t(holder.language)
                )
                return [holder], prompt
        log.error("delivery.unknown_kind kind=%s", item.kind)
        return None

    async def _owner(self, uow: Unit, referral: Referral) -> Person:
        person = await uow.people.get(referral.person_id)
        assert person is not None  # a referral is erased with its person
        return person

    async def _consenting(self, uow: Unit, referral: Referral) -> Preferences:
        """The referrer's preferences, if they still want check-ins; else the row is dropped."""
        prefs = await preferences.load(uow, await self._owner(uow, referral))
        if not prefs.agreed("checkins"):
            raise Discard("no_consent")
        return prefs

    def _discreet(self, prompt: Prompt, programme: Programme, person: Target) -> Prompt:
        if person.discreet:
            return prompt
        name = programme.text(programme.name, person.language)  # they chose plain messages
        return Prompt(f"{esc(name)}\n\n{prompt.text}", prompt.buttons)

    async def _withdrawn(self, item: OutboxItem) -> Sent | None:
        """The person erased everything: their holder learns the reference, nothing more."""
        async with self.store.unit() as uow:
            person = await uow.people.get(item.recipient_id) if item.recipient_id else None
            if person is None:
                return None
            payload = json.loads(await uow.outbox.payload(item) or b"{}")
            chat = await uow.people.telegram_id(person)
            lang = await person_language(uow, person, "en")
        prompt = casework.withdrawn(str(payload.get("reference", "")), self._t(lang))
        return Sent(await send_prompt(self.bot, chat, prompt, protect=True))

    def _news(self, payload: dict[str, object], programme: Programme, lang: str) -> Prompt:
        _ = self._t(lang)
        what = payload.get("news")
        if what == "deferred":
            wanted = payload.get("resources") or []
            chosen = [r for r in programme.signposting if r.id in wanted]  # type: ignore[operator]
            return news.deferred(programme, chosen, lang, _)
        if what == "matched":
            return news.matched(programme, lang, _)
        if what == "closed":
            return news.closed(programme, lang, _)
        return news.picked_up(programme, lang, _)

    async def _next_reminder(self, uow: Unit, referral: Referral, programme: Programme) -> None:
        every = programme.service_levels.claim_window(referral.urgent)
        await uow.outbox.add(
            NOTICE_REMINDER, referral=referral, due_at=self.clock() + every, now=self.clock()
        )

    async def _coordinators(self, uow: Unit, programme: Programme) -> list[Target]:
        lang = programme.default_language
        if programme.coordinator_chat is not None:
            return [Target(programme.coordinator_chat, lang)]
        ids = set(programme.coordinators)
        for person in await uow.roles.holders("coordinator", programme.id):
            ids.add(await uow.people.telegram_id(person))
        return [Target(i, lang) for i in sorted(ids)]

    async def _holder(self, uow: Unit, referral: Referral) -> Target | None:
        if referral.holder_id is None:
            return None
        person = await uow.people.get(referral.holder_id)
        if person is None:
            return None
        return Target(
            await uow.people.telegram_id(person),
            await person_language(uow, person, "en"),
            protect=True,
        )

    async def _referrer(self, uow: Unit, referral: Referral, programme: Programme) -> Target:
        """The person who sent the referral, unless they paused messages from us."""
        person = await uow.people.get(referral.person_id)
        assert person is not None  # a referral is erased with its person
        prefs = await preferences.load(uow, person)
        if prefs.blocked:
            raise Discard("blocked")  # until they write again
        if prefs.paused(self.clock()):
            assert prefs.paused_until is not None
            raise Postponed(prefs.paused_until)
        return Target(
            await uow.people.telegram_id(person),
            prefs.language or programme.default_language,
            silent=prefs.silent,
            discreet=prefs.discreet,
        )

    def _t(self, lang: str) -> Translate:
        return self.catalog.translator(lang)


def quiet_window(programme: Programme) -> scheduling.QuietWindow | None:
    quiet = programme.quiet_hours
    if quiet is None:
        return None
    return scheduling.QuietWindow(quiet.start.replace(tzinfo=None), quiet.end.replace(tzinfo=None))


def _when(item: OutboxItem, programme: Programme, now: datetime) -> None:
    """Lateness and quiet hours (in the programme's time zone), by the kind's timing: a
    reminder past its moment is dropped; a message in quiet hours waits until they end."""
    verdict = scheduling.plan(
        timing(item.kind),
        item.due_at,
        now,
        ZoneInfo(programme.timezone),
        quiet_window(programme),
    )
    if verdict == "drop":
        raise Discard("late")
    if isinstance(verdict, datetime):
        raise Postponed(verdict)
