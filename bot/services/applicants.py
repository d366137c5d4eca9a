"""Coordinators and volunteers (issue 15): /applicants, the pipeline, training, checks,
supervision, and /invite from the bot.

Each method is one update in one transaction, like the other flows. Every press is checked
again against who pressed (a coordinator of the volunteer's programme, asked now) and the
volunteer's stage (the stage the button was made for); the callback data only says what they
want. Reaching "active" grants the supporter role and starts a profile from the application:
no server command. ``eligible_supporters`` is the one list of supporters who may be suggested
for a match or offered as a group facilitator.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.delivery import kinds
from bot.services import preferences
from bot.services.base import ServiceFlow
from bot.services.casework import Actor
from bot.services.reply import Reply
from bot.services.revocation import has_role
from bot.services.supporter_records import joined_by_invite
from conversations import applicants, casework, engine, screens
from conversations.applicants import Press, Record, Row, Stage
from conversations.forms import Programme
from conversations.matching import Profile
from conversations.prompts import Prompt
from storage import Person, Unit
from storage.applicants import Applicant

log = logging.getLogger("peerdoor.applicants")

INVITE_DAYS = 7
ROLES = ("supporter", "coordinator")


class ApplicantsFlow(ServiceFlow):
    # -- /applicants ------------------------------------------------------------------------

    async def listing(self, who: Actor, update_id: int) -> Reply:
        _ = self._t(self.language_of(who))
        async with self.store.unit() as uow:
            desk = await self._desk(uow, who)
            if desk is None:
                return await self._refuse(uow, who, "applicants")
            return Reply([await self._listing(uow, p, who) for p in desk[1]], protect=True)

    async def _listing(self, uow: Unit, programme: Programme, who: Actor) -> Prompt:
        lang = self.language_of(who)
        await self._adopt_supporters(uow, programme)
        today = self._today(programme)
        found = []
        for applicant in await uow.applicants.in_programme(programme.id):
            record = Record.from_bytes(await uow.applicants.record(applicant))
            since = record.history[-1].on if record.history else applicant.created_at.date()
            found.append(
                Row(
                    applicant.id,
                    record.name,
                    _stage(applicant.stage),
                    since,
                    applicants.eligible(programme, applicant.stage, record),
                    applicants.overdue(programme, applicant.stage, record, today),
                )
            )
        return applicants.listing(programme, found, lang, self._t(lang))

    async def _adopt_supporters(self, uow: Unit, programme: Programme) -> None:
        """Supporters who joined before records were kept get one, at "active"."""
        now = self.clock()
        for person in await uow.roles.holders("supporter", programme.id):
            if await uow.applicants.of(person, programme.id) is None:
                name = Profile.from_bytes(await uow.supporters.profile(person)).name
                await joined_by_invite(uow, person, programme.id, name, now)

    # -- buttons -----------------------------------------------------------------------------

    async def press(self, who: Actor, press: Press | None, update_id: int) -> Reply:
        lang = self.language_of(who)
        _ = self._t(lang)
        async with self.store.unit() as uow:
            desk = await self._desk(uow, who)
            if desk is None:
                return await self._refuse(uow, who, press.action if press else "unknown")
            coordinator, programmes = desk
            if press is None or not await self._current(uow, coordinator, press):
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            applicant = await uow.applicants.get(press.applicant)
            programme_id = (
                await uow.applicants.programme_id(applicant, [p.id for p in programmes])
                if applicant is not None
                else None
            )
            programme = self.config.programme(programme_id) if programme_id else None
            if applicant is None or programme is None:  # gone, or another programme's
                await uow.audit.record(
                    coordinator, f"refused:applicant:{press.action}", self.clock(),
                    detail="not_found",
                )  # fmt: skip
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            reply = await self._act(uow, who, coordinator, applicant, programme, press, lang)
        self.wake()
        return reply

    async def _current(self, uow: Unit, coordinator: Person, press: Press) -> bool:
        """The one stale check (conversations/engine.py): a press on the card's screen showing
        now; a button from before the engine's format is left to the stage checks below."""
        frame = (await uow.dialogs.load(coordinator)).get("applicant")
        showing = frame.screen if frame is not None else 0
        return engine.is_current("applicant", press.version, press.screen, showing)

    async def _show(
        self, uow: Unit, coordinator: Person, applicant_id: str, pending: str = ""
    ) -> int:
        """The number of the card's next screen, stored with the "applicant" frame (the
        volunteer shown, and the note asked if any): buttons of any older screen are stale."""
        screen = (await uow.dialogs.load(coordinator)).next_screen
        state = {"applicant": applicant_id} | ({"pending": pending} if pending else {})
        data = json.dumps(state).encode()
        await uow.dialogs.put(coordinator, "applicant", data, self.clock(), screen=screen)
        return screen

    async def _act(
        self,
        uow: Unit,
        who: Actor,
        coordinator: Person,
        applicant: Applicant,
        programme: Programme,
        press: Press,
        lang: str,
    ) -> Reply:
        _ = self._t(lang)
        now = self.clock()
        stage = _stage(applicant.stage)
        record = Record.from_bytes(await uow.applicants.record(applicant))
        action = press.action
        if action == "list":
            return Reply(replace=await self._listing(uow, programme, who), protect=True)
        if action == "open":
            await uow.staff.clear(coordinator)  # a note half asked for: cancelled
            number = await self._show(uow, coordinator, applicant.id)
            return self._card(applicant.id, stage, record, programme, lang, number)
        if action == "to":
            reason = applicants.refusal(programme, record, stage, press.arg)
            if reason is not None:
                return Reply(notice=applicants.refused(reason, _), keep_buttons=True)
            to = _stage(press.arg)
            record = applicants.move(record, to, self._today(programme), who.first_name[:40])
            if not await uow.applicants.save(applicant, record.to_bytes(), now, stage=to):
                return Reply(notice=applicants.refused("", _), keep_buttons=True)
            await uow.audit.record(coordinator, f"applicant:{to}", now, detail=programme.id)
            notice = None
            if to == "active":
                await self._make_supporter(uow, applicant, programme, record, now)
                notice = applicants.became_supporter(record.name, programme, lang, _)
            log.info("applicant.moved stage=%s", to)
            number = await self._show(uow, coordinator, applicant.id)
            reply = self._card(applicant.id, to, record, programme, lang, number)
            reply.notice = notice
            return reply
        if action in ("mods", "chks"):
            items = programme.training_modules if action == "mods" else programme.checks
            if not items:
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            number = await self._show(uow, coordinator, applicant.id)
            screen = applicants.items_screen(
                programme, applicant.id, action, record, lang, _, screen=number
            )
            return Reply(replace=screen, protect=True)
        if action in ("mod", "unmod", "chk", "unchk"):
            return await self._item(uow, coordinator, applicant, programme, record, press, lang)
        if action in ("note", "sup"):
            if action == "sup" and stage != "active":
                return Reply(notice=applicants.refused("", _), keep_buttons=True)
            pending = f"{applicants.PENDING}{action}"
            number = await self._show(uow, coordinator, applicant.id, pending)
            kind: applicants.Typing = "note" if action == "note" else "sup"
            return Reply([applicants.ask_note(kind, record.name, applicant.id, _, screen=number)])
        return Reply(notice=screens.expired_notice(_), keep_buttons=True)

    async def _item(
        self,
        uow: Unit,
        coordinator: Person,
        applicant: Applicant,
        programme: Programme,
        record: Record,
        press: Press,
        lang: str,
    ) -> Reply:
        """Record a module or a check done today, or undo it. The button says which way: a
        press made for the other state (stale, or a second device) changes nothing."""
        _ = self._t(lang)
        modules = press.action in ("mod", "unmod")
        items = programme.training_modules if modules else programme.checks
        item = applicants.position(press.arg, items)
        if item is None:
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        done = dict(record.modules if modules else record.checks)
        doing = press.action in ("mod", "chk")
        if (item.id in done) == doing:
            return Reply(notice=applicants.refused("", _), keep_buttons=True)
        if doing:
            done[item.id] = self._today(programme)
        else:
            del done[item.id]
        record = record.model_copy(update={"modules" if modules else "checks": done})
        now = self.clock()
        if not await uow.applicants.save(applicant, record.to_bytes(), now):
            return Reply(notice=applicants.refused("", _), keep_buttons=True)
        what = "module" if modules else "check"
        await uow.audit.record(
            coordinator, f"applicant:{what}:{'done' if doing else 'undone'}", now,
            detail=programme.id,
        )  # fmt: skip
        kind = "mods" if modules else "chks"
        number = await self._show(uow, coordinator, applicant.id)
        screen = applicants.items_screen(
            programme, applicant.id, kind, record, lang, _, screen=number
        )
        return Reply(replace=screen, protect=True)

    async def _make_supporter(
        self, uow: Unit, applicant: Applicant, programme: Programme, record: Record, now: datetime
    ) -> None:
        """Active: the supporter role, a profile started from the application, and a welcome."""
        person = await uow.people.get(applicant.person_id)
        assert person is not None  # the row goes with the person
        await uow.roles.grant(person, "supporter", programme.id, now)
        if await uow.supporters.profile(person) is None:
            await uow.supporters.save(
                person, applicants.prefilled(programme, record).to_bytes(), now
            )
        await uow.outbox.add(
            kinds.SUPPORTER_WELCOME,
            recipient=person,
            due_at=now,
            now=now,
            payload=json.dumps({"programme": programme.id}).encode(),
        )
        await uow.audit.record(None, "join:supporter", now, detail=programme.id)

    def _card(
        self,
        applicant_id: str,
        stage: Stage,
        record: Record,
        programme: Programme,
        lang: str,
        screen: int,
    ) -> Reply:
        today = self._today(programme)
        prompt = applicants.card(
            programme, applicant_id, stage, record, today, lang, self._t(lang), screen=screen
        )
        return Reply(replace=prompt, protect=True)

    # -- typed notes -------------------------------------------------------------------------

    async def typed(self, who: Actor, text: str, update_id: int) -> Reply | None:
        """A note or a supervision note the coordinator was asked to type; else None."""
        if not who.private:
            return None
        lang = self.language_of(who)
        _ = self._t(lang)
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            if person is None:
                return None
            raw = await uow.dialogs.frame(person, "applicant")
            state = json.loads(raw) if raw else {}
            pending = str(state.get("pending", ""))
            if not pending.startswith(applicants.PENDING):
                return None
            desk = await self._desk(uow, who)
            if desk is None:  # no longer a coordinator: the note goes nowhere
                await uow.dialogs.end(person, "applicant")
                await uow.audit.record(
                    person, "refused:applicant:note", self.clock(), detail="not_a_coordinator"
                )
                return Reply([casework.not_a_coordinator(_)])
            applicant = await uow.applicants.get(str(state.get("applicant", "")))
            programme_id = (
                await uow.applicants.programme_id(applicant, [p.id for p in desk[1]])
                if applicant is not None
                else None
            )
            programme = self.config.programme(programme_id) if programme_id else None
            if applicant is None or programme is None:
                await uow.dialogs.end(person, "applicant")
                return Reply([Prompt(screens.expired_notice(_))])
            found = applicants.typed_note(text, self._today(programme))
            if found is None:  # ask again, kindly (the Cancel under the question still works)
                await uow.dialogs.put(person, "applicant", raw or b"{}", self.clock())
                return Reply([Prompt(applicants.bad_note(_))])
            on, words = found
            note = applicants.Note(on=on, by=who.first_name[:40], text=words)
            record = Record.from_bytes(await uow.applicants.record(applicant))
            kind = pending.removeprefix(applicants.PENDING)
            if kind == "sup":
                record = record.model_copy(update={"supervision": [*record.supervision, note]})
            else:
                record = record.model_copy(update={"notes": [*record.notes, note]})
            now = self.clock()
            if not await uow.applicants.save(applicant, record.to_bytes(), now):
                await uow.dialogs.end(person, "applicant")
                return Reply([Prompt(screens.expired_notice(_))])
            action = "supervision" if kind == "sup" else "note"
            await uow.audit.record(person, f"applicant:{action}", now, detail=programme.id)
            stage = _stage(applicant.stage)
            screen = await self._show(uow, person, applicant.id)  # the card again: no note asked
            today = self._today(programme)
            card = applicants.card(
                programme, applicant.id, stage, record, today, lang, _, screen=screen
            )
            return Reply([card], protect=True)

    # -- /invite -----------------------------------------------------------------------------

    async def invite(self, who: Actor, args: list[str], update_id: int) -> Reply:
        """/invite supporter|coordinator [programme]: a one-time code (and link) to join."""
        lang = self.language_of(who)
        _ = self._t(lang)
        async with self.store.unit() as uow:
            desk = await self._desk(uow, who)
            if desk is None:
                return await self._refuse(uow, who, "invite")
            coordinator, programmes = desk
            ids = [p.id for p in programmes]
            role = args[0].lower() if args else ""
            wanted = args[1] if len(args) > 1 else (ids[0] if len(ids) == 1 else "")
            programme = next((p for p in programmes if p.id == wanted), None)
            if role not in ROLES or programme is None or len(args) > 2:
                return Reply([applicants.invite_usage(ids, _)])
            now = self.clock()
            code = await uow.invites.create(
                role, programme.id, now, now + timedelta(days=INVITE_DAYS)
            )
            await uow.audit.record(coordinator, f"invite:{role}", now, detail=programme.id)
        log.info("role.invited role=%s", role)
        username = self.config.bot.username
        link = f"https://t.me/{username}?start=join-{code}" if username else None
        made = applicants.invite_made(role, code, INVITE_DAYS, link, programme, lang, _)
        return Reply([made], protect=True)

    # -- helpers -----------------------------------------------------------------------------

    async def _desk(self, uow: Unit, who: Actor) -> tuple[Person, list[Programme]] | None:
        """The coordinator behind ``who`` (in a private chat) and their programmes, asked now."""
        if not who.private:
            return None
        person = await uow.people.find(who.telegram_id)
        if person is None:  # a coordinator named in the config, writing for the first time
            if not any(who.telegram_id in p.coordinators for p in self.config.programmes):
                return None
            person = await uow.people.create(who.telegram_id, self.clock())
        programmes = [
            p
            for p in self.config.programmes
            if await has_role(uow, self.config, person, "coordinator", p.id)
        ]
        if not programmes:
            return None
        prefs = await preferences.load(uow, person)
        language = self.language_of(who)
        if prefs.language != language:  # what the bot later writes to them comes in it
            prefs.language = language
            await preferences.save(uow, person, prefs, self.clock())
        return person, programmes

    async def _refuse(self, uow: Unit, who: Actor, action: str) -> Reply:
        named = action if action in applicants.ACTIONS | {"applicants", "invite"} else "unknown"
        person = await uow.people.find(who.telegram_id)
        await uow.audit.record(
            person, f"refused:{named}", self.clock(), detail="not_a_coordinator"
        )
        log.warning("applicants.refused action=%s", named)
        _ = self._t(self.language_of(who))
        return Reply(
            [casework.not_a_coordinator(_)] if who.private else [],
            notice=casework.not_a_coordinator(_).text,
            keep_buttons=True,
        )

    def _today(self, programme: Programme) -> date:
        return self.clock().astimezone(ZoneInfo(programme.timezone)).date()

    def language_of(self, who: Actor) -> str:
        return self.catalog.best_language(who.language_code, list(self.catalog.languages))


def _stage(value: str) -> Stage:
    for stage in applicants.STAGES:
        if stage == value:
            return stage
    raise ValueError(f"unknown stage {value!r}")
