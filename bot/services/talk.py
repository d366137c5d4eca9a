"""A supporter and the person they support write to each other through the bot (issue #15).

``/talk`` lists the accepted engagements a person is on either side of; "Write a message" opens
the ``"talk"`` frame and what they type is kept (sealed under the person's key, bound to the
engagement) and passed on by the outbox, so neither side ever sees the other's Telegram account.
Either side can stop the messages; the side that stopped them can start them again. A holder
reads them with ``/talk <reference>`` only where the programme says so (``talk.holder_reads``),
and only the messages written while the person was told so.

Every press and every typed message is checked when it arrives: the engagement is accepted, the
presser is its supporter (still holding the role) or the referral's person, the programme lets
them write, and nobody stopped it. Each call is one update in one transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.delivery import kinds
from bot.services.base import ServiceFlow
from bot.services.casework import Actor
from bot.services.reply import Reply
from conversations import engine, relationship, safety, screens
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.prompts import Prompt
from conversations.relationship import Relationship, Side, TalkPress
from storage import Engagement, Person, Referral, Unit
from storage.talk import Direction

log = logging.getLogger("peerdoor.talk")

MarkUrgent = Callable[[Unit, Person, Referral, datetime], Awaitable[None]]


async def _no_urgency(uow: Unit, person: Person, referral: Referral, now: datetime) -> None:
    return None


class TalkFlow(ServiceFlow):
    mark_urgent: MarkUrgent = _no_urgency  # set by the app to casework's (crisis words)

    # -- the entry points ----------------------------------------------------------------------

    async def menu(self, who: Actor, argument: str, update_id: int) -> Reply:
        """/talk: the person's relationships; /talk <reference>: a holder reads the messages."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            lang = await self.language_for(uow, person, who)
            _ = self._t(lang)
            if person is None:
                if argument:
                    return Reply([relationship.not_yours(_)])
                return Reply([relationship.menu([], _)])
            if argument:
                return await self._holder_view(uow, person, who.telegram_id, argument, lang)
            items = []
            for engagement in await self._engagements(uow, person):
                found = await self._relationship(uow, person, engagement)
                if found is not None:
                    items.append(found[0])
            return Reply([relationship.menu(items, _)])

    async def press(self, who: Actor, data: str | None, update_id: int) -> Reply:
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            lang = await self.language_for(uow, person, who)
            _ = self._t(lang)
            press = relationship.parse(data)
            if press is None or person is None or not who.private:
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            reply = await self._press(uow, person, press, _)
        self.wake()
        return reply

    async def typed(self, who: Actor, text: str, update_id: int) -> Reply | None:
        """Typed text while writing is open: passed on; else None (another flow's)."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            if person is None or not who.private:
                return None
            frame = await uow.dialogs.frame(person, "talk")
            if frame is None:
                return None
            engagement_id = str(json.loads(frame).get("engagement", ""))
            lang = await self.language_for(uow, person, who)
            reply = await self._pass_on(uow, person, engagement_id, text.strip(), lang)
        self.wake()
        return reply

    # -- presses ---------------------------------------------------------------------------------

    async def _press(self, uow: Unit, person: Person, press: TalkPress, _: Translate) -> Reply:
        now = self.clock()
        engagement = await uow.engagements.get(press.engagement)
        found = await self._relationship(uow, person, engagement) if engagement else None
        if found is None or engagement is None:
            await uow.audit.record(
                person, f"refused:talk:{press.action}", now, detail="not_theirs"
            )
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        item, referral, _programme = found
        if press.action == "d":
            frame = (await uow.dialogs.load(person)).get("talk")
            showing = frame.screen if frame is not None else 0
            if not engine.is_current("talk", press.version, press.screen, showing):
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            await self._close_frame(uow, person, engagement.id)
            return Reply([relationship.done(item.side, _)], keep_buttons=True)
        if engagement.status != "accepted":
            await self._close_frame(uow, person, engagement.id)
            return Reply([relationship.closed(_)])
        if press.action == "w":
            if item.stopped_by is not None:
                return Reply([relationship.closed(_)])
            screen = await self._writing(uow, person, engagement.id)
            return Reply([relationship.writing(item, _, screen)], keep_buttons=True)
        if press.action == "s":
            if await uow.talk.stop(engagement, item.side, now):
                await uow.audit.record(
                    person, f"talk:stopped:{item.side}", now, reference=referral.reference
                )
                log.info("talk.stopped ref=%s by=%s", referral.reference, item.side)
                await self._tell_other_side(uow, engagement, referral, item.side, now)
            await self._close_frame(uow, person, engagement.id)
            stopped = Relationship(
                item.engagement, item.side, item.reference, item.side, item.holder_reads
            )
            if await uow.talk.stopped_by(engagement) != item.side:  # the other side first
                return Reply([relationship.closed(_)])
            return Reply([relationship.stopped(stopped, _)])
        # "r": only the side that stopped the messages starts them again
        if not await uow.talk.restart(engagement, item.side):
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        await uow.audit.record(
            person, f"talk:restarted:{item.side}", now, reference=referral.reference
        )
        return Reply([relationship.restarted(item, _)])

    async def _tell_other_side(
        self, uow: Unit, engagement: Engagement, referral: Referral, side: Side, now: datetime
    ) -> None:
        """The other side is told once, at once (only the press that stopped them gets here)."""
        kind = kinds.TALK_STOPPED_SUPPORTER if side == "person" else kinds.TALK_STOPPED_PERSON
        await uow.outbox.add(
            kind,
            referral=referral,
            due_at=now,
            now=now,
            payload=json.dumps({"engagement": engagement.id}).encode(),
        )

    # -- typed -----------------------------------------------------------------------------------

    async def _pass_on(
        self, uow: Unit, person: Person, engagement_id: str, text: str, lang: str
    ) -> Reply:
        _ = self._t(lang)
        now = self.clock()
        engagement = await uow.engagements.get(engagement_id) if engagement_id else None
        found = await self._relationship(uow, person, engagement) if engagement else None
        if (
            engagement is None
            or found is None
            or engagement.status != "accepted"
            or found[0].stopped_by is not None
        ):
            await uow.dialogs.end(person, "talk")
            return Reply([relationship.closed(_)])
        item, referral, programme = found
        if not text:
            return Reply(
                [relationship.writing(item, _, await self._writing(uow, person, item.engagement))]
            )
        prompts: list[Prompt] = []
        if item.side == "person" and safety.in_crisis(programme, lang, text):
            prompts.append(safety.crisis_after_form(programme, lang, _))
            await self.mark_urgent(uow, person, referral, now)
        direction: Direction = "to_supporter" if item.side == "person" else "to_person"
        hour_ago = now - timedelta(hours=1)
        if await uow.talk.count_since(engagement, direction, hour_ago) >= (
            self.config.limits.relays_per_hour
        ):
            if not await uow.audit.recorded_since(
                "talk:capped", hour_ago, actor=person, reference=referral.reference
            ):
                await uow.audit.record(person, "talk:capped", now, reference=referral.reference)
            log.info("talk.capped ref=%s", referral.reference)
            return Reply([*prompts, relationship.capped(_)])
        message = await uow.talk.add(
            engagement, referral, direction, text.encode(), programme.talk.holder_reads, now
        )
        kind = kinds.TALK_TO_SUPPORTER if item.side == "person" else kinds.TALK_TO_PERSON
        await uow.outbox.add(
            kind,
            referral=referral,
            due_at=now,
            now=now,
            payload=json.dumps({"message": message, "engagement": engagement.id}).encode(),
        )
        await uow.audit.record(person, f"talk:sent:{item.side}", now, reference=referral.reference)
        log.info("talk.sent ref=%s by=%s", referral.reference, item.side)
        screen = await self._writing(uow, person, engagement.id)
        return Reply([*prompts, relationship.passed_on(item, _, screen)])

    # -- the holder ------------------------------------------------------------------------------

    async def _coordinates(
        self, uow: Unit, person: Person, programme: Programme, telegram_id: int
    ) -> bool:
        """A coordinator of the programme: by the config, or by an invitation."""
        if telegram_id in programme.coordinators:
            return True
        return await uow.roles.has(person, "coordinator", programme.id)

    async def _holder_view(
        self, uow: Unit, person: Person, telegram_id: int, reference: str, lang: str
    ) -> Reply:
        _ = self._t(lang)
        referral = await uow.referrals.by_reference(reference.strip().upper())
        programme = await self._programme(uow, referral)
        if (
            referral is None
            or programme is None
            or referral.holder_id != person.id
            or not await self._coordinates(uow, person, programme, telegram_id)
        ):
            await uow.audit.record(person, "refused:talk:read", self.clock(), detail="not_found")
            return Reply([relationship.not_yours(_)])
        if not programme.talk.holder_reads:
            return Reply([relationship.private_here(_)])
        zone = ZoneInfo(programme.timezone)
        lines = [
            (
                m.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                relationship.writer(m.direction, _),
                m.body.decode(),
            )
            for m in await uow.talk.list(referral)
            if m.holder_reads
        ]
        await uow.audit.record(person, "talk:read", self.clock(), reference=referral.reference)
        text = relationship.for_holder(referral.reference, lines, _)
        if not text:
            text = relationship.none_to_read(referral.reference, _)
        return Reply([Prompt(text)], protect=True)

    # -- helpers ---------------------------------------------------------------------------------

    async def _engagements(self, uow: Unit, person: Person) -> list[Engagement]:
        """Accepted engagements the person is on either side of."""
        found = list(await uow.engagements.for_supporter(person, ("accepted",)))
        for referral in await uow.referrals.for_person(person):
            live = await uow.engagements.live(referral)
            if live is not None and live.status == "accepted":
                found.append(live)
        return found

    async def _relationship(
        self, uow: Unit, person: Person, engagement: Engagement
    ) -> tuple[Relationship, Referral, Programme] | None:
        """The engagement as ``person`` sees it, if they are on one side of it and the
        programme lets them write; else None."""
        referral = await uow.referrals.get(engagement.referral_id)
        programme = await self._programme(uow, referral)
        if referral is None or programme is None or not programme.talk.enabled:
            return None
        side: Side
        if person.id == engagement.supporter_id and await uow.roles.has(
            person, "supporter", programme.id
        ):
            side = "supporter"
        elif person.id == referral.person_id:
            side = "person"
        else:
            return None
        item = Relationship(
            engagement.id,
            side,
            referral.reference,
            await uow.talk.stopped_by(engagement),
            programme.talk.holder_reads,
        )
        return item, referral, programme

    async def _writing(self, uow: Unit, person: Person, engagement_id: str) -> int:
        """Writing to `engagement_id` is open on a new screen (with Done): its number, from the
        person's one counter, kept in the "talk" frame (a Done of an older screen is stale)."""
        screen = (await uow.dialogs.load(person)).next_screen
        frame = json.dumps({"engagement": engagement_id}).encode()
        await uow.dialogs.put(person, "talk", frame, self.clock(), screen=screen)
        return screen

    async def _close_frame(self, uow: Unit, person: Person, engagement_id: str) -> None:
        frame = await uow.dialogs.frame(person, "talk")
        if frame is not None and json.loads(frame).get("engagement") == engagement_id:
            await uow.dialogs.end(person, "talk")

    async def _programme(self, uow: Unit, referral: Referral | None) -> Programme | None:
        if referral is None:
            return None
        return self.config.programme(await uow.referrals.programme_id(referral))
