"""Coordinator use cases: claim, read, work and close referrals; talk to the referrer.

Like the intake, each method is one update in one transaction: the change, its audit entry and
the outbox rows for other chats commit together, then the worker is woken and the reply sent.
Every press is checked against the presser's role and the referral's state; callback data is
only a hint of what the person wants.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from bot.delivery import calendar, kinds, session_calendar
from bot.services import groups, preferences, referring, surveys
from bot.services.base import ServiceFlow
from bot.services.case_views import case_of, case_view, person_language
from bot.services.limits import DailyCounter
from bot.services.matchmaking import ACTIONS as MATCH_ACTIONS
from bot.services.matchmaking import Matchmaker
from bot.services.reply import Reply
from bot.services.revocation import configured, revoke
from bot.services.supporter_records import joined_by_invite
from conversations import (
    casework,
    coordinating,
    news,
    revoking,
    safety,
    screens,
    supporting,
)
from conversations.callbacks import CasePress
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.lifecycle import ACTIONS, ENDED, OPEN, OUTCOMES, Action, available, decide
from conversations.matching import MAX_NAME, Profile
from conversations.prompts import Prompt, esc
from storage import Person, Referral, Unit
from storage.referrals import CROCKFORD, REFERENCE_LENGTH, REFERENCE_PREFIX, normalise_reference

log = logging.getLogger("peerdoor.casework")

WORK_ACTIONS: frozenset[str] = frozenset(
    {"contacted", "assessing", "decline", "withdrawn", "close", "unassign"}
)
TYPED_ACTIONS: frozenset[str] = frozenset({"note", "message", "match"})


@dataclass(frozen=True)
class Actor:
    """Who pressed or typed, and where. Kept in memory only."""

    telegram_id: int
    first_name: str
    language_code: str | None
    private: bool


@dataclass
class Desk:
    """A coordinator at work: their record, their programmes, their language."""

    person: Person
    programmes: list[str]
    language: str


class CaseworkFlow(ServiceFlow):
    @cached_property
    def matchmaker(self) -> Matchmaker:
        return Matchmaker(self.clock)

    # -- commands -------------------------------------------------------------------------------

    async def queue(self, who: Actor, view: str, page: int) -> Reply:
        """/queue (open referrals of my programmes) and /mine (the ones I hold)."""
        async with self.store.unit() as uow:
            desk = await self._desk(uow, who)
            if desk is None:
                return await self._refuse(uow, who, "queue", None)
            _ = self._t(desk.language)
            if not who.private:  # lists of referrals belong in a private chat only
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            holder = desk.person if view == "mine" else None
            statuses = (*OPEN, *OUTCOMES) if view == "mine" else OPEN
            total = await uow.referrals.count(desk.programmes, statuses, holder=holder)
            last = max(0, (total - 1) // casework.PAGE_SIZE)
            page = min(max(page, 0), last)  # a page past the end (forged or stale): the last
            found = await uow.referrals.queue(
                desk.programmes,
                statuses,
                holder=holder,
                limit=casework.PAGE_SIZE,
                offset=page * casework.PAGE_SIZE,
            )
        items = [
            casework.QueueItem(
                r.reference,
                r.status,
                r.urgent,
                r.submitted_at,
                r.holder_id == desk.person.id,
                r.holder_id is not None,
            )
            for r in found
        ]
        prompt = casework.queue_page(items, total, page, view, self.clock(), desk.language, _)
        return Reply([prompt])

    async def open(self, who: Actor, reference: str) -> Reply:
        """/referral CODE: the whole referral if I hold it, else a summary I may claim."""
        return await self.press(who, CasePress("view", reference.strip().upper()))

    async def join(self, who: Actor, code: str) -> Reply:
        """/join CODE: become a coordinator (or supporter) of a programme.

        A wrong code stores nothing about whoever sent it (no person row, nothing to erase):
        only the first refusal of the day is audited, and past `failed_joins_per_day` the
        account is told to come back tomorrow without the database being touched at all."""
        _ = self._t(self._language(who))
        if self.join_failures.capped(who.telegram_id, self.clock()):
            return Reply([revoking.joins_capped(_)])
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            candidates = [p.id for p in self.config.programmes]
            if person is None and not await uow.invites.usable(code, self.clock(), candidates):
                redeemed = None
            else:
                probe = person or await uow.people.create(who.telegram_id, self.clock())
                redeemed = await uow.invites.redeem(code, probe, self.clock(), candidates)
                if redeemed is None and person is None:  # lost a race for the code
                    await uow.people.erase(probe)
            if redeemed is None:
                if self.join_failures.fail(who.telegram_id, self.clock()) == 1:
                    await uow.audit.record(person, "join_refused", self.clock())
                log.info("role.join_refused")
                return Reply([casework.invite_refused(_)])
            role, programme_id = redeemed
            await uow.roles.grant(probe, role, programme_id, self.clock())
            if role == "supporter" and await uow.supporters.profile(probe) is None:
                start = Profile(name=who.first_name[:MAX_NAME])  # theirs to change in /profile
                await uow.supporters.save(probe, start.to_bytes(), self.clock())
            if role == "supporter":  # a record for training, checks and supervision
                await joined_by_invite(uow, probe, programme_id, who.first_name, self.clock())
            await uow.audit.record(probe, f"join:{role}", self.clock(), detail=programme_id)
        programme = self.config.programme(programme_id)
        assert programme is not None
        log.info("role.granted role=%s", role)
        joined = [casework.invite_joined(role, programme, self._language(who), _)]
        if role == "supporter":
            joined.append(supporting.joined_next(_))
        return Reply(joined)

    @cached_property
    def join_failures(self) -> DailyCounter:
        return DailyCounter(self.config.limits.failed_joins_per_day)

    # -- taking a role away ---------------------------------------------------------------------

    async def revoke_request(self, who: Actor, arg: str) -> Reply:
        """/revoke ID: a coordinator asks to take a role in their programmes away from someone.
        Nothing changes until they confirm (``r:revoke:yes``), which checks everything again."""
        async with self.store.unit() as uow:
            desk = await self._desk(uow, who)
            if desk is None:
                return await self._refuse(uow, who, "revoke", None)
            _ = self._t(desk.language)
            arg = arg.strip()
            if not arg.isdigit() or not who.private:
                return Reply([revoking.how_to_revoke(_)])
            telegram_id = int(arg)
            if telegram_id == who.telegram_id:
                return Reply([revoking.not_yourself(_)])
            if any(configured(self.config, telegram_id, p) for p in desk.programmes):
                return Reply([revoking.in_config(_)])
            target = await uow.people.find(telegram_id)
            found = await self._revocable(uow, target, desk.programmes) if target else None
            if target is None or found is None:
                await uow.audit.record(
                    desk.person, "refused:revoke", self.clock(), detail="no_role"
                )
                return Reply([revoking.nobody_to_revoke(_)])
            role, programme_id = found
            held = await uow.referrals.held(target, programme_id) if role == "coordinator" else []
            asked = coordinating.revoke_asked(target.id, role, programme_id)
            await uow.dialogs.put(desk.person, "casework", asked.to_bytes(), self.clock())
        programme = self.config.programme(programme_id)
        assert programme is not None
        return Reply([revoking.confirm(role, programme, desk.language, len(held), _)])

    async def _revocable(
        self, uow: Unit, target: Person, programmes: list[str]
    ) -> tuple[str, str] | None:
        """(role, programme) the target holds by invite in one of ``programmes``: a
        coordinator's role first, then a supporter's (/revoke again for the next)."""
        for role in ("coordinator", "supporter"):
            held = await uow.roles.programmes(target, role, programmes)
            if held:
                return role, held[0]
        return None

    async def _revoke_press(self, who: Actor, confirmed: bool) -> Reply:
        async with self.store.unit() as uow:
            desk = await self._desk(uow, who)
            if desk is None:
                return await self._refuse(uow, who, "revoke", None)
            _ = self._t(desk.language)
            state = await self._state(uow, desk.person)
            outcome = coordinating.revoke_answered(state, confirmed, who.private, self._ctx(desk))
            await self._keep(uow, desk.person, outcome)
            if not isinstance(outcome.effect, coordinating.Revoke):
                return _reply(outcome)
            role, programme_id = outcome.effect.role, outcome.effect.programme
            target = await uow.people.get(outcome.effect.target)
            now = self.clock()
            if programme_id not in desk.programmes:  # no longer theirs to decide
                await uow.audit.record(desk.person, "refused:revoke", now, detail="programme")
                return Reply(replace=casework.not_a_coordinator(_))
            if target is None or not await uow.roles.has(target, role, programme_id):
                return Reply(replace=revoking.nobody_to_revoke(_))  # taken away already
            if role == "coordinator" and configured(
                self.config, await uow.people.telegram_id(target), programme_id
            ):
                return Reply(replace=revoking.in_config(_))  # the config's to change
            done = await revoke(uow, target, role, programme_id, desk.person, now)
        self.wake()
        programme = self.config.programme(programme_id)
        assert programme is not None
        return Reply(
            replace=revoking.revoked(role, programme, desk.language, len(done.handed_back), _)
        )

    # -- buttons --------------------------------------------------------------------------------

    async def press(self, who: Actor, press: CasePress) -> Reply:
        if press.action == "revoke":
            return await self._revoke_press(who, press.reference == revoking.YES)
        async with self.store.unit() as uow:
            desk = await self._desk(uow, who)
            if desk is None:
                return await self._refuse(uow, who, press.action, press.reference)
            referral = await uow.referrals.by_reference(press.reference)
            programme = await self._programme_for(uow, desk, referral)
            if referral is None or programme is None:
                await uow.audit.record(
                    desk.person,
                    f"refused:{_named(press.action)}",
                    self.clock(),
                    reference=_code(press.reference),
                    detail="not_found",
                )
                _ = self._t(desk.language)
                return Reply([casework.not_found(press.reference, _)], keep_buttons=True)
            reply = await self._act(uow, who, desk, referral, programme, press)
        self.wake()
        return reply

    async def _act(
        self,
        uow: Unit,
        who: Actor,
        desk: Desk,
        referral: Referral,
        programme: Programme,
        press: CasePress,
    ) -> Reply:
        _ = self._t(desk.language)
        action = press.action
        if action == "view":
            return await self._view(uow, who, desk, referral)
        if action == "stop":
            outcome = coordinating.stop(await self._state(uow, desk.person), self._ctx(desk))
            await self._keep(uow, desk.person, outcome)
            return _reply(outcome)
        if action == "res":
            return await self._toggle_resource(uow, desk, referral, programme, press.arg)
        base: Action = _BASE_ACTION.get(action, action)  # type: ignore[assignment]
        if base not in _KNOWN:
            return Reply(notice=screens.expired_notice(_))
        decision = decide(case_of(referral), base, desk.person.id)
        if not decision.allowed:
            assert decision.refusal is not None
            await uow.audit.record(
                desk.person,
                f"refused:{action}",
                self.clock(),
                reference=referral.reference,
                detail=decision.refusal,
            )
            return Reply(notice=casework.refused(decision.refusal, _), keep_buttons=True)
        if action in ("claim", "take"):
            return await self._claim(uow, who, desk, referral, programme, action == "take")
        if base == "match":  # suggestions, what to share, the offer (or a typed name)
            return await self.matchmaker.act(
                uow, desk.person, referral, programme, press, desk.language, _
            )
        if action in TYPED_ACTIONS:
            outcome = coordinating.ask(action, referral.reference, self._ctx(desk, programme))
            await self._keep(uow, desk.person, outcome)
            return _reply(outcome)
        if action == "verify":
            return Reply([casework.confirm_verify(referral.reference, _)])
        if action == "verified":
            return await self._verified(uow, desk, referral, programme)
        if action == "defer":
            outcome = coordinating.ask("defer", referral.reference, self._ctx(desk, programme))
            await self._keep(uow, desk.person, outcome)
            return _reply(outcome)
        if action == "deferok":
            return await self._defer(uow, desk, referral, programme)
        return await self._change(
            uow, desk, referral, base, decision.status, decision.tell_referrer
        )

    async def _view(self, uow: Unit, who: Actor, desk: Desk, referral: Referral) -> Reply:
        _ = self._t(desk.language)
        if referral.holder_id != desk.person.id or not who.private:
            summary = casework.summary(
                referral.reference,
                referral.status,
                referral.urgent,
                referral.submitted_at,
                referral.holder_id is not None,
                self.clock(),
                desk.language,
                _,
                ["take" if referral.holder_id else "claim"],
            )
            return Reply([summary])
        view, actions = await case_view(uow, self.config, referral, desk.person.id)
        await uow.audit.record(desk.person, "view", self.clock(), reference=referral.reference)
        details = casework.details(view, actions, self.clock(), desk.language, _)
        details = await session_calendar.with_session_buttons(uow, referral, details, _)
        details = await groups.with_group_button(
            uow, self.config, referral, desk.person, details, _
        )
        return Reply([details], protect=True)

    async def _claim(
        self,
        uow: Unit,
        who: Actor,
        desk: Desk,
        referral: Referral,
        programme: Programme,
        take_over: bool,
    ) -> Reply:
        _ = self._t(desk.language)
        first_claim = referral.claimed_at is None  # unassigned and claimed again: told once
        if not await uow.referrals.claim(referral, desk.person, self.clock(), take_over=take_over):
            return Reply(notice=casework.refused("taken", _), keep_buttons=True)
        now = self.clock()
        await uow.audit.record(
            desk.person, "take" if take_over else "claim", now, reference=referral.reference
        )
        await uow.outbox.drop(kinds.NOTICE_REMINDER, referral)
        await uow.outbox.drop(kinds.CONTACT_REMINDER, referral)
        await uow.outbox.add(
            kinds.DETAILS, recipient=desk.person, referral=referral, due_at=now, now=now
        )
        if referral.contacted_at is None:
            due = now + timedelta(days=programme.service_levels.contact_within_days)
            await uow.outbox.add(kinds.CONTACT_REMINDER, referral=referral, due_at=due, now=now)
        if first_claim:
            await uow.outbox.add(
                kinds.NEWS,
                referral=referral,
                due_at=now,
                now=now,
                payload=json.dumps({"news": "picked_up"}).encode(),
            )
            await referring.tell_professional(uow, referral, "received", now)
        log.info("referral.claimed ref=%s", referral.reference)
        if who.private:
            return Reply([casework.now_holding(referral.reference, _)])
        return Reply(replace=casework.group_taken(referral.reference, who.first_name, _))

    async def _change(
        self,
        uow: Unit,
        desk: Desk,
        referral: Referral,
        action: Action,
        status: str | None,
        tell: bool,
    ) -> Reply:
        now = self.clock()
        if action == "unassign":
            await uow.referrals.unassign(referral, now)
            await uow.outbox.drop(kinds.CONTACT_REMINDER, referral)
            if referral.status == "claimed":
                await uow.outbox.add(kinds.NOTICE, referral=referral, due_at=now, now=now)
                # back in the queue: reminded again if nobody claims it (urgent: sooner)
                await self._arm_claim_reminder(uow, referral, now)
        if status is not None:
            await uow.referrals.set_status(referral, status, now)
        if action == "contacted":
            await uow.referrals.mark(referral, contacted_at=now)
            await uow.outbox.drop(kinds.CONTACT_REMINDER, referral)
            await referring.tell_professional(uow, referral, "contacted", now)
        if action == "close":
            await uow.referrals.mark(referral, closed_at=now)
            await uow.outbox.drop(kinds.CONTACT_REMINDER, referral)
        if tell:
            news_kind = {"close": "closed", "match": "matched"}.get(action, action)
            await uow.outbox.add(
                kinds.NEWS,
                referral=referral,
                due_at=now,
                now=now,
                payload=json.dumps({"news": news_kind}).encode(),
            )
        if action == "close":  # end of support: the surveys, queued after the news
            await surveys.close_referral(uow, self.config, referral, now)
        await uow.audit.record(
            desk.person,
            f"status:{status}" if status else action,
            now,
            reference=referral.reference,
        )
        return await self._after(uow, desk, referral)

    async def _after(self, uow: Unit, desk: Desk, referral: Referral) -> Reply:
        """Confirm the change, with the buttons that make sense now."""
        fresh = await uow.referrals.get(referral.id)
        assert fresh is not None
        _ = self._t(desk.language)
        if fresh.holder_id is None:
            return Reply([casework.back_in_queue(fresh.reference, _)])
        actions = available(case_of(fresh), desk.person.id)
        status = casework.status_now(fresh.reference, fresh.status, actions, _)
        return Reply([await session_calendar.with_session_buttons(uow, fresh, status, _)])

    async def _verified(
        self, uow: Unit, desk: Desk, referral: Referral, programme: Programme
    ) -> Reply:
        """Verify, then discard: the answers used to check identity are erased for good."""
        answers = json.loads(await uow.referrals.answers(referral))
        secret = {q.id for q in programme.form if q.role == "verification"}
        kept = {k: v for k, v in answers.items() if k not in secret}
        now = self.clock()
        await uow.referrals.replace_answers(
            referral, json.dumps(kept, sort_keys=True).encode(), now
        )
        await uow.referrals.mark(referral, verified_at=now, verified_by=desk.person.id)
        await uow.audit.record(
            desk.person,
            "verify",
            now,
            reference=referral.reference,
            detail=f"erased:{len(answers) - len(kept)}",
        )
        return await self._after(uow, desk, referral)

    async def _toggle_resource(
        self, uow: Unit, desk: Desk, referral: Referral, programme: Programme, arg: str
    ) -> Reply:
        state = await self._state(uow, desk.person)
        ctx = self._ctx(desk, programme)
        outcome = coordinating.toggle(state, referral.reference, arg, ctx)
        await self._keep(uow, desk.person, outcome)
        return _reply(outcome)

    async def _defer(
        self, uow: Unit, desk: Desk, referral: Referral, programme: Programme
    ) -> Reply:
        outcome = coordinating.defer(await self._state(uow, desk.person), referral.reference)
        assert isinstance(outcome.effect, coordinating.Defer)
        picked = outcome.effect.resources
        now = self.clock()
        await uow.referrals.set_outcome(referral, json.dumps({"resources": picked}).encode(), now)
        await self._keep(uow, desk.person, outcome)
        await uow.outbox.add(
            kinds.NEWS,
            referral=referral,
            due_at=now,
            now=now,
            payload=json.dumps({"news": "deferred", "resources": picked}).encode(),
        )
        owner = await uow.people.get(referral.person_id)
        if owner is not None:  # "the door stays open", weeks later, if they want check-ins
            prefs = await preferences.load(uow, owner)
            await calendar.arm_door(uow, programme, referral, prefs, now, deferred_at=now)
        return await self._change(uow, desk, referral, "defer", "deferred", tell=False)

    # -- typed text -----------------------------------------------------------------------------

    async def typed(self, who: Actor, text: str) -> Reply | None:
        """A coordinator's note, message or match, when one was asked for; else None."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            if person is None or not who.private:
                return None
            state = await self._state(uow, person)
            ctx = coordinating.Context(None, self._language(who), self._t(self._language(who)))
            outcome = coordinating.typed(state, text, ctx)
            if outcome is None:
                return None  # nothing typed was asked: not the coordinator's text
            await self._keep(uow, person, outcome)
            if not isinstance(outcome.effect, coordinating.Write):
                return _reply(outcome)
            pending = outcome.effect.step
            desk = await self._desk(uow, who)
            referral = await uow.referrals.by_reference(outcome.effect.reference)
            # The same checks as a press: still a coordinator, of this referral's programme.
            programme = await self._programme_for(uow, desk, referral) if desk else None
            if programme is None:
                await uow.audit.record(
                    person,
                    f"refused:{pending}",
                    self.clock(),
                    reference=referral.reference if referral else None,
                    detail="not_a_coordinator" if desk is None else "not_found",
                )
            if desk is None or referral is None or programme is None:
                return Reply([Prompt(esc(screens.expired_notice(ctx._)))])
            reply = await self._typed(uow, desk, referral, pending, outcome.effect.text)
        self.wake()
        return reply

    async def _typed(
        self, uow: Unit, desk: Desk, referral: Referral, pending: str, text: str
    ) -> Reply:
        _ = self._t(desk.language)
        action: Action = pending  # type: ignore[assignment]
        decision = decide(case_of(referral), action, desk.person.id)
        if not decision.allowed or not text:
            assert decision.refusal is not None or not text
            return Reply([Prompt(esc(casework.refused(decision.refusal or "wrong_status", _)))])
        now = self.clock()
        if action == "note":
            await uow.thread.add(referral, "note", desk.person, text.encode(), now)
            await uow.audit.record(desk.person, "note", now, reference=referral.reference)
            actions = available(case_of(referral), desk.person.id)
            return Reply([casework.note_added(referral.reference, actions, _)])
        if action == "message":
            entry = await uow.thread.add(referral, "to_referrer", desk.person, text.encode(), now)
            await uow.outbox.add(
                kinds.TO_REFERRER,
                referral=referral,
                due_at=now,
                now=now,
                payload=json.dumps({"entry": entry}).encode(),
            )
            await uow.audit.record(desk.person, "message", now, reference=referral.reference)
            actions = available(case_of(referral), desk.person.id)
            return Reply([casework.message_sent(referral.reference, actions, _)])
        await uow.referrals.set_outcome(referral, json.dumps({"supporter": text}).encode(), now)
        return await self._change(uow, desk, referral, "match", decision.status, tell=True)

    # -- the referrer's side --------------------------------------------------------------------

    async def referrer_message(self, who: Actor, text: str, repeated: bool) -> Reply | None:
        """A referrer writing after sending the form: pass it on to whoever holds it.

        ``repeated``: Telegram delivered this message before and it was passed on then."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            if person is None or await uow.drafts.load(person) is not None:
                return None
            active = [r for r in await uow.referrals.for_person(person) if r.status != "closed"]
            if not active:
                return None
            if repeated:
                return Reply()
            referral = active[0]
            programme = self.config.programme(await uow.referrals.programme_id(referral))
            lang = await person_language(
                uow, person, programme.default_language if programme else "en"
            )
            _ = self._t(lang)
            now = self.clock()
            prompts: list[Prompt] = []
            if programme is not None and safety.in_crisis(programme, lang, text):
                prompts.append(safety.crisis_after_form(programme, lang, _))
                await self._mark_urgent(uow, person, referral, now)
            hour_ago = now - timedelta(hours=1)
            sent = await uow.thread.count_since(referral, "from_referrer", hour_ago)
            if sent >= self.config.limits.relays_per_hour:  # kept nowhere, passed on to nobody
                if not await uow.audit.recorded_since(
                    "relay_capped", hour_ago, actor=person, reference=referral.reference
                ):  # once an hour, however many follow
                    await uow.audit.record(
                        person, "relay_capped", now, reference=referral.reference
                    )
                log.info("relay.capped ref=%s", referral.reference)
                prompts.append(revoking.relay_capped(_))
            elif referral.holder_id is None:
                await uow.thread.add(referral, "from_referrer", person, text.encode(), now)
                prompts.append(news.message_kept(_))
            else:
                entry = await uow.thread.add(referral, "from_referrer", person, text.encode(), now)
                await uow.outbox.add(
                    kinds.TO_HOLDER,
                    referral=referral,
                    due_at=now,
                    now=now,
                    payload=json.dumps({"entry": entry}).encode(),
                )
                prompts.append(news.message_passed_on(_))
            if referral.status in ENDED:  # deferred, declined, withdrawn: support again?
                prompts.append(screens.come_back(referral.reference, referral.status, _))
        self.wake()
        return Reply(prompts)

    async def _arm_claim_reminder(
        self, uow: Unit, referral: Referral, now: datetime, urgent: bool | None = None
    ) -> None:
        """The group's reminder for a referral nobody holds, replacing any pending one: due
        after the programme's claim window (the urgent one for an urgent referral)."""
        programme = self.config.programme(await uow.referrals.programme_id(referral))
        if programme is None:
            return
        window = programme.service_levels.claim_window(
            referral.urgent if urgent is None else urgent
        )
        await uow.outbox.drop(kinds.NOTICE_REMINDER, referral)
        await uow.outbox.add(
            kinds.NOTICE_REMINDER, referral=referral, due_at=now + window, now=now
        )

    async def mark_urgent(
        self, uow: Unit, person: Person, referral: Referral, now: datetime
    ) -> None:
        """Crisis words in a message to a supporter (bot.services.talk): the same as below."""
        await self._mark_urgent(uow, person, referral, now)

    async def _mark_urgent(
        self, uow: Unit, person: Person, referral: Referral, now: datetime
    ) -> None:
        """Crisis words after sending: urgent for the coordinators, without the words."""
        log.warning("safety.crisis_words stage=after_form ref=%s", referral.reference)
        await uow.referrals.set_urgent(referral, True, now)
        await uow.audit.record(
            person, "urgent", now, reference=referral.reference, detail="crisis_words"
        )
        if referral.holder_id is None:
            await uow.outbox.add(kinds.NOTICE, referral=referral, due_at=now, now=now)
            # and posted again on the urgent clock, not the usual one, until someone claims it
            await self._arm_claim_reminder(uow, referral, now, urgent=True)
        else:
            await uow.outbox.add(kinds.URGENT, referral=referral, due_at=now, now=now)

    async def status(self, who: Actor) -> Reply | None:
        """/status: where the person's latest referral stands, in discreet words."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            referrals = await uow.referrals.for_person(person) if person else []
            if not referrals or person is None:
                return None
            latest = referrals[0]
            programme = self.config.programme(await uow.referrals.programme_id(latest))
            if programme is None:
                return None
            lang = await person_language(uow, person, programme.default_language)
        return Reply(
            [news.status(latest.reference, latest.status, programme, lang, self._t(lang))]
        )

    # -- helpers --------------------------------------------------------------------------------

    async def _desk(self, uow: Unit, who: Actor) -> Desk | None:
        """The coordinator behind `who`, or None. Config ids and invited roles both count."""
        configured = [p.id for p in self.config.programmes if who.telegram_id in p.coordinators]
        person = await uow.people.find(who.telegram_id)
        others = [p.id for p in self.config.programmes if p.id not in configured]
        invited = await uow.roles.programmes(person, "coordinator", others) if person else []
        programmes = configured + invited
        if not programmes:
            return None
        language = self._language(who)
        if person is None:
            person = await uow.people.create(who.telegram_id, self.clock())
        prefs = await preferences.load(uow, person)
        if prefs.language != language:
            prefs.language = language
            await preferences.save(uow, person, prefs, self.clock())
        return Desk(person, programmes, language)

    async def _programme_for(
        self, uow: Unit, desk: Desk, referral: Referral | None
    ) -> Programme | None:
        if referral is None:
            return None
        programme_id = await uow.referrals.programme_id(referral)
        if programme_id not in desk.programmes:
            return None  # a coordinator of one programme sees nothing of another
        return self.config.programme(programme_id)

    async def _refuse(self, uow: Unit, who: Actor, action: str, reference: str | None) -> Reply:
        person = await uow.people.find(who.telegram_id)
        await uow.audit.record(
            person,
            f"refused:{_named(action)}",
            self.clock(),
            reference=_code(reference),
            detail="not_a_coordinator",
        )
        log.warning("casework.refused action=%s", _named(action))
        _ = self._t(self._language(who))
        return Reply(
            [casework.not_a_coordinator(_)] if who.private else [],
            notice=casework.not_a_coordinator(_).text,
            keep_buttons=True,
        )

    async def _state(self, uow: Unit, person: Person) -> coordinating.CaseState | None:
        """What the coordinator is in the middle of (their "casework" frame)."""
        return coordinating.CaseState.parse(await uow.dialogs.frame(person, "casework"))

    async def _keep(self, uow: Unit, person: Person, outcome: coordinating.Outcome) -> None:
        """Store the dialog's new state, or end its frame."""
        if not outcome.changed:
            return
        if outcome.state is None:
            await uow.dialogs.end(person, "casework")
        else:
            await uow.dialogs.put(person, "casework", outcome.state.to_bytes(), self.clock())

    def _ctx(self, desk: Desk, programme: Programme | None = None) -> coordinating.Context:
        return coordinating.Context(programme, desk.language, self._t(desk.language))

    def language_of(self, who: Actor) -> str:
        return self._language(who)

    def _language(self, who: Actor) -> str:
        return self.catalog.best_language(who.language_code, list(self.catalog.languages))

    def _t(self, language: str) -> Translate:
        return self.catalog.translator(language)


_BASE_ACTION: dict[str, str] = {
    "verified": "verify",
    "deferok": "defer",
    **dict.fromkeys(MATCH_ACTIONS, "match"),
}
_KNOWN: frozenset[str] = frozenset(ACTIONS)
#: Every action a coordinator's button can carry: what the log and the audit trail may name.
_NAMED: frozenset[str] = _KNOWN | set(_BASE_ACTION) | {"view", "stop", "res", "queue"}
_REFERENCE = re.compile(rf"{REFERENCE_PREFIX}[{CROCKFORD}]{{{REFERENCE_LENGTH}}}")


def _named(action: str) -> str:
    """The action as the log and the audit trail may name it: a forged one is "unknown".

    Callback data and typed commands are the sender's own text (newlines, words about their
    health): they never go to the log or to the audit trail's plaintext as they are."""
    return action if action in _NAMED else "unknown"


def _code(reference: str | None) -> str | None:
    """A reference code worth recording; anything else typed after /referral is not kept."""
    if reference is None:
        return None
    code = normalise_reference(reference)
    return code if _REFERENCE.fullmatch(code) else None


def _reply(outcome: coordinating.Outcome) -> Reply:
    """What the coordinator sees of a step of their dialog."""
    return Reply(outcome.prompts, outcome.notice, outcome.replace, outcome.keep_buttons)
