"""Sending a session's outbox rows: reminders (the supporter's with a calendar file), the log,
the person's news, and a concern for the coordinator.

Rendered at send time from what the database holds, like every outbox row: a session cancelled,
logged or past, or an engagement that ended, is not mentioned (the row is discarded). The
supporter's reminder carries an .ics with a neutral title; the person gets none (see
``_referrer_reminder``). Messages about a referral to a supporter or coordinator are protected
from forwarding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from telegram import Bot, InputFile
from telegram.constants import ParseMode

from bot.delivery import kinds, session_calendar
from bot.delivery.worker import Discard, Sent
from bot.services import preferences
from bot.services.case_views import person_language
from bot.telegram.render import keyboard
from bot.telegram.replies import send_prompt
from conversations import session_times, sessions
from conversations.forms import Programme
from conversations.prompts import Prompt
from conversations.sessions import Where
from storage import Engagement, Person, Referral, Session, Unit
from storage.outbox import OutboxItem

if TYPE_CHECKING:
    from bot.delivery.dispatch import Dispatcher

ICS_NAME = "meeting.ics"


@dataclass(frozen=True)
class Outgoing:
    chat_ids: list[int]
    prompt: Prompt
    protect: bool = False
    silent: bool = False
    calendar: bytes | None = None  # an .ics, sent as a document with the prompt as caption

    async def send(self, bot: Bot) -> int | None:
        first: int | None = None
        for chat_id in self.chat_ids:
            if self.calendar is None:
                sent_id = await send_prompt(
                    bot, chat_id, self.prompt, self.protect, silent=self.silent
                )
            else:
                message = await bot.send_document(
                    chat_id,
                    InputFile(self.calendar, filename=ICS_NAME),
                    caption=self.prompt.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(self.prompt.buttons),
                    protect_content=self.protect,
                    disable_notification=self.silent,
                )
                sent_id = message.message_id
            first = first if first is not None else sent_id
        return first if len(self.chat_ids) == 1 else None


@dataclass(frozen=True)
class About:
    """The session a row is about, and what it belongs to."""

    session: Session
    engagement: Engagement
    referral: Referral
    programme: Programme
    slot: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.programme.timezone)


class SessionDelivery:
    def __init__(self, dispatcher: Dispatcher) -> None:
        self.d = dispatcher

    async def __call__(self, item: OutboxItem) -> Sent | None:
        from bot.delivery.dispatch import _when  # dispatch imports this module

        async with self.d.store.unit() as uow:
            referral = await uow.referrals.get(item.referral_id) if item.referral_id else None
            if referral is None:
                return None
            programme = self.d.config.programme(await uow.referrals.programme_id(referral))
            if programme is None:
                return None
            now = self.d.clock()
            _when(item, programme, now)
            outgoing = await self._render(uow, item, referral, programme, now)
        if outgoing is None:
            return None
        return Sent(await outgoing.send(self.d.bot))

    async def _render(
        self, uow: Unit, item: OutboxItem, referral: Referral, programme: Programme, now: datetime
    ) -> Outgoing | None:
        if item.kind == kinds.CONCERN_NOTE:  # no slot: the note is an entry of the thread
            payload = json.loads(await uow.outbox.payload(item) or b"{}")
            return await self._for_coordinators(uow, referral, programme, payload.get("entry"))
        about = await self._about(uow, item, referral, programme)
        if item.kind == kinds.CONCERN:
            return await self._for_coordinators(uow, referral, programme, None)
        if item.kind == kinds.SESSION_NEWS and about.slot.endswith(":x"):
            return await self._time_off(uow, about)
        # Everything else is about a session still to come (or, for the log, just gone).
        if about.engagement.status != "accepted":
            raise Discard("ended")
        if about.session.cancelled_at is not None:
            raise Discard("cancelled")
        if about.session.outcome is not None:
            raise Discard("logged")
        if item.kind == kinds.SESSION_LOG:
            return await self._log(uow, about)
        if about.session.starts_at <= now:
            raise Discard("late")  # its moment has passed (the bot was down): never late
        if item.kind == kinds.SESSION_REMINDER:
            return await self._supporter_reminder(uow, about, now)
        if item.kind == kinds.SESSION_REMINDER_REFERRER:
            return await self._referrer_reminder(uow, about)
        if item.kind == kinds.SESSION_NEWS:
            return await self._time_set(uow, about)
        if item.kind == kinds.SESSION_PLANNED:
            return await self._planned(uow, about)
        raise Discard("unknown")

    async def _about(
        self, uow: Unit, item: OutboxItem, referral: Referral, programme: Programme
    ) -> About:
        slot = item.slot or ""
        head = slot.split(":")[0]
        session = await uow.sessions.get(int(head)) if head.isdigit() else None
        engagement = await uow.engagements.get(session.engagement_id) if session else None
        if session is None or engagement is None or engagement.referral_id != referral.id:
            raise Discard("gone")
        return About(session, engagement, referral, programme, slot)

    # -- the supporter --------------------------------------------------------------------------

    async def _supporter(self, uow: Unit, about: About) -> tuple[Person, int, str]:
        supporter_id = about.engagement.supporter_id
        person = await uow.people.get(supporter_id) if supporter_id else None
        if person is None:
            raise Discard("no_supporter")
        if not await uow.roles.has(person, "supporter", about.programme.id):
            raise Discard("not_a_supporter")  # the role was taken away (asked at send time)
        lang = await person_language(uow, person, about.programme.default_language)
        return person, await uow.people.telegram_id(person), lang

    async def _where(self, uow: Unit, about: About) -> Where:
        return Where.from_bytes(await uow.sessions.place(about.session, about.referral))

    async def _supporter_reminder(self, uow: Unit, about: About, now: datetime) -> Outgoing:
        _person, chat, lang = await self._supporter(uow, about)
        _ = self.d.catalog.translator(lang)
        where = await self._where(uow, about)
        when = sessions.when_text(about.session.starts_at, about.zone, lang, _)
        ics = session_times.calendar_file(
            uid=f"session-{about.session.id}-{about.engagement.id}@peerdoor",
            starts_at=about.session.starts_at,
            minutes=about.programme.sessions.length_minutes,
            summary=sessions.calendar_summary(_),
            location=None if where.online else where.place,
            now=now,
        )
        prompt = sessions.supporter_reminder(
            about.session.id, about.referral.reference, when, where, _
        )
        return Outgoing([chat], prompt, protect=True, calendar=ics)

    async def _log(self, uow: Unit, about: About) -> Outgoing:
        _person, chat, lang = await self._supporter(uow, about)
        _ = self.d.catalog.translator(lang)
        when = sessions.when_text(about.session.starts_at, about.zone, lang, _)
        prompt = sessions.ask_log(about.session.id, about.referral.reference, when, _)
        return Outgoing([chat], prompt, protect=True)

    async def _planned(self, uow: Unit, about: About) -> Outgoing:
        _person, chat, lang = await self._supporter(uow, about)
        _ = self.d.catalog.translator(lang)
        when = sessions.when_text(about.session.starts_at, about.zone, lang, _)
        where = await self._where(uow, about)
        prompt = sessions.planned_for_supporter(
            about.session.id, about.referral.reference, when, where, _
        )
        return Outgoing([chat], prompt, protect=True)

    # -- the person -----------------------------------------------------------------------------

    async def _time_set(self, uow: Unit, about: About) -> Outgoing:
        target = await self.d._referrer(uow, about.referral, about.programme)
        _ = self.d.catalog.translator(target.language)
        owner = await self._owner(uow, about.referral)
        asked = session_calendar.wants_reminders(await preferences.load(uow, owner))
        when = sessions.when_text(about.session.starts_at, about.zone, target.language, _)
        where = await self._where(uow, about)
        prompt = sessions.time_set(about.session.id, when, where, asked, _)
        prompt = self.d._discreet(prompt, about.programme, target)
        return Outgoing([target.chat_id], prompt, silent=target.silent)

    async def _time_off(self, uow: Unit, about: About) -> Outgoing:
        target = await self.d._referrer(uow, about.referral, about.programme)
        _ = self.d.catalog.translator(target.language)
        when = sessions.when_text(about.session.starts_at, about.zone, target.language, _)
        prompt = self.d._discreet(sessions.time_off(when, _), about.programme, target)
        return Outgoing([target.chat_id], prompt, silent=target.silent)

    async def _referrer_reminder(self, uow: Unit, about: About) -> Outgoing:
        """No calendar file for the person: a file in their chat is one more thing someone
        else may open, and one tap would put it in a calendar that others may see (a shared
        family calendar, a work phone). The reminder itself is short and discreet."""
        target = await self.d._referrer(uow, about.referral, about.programme)
        prefs = await self.d._consenting(uow, about.referral)
        if not session_calendar.wants_reminders(prefs):
            raise Discard("not_wanted")
        _ = self.d.catalog.translator(target.language)
        when = sessions.when_text(about.session.starts_at, about.zone, target.language, _)
        where = await self._where(uow, about)
        prompt = self.d._discreet(
            sessions.referrer_reminder(when, where, _), about.programme, target
        )
        return Outgoing([target.chat_id], prompt, silent=target.silent)

    async def _owner(self, uow: Unit, referral: Referral) -> Person:
        person = await uow.people.get(referral.person_id)
        assert person is not None  # a referral is erased with its person
        return person

    # -- the coordinator ------------------------------------------------------------------------

    async def _for_coordinators(
        self, uow: Unit, referral: Referral, programme: Programme, entry: object
    ) -> Outgoing:
        """A concern (the reference only), or the supporter's note, to the holder; with nobody
        holding the referral, to each coordinator's private chat (never a group)."""
        holder = await self.d._holder(uow, referral)
        if holder is not None:
            chats, lang = [holder.chat_id], holder.language
        else:
            chats, lang = await self._coordinator_chats(uow, programme)
        if not chats:
            raise Discard("no_coordinator")
        _ = self.d.catalog.translator(lang)
        if entry is None:
            prompt = sessions.concern_for_holder(referral.reference, _)
        else:
            found = next((e for e in await uow.thread.list(referral) if e.id == entry), None)
            if found is None:
                raise Discard("gone")
            prompt = sessions.note_for_holder(referral.reference, found.body.decode(), _)
        return Outgoing(chats, prompt, protect=True)

    async def _coordinator_chats(self, uow: Unit, programme: Programme) -> tuple[list[int], str]:
        ids = set(programme.coordinators)
        for person in await uow.roles.holders("coordinator", programme.id):
            ids.add(await uow.people.telegram_id(person))
        return sorted(ids), programme.default_language
