"""End of support: the person's feedback survey and the supporter's closing report.

Support ends when the holder closes a matched referral (bot.services.casework) or when the
supporter taps "Support has ended" (``s:end:<engagement>``). In the same transaction: the
engagement ends, the person's invitation is queued (only if they agreed to feedback and the
programme asks any), and the supporter's (if the programme has a closing report). The survey
itself is conversations.surveys; its state and answers are sealed (storage.surveys). Feedback
answers of people who agreed to feedback are also counted anonymously for `peerdoor report`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime

from bot.delivery import kinds, session_calendar
from bot.services import preferences
from bot.services.base import ServiceFlow
from bot.services.case_views import person_language
from bot.services.reply import Reply, Sender
from conversations import safety, surveys
from conversations.forms import Programme, ServiceConfig
from conversations.surveys import SurveyKind, SurveyPress, SurveyState
from storage import Engagement, Person, Referral, Unit

log = logging.getLogger("peerdoor.surveys")


async def end_engagement(
    uow: Unit, config: ServiceConfig, referral: Referral, engagement: Engagement, now: datetime
) -> bool:
    """End an accepted engagement and queue the surveys; False if it was not accepted (ended
    already, by a double tap or by the other side): then nothing is queued twice."""
    if not await uow.engagements.end(engagement, now):
        return False
    await session_calendar.engagement_ended(uow, engagement, referral)  # no more reminders
    programme = config.programme(await uow.referrals.programme_id(referral))
    if programme is None:
        return True
    payload = json.dumps({"engagement": engagement.id}).encode()
    await _ask_feedback(uow, programme, referral, engagement, now)
    supporter = await uow.people.get(engagement.supporter_id) if engagement.supporter_id else None
    if supporter is not None and programme.closing_report:
        await uow.outbox.add(
            kinds.CLOSING_REPORT,
            recipient=supporter,
            referral=referral,
            due_at=now,
            now=now,
            payload=payload,
        )
    log.info("engagement.ended ref=%s", referral.reference)
    return True


async def _ask_feedback(
    uow: Unit, programme: Programme, referral: Referral, engagement: Engagement, now: datetime
) -> None:
    """The person's feedback invitation, if they agreed to feedback and there are questions."""
    owner = await uow.people.get(referral.person_id)
    agreed = owner is not None and (await preferences.load(uow, owner)).agreed("feedback")
    if agreed and programme.feedback:
        payload = json.dumps({"engagement": engagement.id}).encode()
        await uow.outbox.add(
            kinds.FEEDBACK, referral=referral, due_at=now, now=now, payload=payload
        )


async def close_referral(
    uow: Unit, config: ServiceConfig, referral: Referral, now: datetime
) -> None:
    """The holder closes the referral: a live, accepted engagement ends with it, and an offer
    nobody has answered yet is withdrawn (the supporter's buttons then say it is closed).

    With no live match, but one that ended when the supporter left (or erased themselves) and
    nobody followed: the person's support still ends here, so they are asked for feedback
    about it, once (never if an invitation for this referral was ever queued)."""
    live = await uow.engagements.live(referral)
    if live is not None and live.status == "accepted":
        await end_engagement(uow, config, referral, live, now)
        return
    if live is not None:
        await uow.engagements.decide(live, "withdrawn", now)
        return
    ended = [e for e in await uow.engagements.for_referral(referral) if e.status == "ended"]
    programme = config.programme(await uow.referrals.programme_id(referral))
    if ended and programme is not None and not await uow.outbox.ever(kinds.FEEDBACK, referral):
        await _ask_feedback(uow, programme, referral, ended[-1], now)


class SurveyFlow(ServiceFlow):
    """The survey's updates, one transaction each: load the state, decide, store, reply."""

    async def typed(self, who: Sender, text: str, update_id: int) -> Reply | None:
        """An answer typed during a survey; None when the person is not in one."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            raw = await uow.surveys.load_state(person) if person is not None else None
            if person is None or raw is None:
                return None
            state = SurveyState.from_bytes(raw)
            programme = self.config.programme(state.programme)
            if programme is None:  # the programme left the config: the survey is gone
                await uow.surveys.clear_state(person)
                return None
            if not await uow.updates.claim(update_id, self.clock()):
                return Reply()
            _ = self._t(state.language)
            outcome = surveys.handle(programme, state, surveys.Typed(text), self.clock().date(), _)
            prompts = list(outcome.prompts)
            if state.kind == "feedback" and safety.in_crisis(programme, state.language, text):
                prompts.insert(0, safety.crisis_after_form(programme, state.language, _))
                await self._urgent(uow, person, state)
            await self._apply(uow, person, outcome)
        self.wake()
        return Reply(prompts)

    async def _urgent(self, uow: Unit, person: Person, state: SurveyState) -> None:
        """Crisis words in a feedback answer: the crisis lines at once, and the holder is told
        the referral is urgent (never the words), as for a message after the form."""
        log.warning("safety.crisis_words stage=feedback")
        engagement = await uow.engagements.get(state.engagement)
        referral = await uow.referrals.get(engagement.referral_id) if engagement else None
        if referral is None:
            return
        now = self.clock()
        await uow.referrals.set_urgent(referral, True, now)
        await uow.audit.record(
            person, "urgent", now, reference=referral.reference, detail="crisis_words"
        )
        if referral.holder_id is not None:
            await uow.outbox.add(kinds.URGENT, referral=referral, due_at=now, now=now)

    async def press(self, who: Sender, data: str | None, update_id: int) -> Reply:
        """A survey button (``f:``): checked against the person's state and the screen."""
        lang = self.catalog.best_language(who.language_code, list(self.catalog.languages))
        press = surveys.parse(data)
        async with self.store.unit() as uow:
            if not await uow.updates.claim(update_id, self.clock()):
                return Reply(keep_buttons=True)
            person = await uow.people.find(who.telegram_id)
            if press is None or person is None:
                return Reply(notice=surveys.stale_notice(self._t(lang)), keep_buttons=True)
            if press.screen == surveys.INVITE_SCREEN:
                return await self._invited(uow, person, press, lang)
            raw = await uow.surveys.load_state(person)
            if raw is None:
                return Reply(notice=surveys.stale_notice(self._t(lang)), keep_buttons=True)
            state = SurveyState.from_bytes(raw)
            programme = self.config.programme(state.programme)
            _ = self._t(state.language)
            if programme is None:
                await uow.surveys.clear_state(person)
                return Reply(notice=surveys.stale_notice(_))
            outcome = surveys.handle(programme, state, press, self.clock().date(), _)
            await self._apply(uow, person, outcome)
        return Reply(
            outcome.prompts,
            notice=outcome.notice,
            replace=outcome.replace,
            keep_buttons=outcome.keep_buttons or outcome.replace is not None,
            in_place=outcome.state is None or outcome.state.screen != state.screen,
        )

    async def support_ended(self, who: Sender, engagement_id: str, update_id: int) -> Reply:
        """The supporter's "Support has ended" (``s:end:<engagement>``): end it, queue the
        surveys and tell the holder coordinator (the reference only)."""
        lang = self.catalog.best_language(who.language_code, list(self.catalog.languages))
        async with self.store.unit() as uow:
            if not await uow.updates.claim(update_id, self.clock()):
                return Reply(keep_buttons=True)
            person = await uow.people.find(who.telegram_id)
            engagement = await uow.engagements.get(engagement_id) if engagement_id else None
            if person is None or engagement is None or engagement.supporter_id != person.id:
                await uow.audit.record(person, "refused:end_support", self.clock())
                return Reply(notice=surveys.stale_notice(self._t(lang)), keep_buttons=True)
            lang = await person_language(uow, person, lang)
            _ = self._t(lang)
            referral = await uow.referrals.get(engagement.referral_id)
            assert referral is not None  # an engagement goes with its referral
            now = self.clock()
            if not await end_engagement(uow, self.config, referral, engagement, now):
                return Reply(notice=surveys.ended_already(_))
            await uow.outbox.add(kinds.SUPPORT_ENDED, referral=referral, due_at=now, now=now)
            await uow.audit.record(person, "end_support", now, reference=referral.reference)
        self.wake()
        return Reply([surveys.support_ended_confirmed(referral.reference, _)])

    # -- internals ------------------------------------------------------------------------------

    async def _invited(self, uow: Unit, person: Person, press: SurveyPress, lang: str) -> Reply:
        """Start (or Not now) under the invitation: checked against who may answer what."""
        engagement = await uow.engagements.get(press.arg) if press.arg else None
        referral = await uow.referrals.get(engagement.referral_id) if engagement else None
        programme = (
            self.config.programme(await uow.referrals.programme_id(referral))
            if referral is not None
            else None
        )
        if (
            engagement is None
            or referral is None
            or programme is None
            or engagement.status != "ended"
        ):
            return Reply(notice=surveys.stale_notice(self._t(lang)), keep_buttons=True)
        kind: SurveyKind
        if person.id == referral.person_id:
            kind = "feedback"
            prefs = await preferences.load(uow, person)
            lang = prefs.language or programme.default_language
            if not prefs.agreed("feedback"):  # they withdrew the consent since
                return Reply([surveys.declined(self._t(lang))])
        elif person.id == engagement.supporter_id:
            kind = "closing"
            lang = await person_language(uow, person, programme.default_language)
        else:
            return Reply(notice=surveys.stale_notice(self._t(lang)), keep_buttons=True)
        _ = self._t(lang)
        if press.action == "no":
            await uow.audit.record(person, f"survey_declined:{kind}", self.clock())
            return Reply([surveys.declined(_)])
        if press.action != "go":
            return Reply(notice=surveys.stale_notice(_), keep_buttons=True)
        if await uow.surveys.submitted(engagement.id, kind):
            return Reply([surveys.already_done(_)])
        raw = await uow.surveys.load_state(person)
        if raw is not None:  # in the middle of one: carry on where they were
            state = SurveyState.from_bytes(raw)
            going = self.config.programme(state.programme)
            if going is not None and state.engagement == engagement.id:
                return Reply([surveys.current(going, state, self._t(state.language))])
        state = surveys.begin(programme, kind, engagement.id, lang)
        await uow.surveys.save_state(person, state.to_bytes(), self.clock())
        return Reply([surveys.current(programme, state, _)], in_place=True)  # over the invitation

    async def _apply(self, uow: Unit, person: Person, outcome: surveys.Outcome) -> None:
        now = self.clock()
        if outcome.state is not None:
            if outcome.changed:
                await uow.surveys.save_state(person, outcome.state.to_bytes(), now)
            return
        raw = await uow.surveys.load_state(person)
        await uow.surveys.clear_state(person)
        if raw is None or outcome.finished is None:
            return
        state = SurveyState.from_bytes(raw)
        answers = outcome.finished
        if not any(v is not None for v in answers.values()):
            return  # nothing given: nothing to keep
        engagement = await uow.engagements.get(state.engagement)
        referral = await uow.referrals.get(engagement.referral_id) if engagement else None
        programme = self.config.programme(state.programme)
        if engagement is None or referral is None or programme is None:
            return  # erased meanwhile
        blob = json.dumps(answers, sort_keys=True).encode()
        try:
            await uow.surveys.submit(referral, state.kind, person, blob, now, engagement.id)
        except sqlite3.IntegrityError:
            return  # answered already (another device): the first answers stand
        await uow.audit.record(person, f"survey:{state.kind}", now, reference=referral.reference)
        if state.kind == "feedback":
            if (await preferences.load(uow, person)).agreed("feedback"):
                for question_id, answer in surveys.countable(programme, answers):
                    await uow.surveys.count(programme.id, question_id, answer, now)
        elif referral.holder_id is not None:
            await uow.outbox.add(kinds.CLOSING_RECEIVED, referral=referral, due_at=now, now=now)
            self.wake()
        log.info("survey.submitted kind=%s ref=%s", state.kind, referral.reference)
