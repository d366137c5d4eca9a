"""Peer supporters: their profile (/profile, pause, leave) and their answer to a hand-over.

Each method is one update in one transaction, like the other flows: the change, its audit entry
and the outbox rows for other chats commit together, then the worker is woken. A press is
checked against who pressed (the engagement's supporter, a supporter of the programme); the
callback data only says what they want.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from bot.delivery import kinds
from bot.services import supporter_records
from bot.services.base import ServiceFlow
from bot.services.casework import Actor
from bot.services.engagements import supporter_gone, tell_holder
from bot.services.reply import Reply
from conversations import profile_edit, relationship, screens, sessions, supporting
from conversations.callbacks import ProfilePress, SupportPress
from conversations.forms import Programme
from conversations.matching import Profile
from conversations.prompts import Prompt, esc
from storage import Engagement, Person, Referral, Unit

log = logging.getLogger("peerdoor.supporting")

#: The referral statuses a supporter's "yes" turns into a match ("matched": a new supporter
#: after the first one left).
MATCHABLE = ("contacted", "assessing", "matched")


class SupportFlow(ServiceFlow):
    # -- the profile ------------------------------------------------------------------------

    async def profile(self, who: Actor) -> Reply:
        """/profile: what coordinators know about me, with buttons to change it."""
        async with self.store.unit() as uow:
            found = await self._supporter(uow, who)
            _ = self._t(self.language_of(who))
            if found is None:
                return Reply([supporting.not_a_supporter(_)])
            person, programme = found
            return Reply([await self._profile_screen(uow, person, programme, who)])

    async def press(self, who: Actor, press: ProfilePress | SupportPress) -> Reply:
        lang = self.language_of(who)
        _ = self._t(lang)
        async with self.store.unit() as uow:
            found = await self._supporter(uow, who)
            if found is None:
                await uow.audit.record(
                    await uow.people.find(who.telegram_id),
                    "refused:supporter",
                    self.clock(),
                    detail="not_a_supporter",
                )
                return Reply(notice=supporting.not_a_supporter(_).text, keep_buttons=True)
            person, programme = found
            if isinstance(press, SupportPress):
                reply = await self._answer(uow, person, press, lang)
            else:
                reply = await self._profile_press(uow, who, person, programme, press)
        self.wake()
        return reply

    async def _profile_press(
        self, uow: Unit, who: Actor, person: Person, programme: Programme, press: ProfilePress
    ) -> Reply:
        ctx = await self._context(uow, person, programme, who)
        outcome = profile_edit.press(
            press.action, press.field, press.arg, ctx, self._t(ctx.language)
        )
        return await self._apply(uow, person, outcome)

    async def typed(self, who: Actor, text: str) -> Reply | None:
        """A profile field the supporter was asked to type; else None (not ours)."""
        if not who.private:
            return None
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            if person is None:
                return None
            asking = await self._asking(uow, person)
            if asking is None:
                return None
            found = await self._supporter(uow, who)
            if found is None:  # no longer a supporter: nothing to change
                await uow.dialogs.end(person, "profile")
                return Reply([Prompt(screens.expired_notice(self._t(self.language_of(who))))])
            ctx = await self._context(uow, person, found[1], who)
            outcome = profile_edit.typed(asking, text, ctx, self._t(ctx.language))
            return await self._apply(uow, person, outcome)

    async def _apply(self, uow: Unit, person: Person, outcome: profile_edit.Outcome) -> Reply:
        """Carry out what the profile dialog decided, in this update's transaction."""
        now = self.clock()
        if outcome.leave:
            await self._leave(uow, person, now)
        if outcome.profile is not None:
            await uow.supporters.save(person, outcome.profile.to_bytes(), now)
        if outcome.pause is not None:
            await uow.supporters.set_paused(person, outcome.pause, now)
            await uow.audit.record(
                person, f"supporter:{'pause' if outcome.pause else 'resume'}", now
            )
        if outcome.asking:
            asking = json.dumps({"asking": outcome.asking}).encode()
            await uow.dialogs.put(person, "profile", asking, now)
        elif outcome.asking == "":
            await uow.dialogs.end(person, "profile")
        return Reply(outcome.prompts, outcome.notice, outcome.replace, outcome.keep_buttons)

    async def _context(
        self, uow: Unit, person: Person, programme: Programme, who: Actor
    ) -> profile_edit.Context:
        return profile_edit.Context(
            programme,
            Profile.from_bytes(await uow.supporters.profile(person)),
            await uow.supporters.paused(person),
            (await uow.engagements.load([person.id]))[person.id],
            self.language_of(who),
        )

    async def _asking(self, uow: Unit, person: Person) -> str | None:
        """The profile field the supporter was asked to type, if any."""
        raw = await uow.dialogs.frame(person, "profile")
        return str(json.loads(raw).get("asking", "")) if raw else None

    async def _leave(self, uow: Unit, person: Person, now: datetime) -> None:
        """Off the team: roles revoked, profile gone; offers withdrawn; the holders of the people
        they support are told, so nobody is left without someone."""
        for programme in self.config.programmes:
            await uow.roles.revoke(person, "supporter", programme.id)
            await supporter_records.stopped(uow, person, programme.id, now)
        await uow.supporters.remove(person)
        await uow.dialogs.end(person, "profile")
        await supporter_gone(uow, person, now)
        await uow.audit.record(person, "supporter:left", now)
        log.info("supporter.left")

    # -- the hand-over ------------------------------------------------------------------------

    async def _answer(self, uow: Unit, person: Person, press: SupportPress, lang: str) -> Reply:
        _ = self._t(lang)
        engagement = await uow.engagements.get(press.engagement)
        if press.action not in ("accept", "decline") or engagement is None:
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        if engagement.supporter_id != person.id:
            await uow.audit.record(
                person, f"refused:{press.action}", self.clock(), detail="not_theirs"
            )
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        referral = await uow.referrals.get(engagement.referral_id)
        now = self.clock()
        if referral is None or engagement.status != "offered":
            return Reply([supporting.no_longer_open(_)])
        if press.action == "decline":
            await uow.engagements.decide(engagement, "declined", now)
            await uow.audit.record(person, "decline_offer", now, reference=referral.reference)
            await self._tell_holder(uow, engagement, referral, "declined", now)
            return Reply([supporting.declined(_)])
        if referral.status not in MATCHABLE:  # closed or withdrawn while they thought
            await uow.engagements.decide(engagement, "withdrawn", now)
            return Reply([supporting.no_longer_open(_)])
        await uow.engagements.decide(engagement, "accepted", now)
        profile = Profile.from_bytes(await uow.supporters.profile(person))
        await uow.referrals.set_outcome(
            referral, json.dumps({"supporter": profile.name}).encode(), now
        )
        if referral.status != "matched":
            await uow.referrals.set_status(referral, "matched", now)
            await uow.outbox.add(
                kinds.NEWS,
                referral=referral,
                due_at=now,
                now=now,
                payload=json.dumps({"news": "matched"}).encode(),
            )
        await uow.audit.record(person, "accept_offer", now, reference=referral.reference)
        await self._tell_holder(uow, engagement, referral, "accepted", now)
        log.info("engagement.accepted ref=%s", referral.reference)
        done = supporting.accepted(referral.reference, _)  # and the way to plan a first meeting
        programme = self.config.programme(await uow.referrals.programme_id(referral))
        if programme is not None and programme.talk.enabled:  # and how to write to them
            done = Prompt(f"{done.text}\n\n{esc(relationship.how_to_write(_))}", done.buttons)
        return Reply([Prompt(done.text, (*done.buttons, sessions.plan_row(engagement.id, _)))])

    async def _tell_holder(
        self, uow: Unit, engagement: Engagement, referral: Referral, answer: str, now: datetime
    ) -> None:
        await tell_holder(uow, engagement, referral, answer, now)

    # -- helpers ------------------------------------------------------------------------------

    async def _supporter(self, uow: Unit, who: Actor) -> tuple[Person, Programme] | None:
        """The supporter behind ``who`` and the first programme they support, or None."""
        person = await uow.people.find(who.telegram_id)
        if person is None:
            return None
        held = await uow.roles.programmes(
            person, "supporter", [p.id for p in self.config.programmes]
        )
        programme = self.config.programme(held[0]) if held else None
        return (person, programme) if programme is not None else None

    async def _profile_screen(
        self, uow: Unit, person: Person, programme: Programme, who: Actor
    ) -> Prompt:
        ctx = await self._context(uow, person, programme, who)
        return profile_edit.screen(ctx, self._t(ctx.language))

    def language_of(self, who: Actor) -> str:
        return self.catalog.best_language(who.language_code, list(self.catalog.languages))
