"""Session use cases: plan a meeting (day, time, where, confirm), list and cancel meetings, the
supporter's one-tap log and concern note, and the person's choice of reminders.

Who may plan or cancel: the supporter of the accepted engagement, or the coordinator holding
the referral. Each method is one update in one transaction: the change, its audit entry (no
content) and the outbox rows commit together, then the worker is woken and the reply sent.
What a planner is in the middle of is kept sealed in the "meeting" frame of their dialog stack.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.delivery import kinds, session_calendar
from bot.services import assessment_meetings, preferences, relationship_care
from bot.services.base import ServiceFlow
from bot.services.reply import Reply, Sender
from conversations import (
    assessment_meeting,
    callbacks,
    engine,
    meeting_plan,
    screens,
    sessions,
    surveys,
)
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.prompts import Prompt, esc
from conversations.sessions import Draft, Press
from storage import Engagement, Person, Referral, Session, Unit

log = logging.getLogger("peerdoor.sessions")


@dataclass(frozen=True)
class Planning:
    """An accepted engagement, and who is planning for it (no engagement: the holder plans
    the meeting for the initial assessment)."""

    engagement: Engagement | None
    referral: Referral
    programme: Programme
    person: Person
    by_supporter: bool

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.programme.timezone)

    @property
    def target(self) -> str:
        """What the planner's buttons name: the engagement, or the assessment's referral."""
        if self.engagement is None:
            return assessment_meeting.target(self.referral.reference)
        return self.engagement.id


class SessionsFlow(ServiceFlow):
    # -- /sessions ------------------------------------------------------------------------------

    async def people(self, who: Sender) -> Reply:
        """/sessions: the people I support, with their next meeting and buttons to plan."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            _ = self._t(await self.language_for(uow, person, who))
            found: list[sessions.Person] = []
            for engagement in (
                await uow.engagements.for_supporter(person, ("accepted",)) if person else []
            ):
                referral = await uow.referrals.get(engagement.referral_id)
                programme = await self._programme(uow, referral)
                if referral is None or programme is None:
                    continue
                coming = await session_calendar.upcoming(uow, engagement, self.clock())
                lang = await self.language_for(uow, person, who)
                next_one = (
                    sessions.when_text(coming[0].starts_at, ZoneInfo(programme.timezone), lang, _)
                    if coming
                    else None
                )
                found.append(sessions.Person(engagement.id, referral.reference, next_one))
        return Reply([sessions.my_people(found, _)], protect=True)

    # -- buttons --------------------------------------------------------------------------------

    async def press(self, who: Sender, raw: str | None) -> Reply:
        step = engine.parse(raw)
        step = step if step is not None and step.dialog == "meeting" else None
        press = sessions.parse(raw) if step is None else None
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            lang = await self.language_for(uow, person, who)
            _ = self._t(lang)
            if person is None or (step is None and press is None):
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            if step is not None:
                reply = await self._step(uow, person, step, lang)
            else:
                assert press is not None
                reply = await self._press(uow, person, press, lang)
        self.wake()
        return reply

    async def _step(
        self, uow: Unit, person: Person, press: engine.ScreenPress, lang: str
    ) -> Reply:
        """A button of one of the planner's screens: refused without the right to plan for the
        engagement (audited), stale unless it is on the screen the planner shows now."""
        _ = self._t(lang)
        state = await uow.dialogs.load(person)
        frame = state.get("meeting")
        showing = frame.screen if frame is not None else 0
        if press.action == "q":  # cancel: nothing to check the right to plan against
            if frame is None or not engine.is_current(
                "meeting", press.version, press.screen, showing
            ):
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            await uow.dialogs.end(person, "meeting")
            return Reply(replace=sessions.planning_stopped(_))
        planning = await self._planning(uow, person, press.arg)
        if planning is None:
            await uow.audit.record(person, f"refused:session_{press.action}", self.clock())
            return Reply([sessions.not_now(_)], keep_buttons=True)
        if not engine.is_current("meeting", press.version, press.screen, showing):
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        draft = await self._draft(uow, person)
        ctx = self._context(planning, lang, state.next_screen)
        day = press.more[0] if press.more else ""
        outcome = meeting_plan.press(draft, press.action, day, ctx, _)
        return await self._apply(uow, planning, outcome, lang, ctx.screen)

    async def _press(self, uow: Unit, person: Person, press: Press, lang: str) -> Reply:
        _ = self._t(lang)
        a = press.action
        if a in ("p", "l"):  # plan (the planner's first screen) or list an engagement's meetings
            planning = await self._planning(uow, person, press.target)
            if planning is None:
                await uow.audit.record(person, f"refused:session_{a}", self.clock())
                return Reply([sessions.not_now(_)], keep_buttons=True)
            return await self._plan_step(uow, planning, press, lang)
        if a == "keep":
            return Reply(replace=sessions.kept(_))
        if a in ("cx", "cy", "lg", "nn", "r1"):
            return await self._about_session(uow, person, press, lang)
        if a == "r0":
            return await self._reminders(uow, person, False, None, _)
        if a == "ra":  # "remind me" under the time of an assessment meeting
            return await self._assessment_reminders(uow, person, press.target, _)
        if a in ("ax", "ay"):  # the holder cancels an assessment meeting (after a confirm)
            return await self._cancel_assessment(uow, person, press, lang)
        return Reply(notice=screens.expired_notice(_), keep_buttons=True)

    async def _plan_step(self, uow: Unit, planning: Planning, press: Press, lang: str) -> Reply:
        if press.action == "l":
            _ = self._t(lang)
            if planning.engagement is None:  # an assessment meeting: no list of meetings
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            return Reply([await self._meetings(uow, planning, lang, _)], keep_buttons=True)
        draft = await self._draft(uow, planning.person)
        ctx = self._context(planning, lang, (await uow.dialogs.load(planning.person)).next_screen)
        outcome = meeting_plan.press(draft, press.action, press.arg, ctx, self._t(lang))
        return await self._apply(uow, planning, outcome, lang, ctx.screen, protect=True)

    async def _apply(
        self,
        uow: Unit,
        planning: Planning,
        outcome: meeting_plan.Outcome,
        lang: str,
        screen: int,
        protect: bool = False,
    ) -> Reply:
        """Store the planner's state, or the meeting it saved; then what to show. A screen of
        the planner shown now takes the number `screen` (its buttons were made with it)."""
        reply = Reply(
            outcome.prompts,
            outcome.notice,
            outcome.replace,
            outcome.keep_buttons,
            protect=protect,
        )
        if outcome.save is not None:
            return await self._save(uow, planning, outcome.save, lang)
        if outcome.draft is None:
            await uow.dialogs.end(planning.person, "meeting")
        elif outcome.prompts or outcome.replace is not None:
            await uow.dialogs.put(
                planning.person, "meeting", outcome.draft.to_bytes(), self.clock(), screen=screen
            )
        elif outcome.changed:
            await uow.dialogs.put(
                planning.person, "meeting", outcome.draft.to_bytes(), self.clock()
            )
        return reply

    def _context(self, planning: Planning, lang: str, screen: int) -> meeting_plan.Context:
        return meeting_plan.Context(
            planning.target,
            planning.referral.reference,
            planning.zone,
            self.clock(),
            lang,
            screen,
        )

    async def _save(
        self, uow: Unit, planning: Planning, save: meeting_plan.Save, lang: str
    ) -> Reply:
        now = self.clock()
        if planning.engagement is None:
            return await self._save_assessment(uow, planning, save, lang)
        session = await uow.sessions.add(
            planning.engagement,
            planning.referral,
            save.starts_at,
            save.where.to_bytes(),
            planning.person,
            now,
        )
        await session_calendar.arm(
            uow,
            planning.programme,
            planning.referral,
            session,
            now,
            by_coordinator=not planning.by_supporter,
        )
        await uow.dialogs.end(planning.person, "meeting")
        await uow.audit.record(
            planning.person,
            "session:planned",
            now,
            reference=planning.referral.reference,
            detail=str(session.id),
        )
        log.info("session.planned ref=%s", planning.referral.reference)
        _ = self._t(lang)
        when = sessions.when_text(save.starts_at, planning.zone, lang, _)
        return Reply(replace=sessions.saved(session.id, when, planning.by_supporter, _))

    async def _save_assessment(
        self, uow: Unit, planning: Planning, save: meeting_plan.Save, lang: str
    ) -> Reply:
        """The holder saved the meeting for the assessment: kept, reminders queued."""
        meeting = await assessment_meetings.save(
            uow,
            planning.programme,
            planning.referral,
            planning.person,
            save.starts_at,
            save.where.to_bytes(),
            self.clock(),
        )
        await uow.dialogs.end(planning.person, "meeting")
        _ = self._t(lang)
        when = sessions.when_text(save.starts_at, planning.zone, lang, _)
        return Reply(replace=assessment_meeting.saved(meeting.id, when, _))

    async def _cancel_assessment(
        self, uow: Unit, person: Person, press: Press, lang: str
    ) -> Reply:
        _ = self._t(lang)
        number = callbacks.number(press.target)
        meeting = await uow.assessment_meetings.get(number) if number is not None else None
        referral = await uow.referrals.get(meeting.referral_id) if meeting else None
        if meeting is None or referral is None:
            return Reply(replace=sessions.gone(_))
        held = await assessment_meetings.held(
            uow, self.config, person, referral.reference, planning=False
        )
        now = self.clock()
        if held is None:
            await uow.audit.record(person, "refused:assessment_meeting_cancel", now)
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        if meeting.cancelled_at is not None or meeting.starts_at <= now:
            return Reply(replace=sessions.gone(_))
        zone = ZoneInfo(held[1].timezone)
        when = sessions.when_text(meeting.starts_at, zone, lang, _)
        if press.action == "ax":
            return Reply(
                [assessment_meeting.confirm_cancel(meeting.id, when, _)], keep_buttons=True
            )
        await assessment_meetings.cancel(uow, referral, meeting, person, now)
        return Reply(replace=sessions.cancelled(when, _))

    async def _assessment_reminders(
        self, uow: Unit, person: Person, meeting_id: str, _: Translate
    ) -> Reply:
        """The person's "Yes, remind me" under the time of their assessment meeting."""
        number = callbacks.number(meeting_id)
        meeting = await uow.assessment_meetings.get(number) if number is not None else None
        referral = await uow.referrals.get(meeting.referral_id) if meeting else None
        if referral is None or referral.person_id != person.id:
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        return await self._reminders(uow, person, True, referral, _)

    async def _meetings(self, uow: Unit, planning: Planning, lang: str, _: Translate) -> Prompt:
        assert planning.engagement is not None
        coming = await session_calendar.upcoming(uow, planning.engagement, self.clock())
        listed = [(s.id, sessions.when_text(s.starts_at, planning.zone, lang, _)) for s in coming]
        end = surveys.end_button(planning.engagement.id, _) if planning.by_supporter else None
        return sessions.meetings(
            planning.engagement.id, planning.referral.reference, listed, _, end
        )

    # -- one session: cancel, log, the person's reminders ---------------------------------------

    async def _about_session(self, uow: Unit, person: Person, press: Press, lang: str) -> Reply:
        _ = self._t(lang)
        found = await self._session(uow, press.target)
        if found is None:
            return Reply(replace=sessions.gone(_))
        session, engagement, referral, programme = found
        now = self.clock()
        zone = ZoneInfo(programme.timezone)
        when = sessions.when_text(session.starts_at, zone, lang, _)
        if press.action == "r1":
            if person.id != referral.person_id:
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            return await self._reminders(uow, person, True, referral, _)
        is_supporter = person.id == engagement.supporter_id and engagement.status == "accepted"
        if press.action in ("lg", "nn"):
            if not is_supporter:
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            if press.action == "nn":
                await uow.dialogs.end(person, "meeting")
                return Reply(replace=sessions.no_note(_))
            return await self._log(uow, person, session, referral, press.arg, _)
        if not (is_supporter or person.id == referral.holder_id):
            await uow.audit.record(person, "refused:session_cancel", now)
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        if not session_calendar.is_on(session) or session.starts_at <= now:
            return Reply(replace=sessions.gone(_))
        if press.action == "cx":
            return Reply([sessions.confirm_cancel(session.id, when, _)], keep_buttons=True)
        await session_calendar.cancel(uow, referral, session, now)
        await uow.audit.record(
            person, "session:cancelled", now, reference=referral.reference, detail=str(session.id)
        )
        log.info("session.cancelled ref=%s", referral.reference)
        return Reply(replace=sessions.cancelled(when, _))

    async def _log(
        self,
        uow: Unit,
        person: Person,
        session: Session,
        referral: Referral,
        code: str,
        _: Translate,
    ) -> Reply:
        outcome = sessions.OUTCOME_CODES.get(code)
        now = self.clock()
        if outcome is None:
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        if not await uow.sessions.log(session, outcome, now):
            return Reply(replace=sessions.already_logged(_))
        sid = str(session.id)
        await uow.outbox.drop_slots(referral, (kinds.SESSION_LOG,), sid)  # asked already
        await uow.audit.record(
            person, "session:logged", now, reference=referral.reference, detail=outcome
        )
        if outcome == "concern":  # the holder, at once; the words (if any) only later
            await uow.outbox.schedule(
                kinds.CONCERN, slot=sid, referral=referral, due_at=now, now=now
            )
            note = Draft(sessions.ASK_NOTE, session.engagement_id, session=session.id)
            await uow.dialogs.put(person, "meeting", note.to_bytes(), now)
            log.warning("session.concern ref=%s", referral.reference)
        logged = await uow.sessions.get(session.id)  # with its outcome, for the care rules
        if logged is not None:
            await relationship_care.after_log(uow, logged, referral, now)
        return Reply(replace=sessions.logged(outcome, session.id, _))

    async def _reminders(
        self, uow: Unit, person: Person, on: bool, referral: Referral | None, _: Translate
    ) -> Reply:
        """The person's "remind me" (under the news of a time) or "no more reminders"."""
        now = self.clock()
        prefs = await preferences.load(uow, person)
        if on and not prefs.agreed("checkins"):
            return Reply([sessions.reminders_need_consent(_)], keep_buttons=True)
        prefs.session_reminders = on
        await preferences.save(uow, person, prefs, now)
        await uow.audit.record(person, "choice:session_reminders", now)
        if on:
            await session_calendar.arm_referrer(uow, self.config, person, now)
            await assessment_meetings.arm_all(uow, self.config, person, now)
            return Reply([sessions.reminders_on(_)])
        await session_calendar.disarm_referrer(uow, person, now)
        return Reply([sessions.reminders_off(_)])

    # -- typed text -----------------------------------------------------------------------------

    async def typed(self, who: Sender, text: str) -> Reply | None:
        """A time, a place or a concern note, when one was asked for; else None."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            draft = await self._draft(uow, person) if person is not None else None
            if person is None or draft is None:
                return None
            lang = await self.language_for(uow, person, who)
            _ = self._t(lang)
            if draft.pending == sessions.ASK_NOTE:
                reply = await self._note(uow, person, draft, text.strip(), _)
            else:
                planning = await self._planning(uow, person, draft.engagement)
                if planning is None:
                    await uow.dialogs.end(person, "meeting")
                    return Reply([sessions.not_now(_)])
                reply = await self._typed_step(uow, planning, draft, text.strip(), lang)
        self.wake()
        return reply

    async def _typed_step(
        self, uow: Unit, planning: Planning, draft: Draft, text: str, lang: str
    ) -> Reply:
        ctx = self._context(planning, lang, (await uow.dialogs.load(planning.person)).next_screen)
        outcome = meeting_plan.typed(draft, text, ctx, self._t(lang))
        return await self._apply(uow, planning, outcome, lang, ctx.screen)

    async def _note(
        self, uow: Unit, person: Person, draft: Draft, text: str, _: Translate
    ) -> Reply:
        """The supporter's note after a concern: into the referral's thread, on to the holder."""
        found = await self._session(uow, str(draft.session))
        await uow.dialogs.end(person, "meeting")
        if found is None or not text:
            return Reply([sessions.no_note(_)])
        _session, engagement, referral, _programme = found
        if engagement.supporter_id != person.id:
            return Reply([Prompt(esc(screens.expired_notice(_)))])
        now = self.clock()
        entry = await uow.thread.add(referral, "note", person, text.encode(), now)
        await uow.outbox.add(
            kinds.CONCERN_NOTE,
            referral=referral,
            due_at=now,
            now=now,
            payload=json.dumps({"entry": entry}).encode(),
        )
        await uow.audit.record(person, "session:note", now, reference=referral.reference)
        return Reply([sessions.note_passed_on(_)])

    # -- helpers --------------------------------------------------------------------------------

    async def _planning(self, uow: Unit, person: Person, engagement_id: str) -> Planning | None:
        """The accepted engagement, if ``person`` is its supporter or the referral's holder;
        or the referral at "Assessing", if ``person`` holds it (``A<reference>``)."""
        reference = assessment_meeting.reference_of(engagement_id)
        if reference is not None:
            held = await assessment_meetings.held(uow, self.config, person, reference)
            if held is None:
                return None
            return Planning(None, held[0], held[1], person, by_supporter=False)
        engagement = await uow.engagements.get(engagement_id) if engagement_id else None
        if engagement is None or engagement.status != "accepted":
            return None
        referral = await uow.referrals.get(engagement.referral_id)
        programme = await self._programme(uow, referral)
        if referral is None or programme is None:
            return None
        if person.id == engagement.supporter_id:
            return Planning(engagement, referral, programme, person, by_supporter=True)
        if person.id == referral.holder_id:
            return Planning(engagement, referral, programme, person, by_supporter=False)
        return None

    async def _session(
        self, uow: Unit, session_id: str
    ) -> tuple[Session, Engagement, Referral, Programme] | None:
        number = callbacks.number(session_id)
        session = await uow.sessions.get(number) if number is not None else None
        engagement = await uow.engagements.get(session.engagement_id) if session else None
        referral = await uow.referrals.get(engagement.referral_id) if engagement else None
        programme = await self._programme(uow, referral)
        if session is None or engagement is None or referral is None or programme is None:
            return None
        return session, engagement, referral, programme

    async def _programme(self, uow: Unit, referral: Referral | None) -> Programme | None:
        if referral is None:
            return None
        return self.config.programme(await uow.referrals.programme_id(referral))

    async def _draft(self, uow: Unit, person: Person) -> Draft | None:
        return Draft.from_bytes(await uow.dialogs.frame(person, "meeting"))
