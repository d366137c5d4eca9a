"""The intake use cases: load, decide (conversations), commit (storage), then reply.

Each public method is one Telegram update. The answer is committed, together with the update id
that carried it, before anything is sent back: an update delivered twice is applied once, and a
person never gets an acknowledgement for an answer that is not on disk.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.delivery import calendar, session_calendar
from bot.delivery.kinds import (
    DOOR_OPEN,
    FOR_REFERRER,
    NOTICE,
    NOTICE_REMINDER,
    REOPENED,
    WITHDRAWN,
)
from bot.services import groups, preferences
from bot.services.case_views import case_of
from bot.services.engagements import supporter_gone
from bot.services.funnel import note_reached
from bot.services.reply import Clock, Reply, Sender
from bot.services.submissions import HANDLERS, SubmitEnv, Submitted
from conversations import callbacks, news, safety, screens
from conversations.callbacks import AccountPress, ConsentPress, DraftPress
from conversations.draft import Draft
from conversations.forms import MAIN_FORM, Programme
from conversations.i18n import Translate
from conversations.intake import Command, Intake, Outcome, Typed
from conversations.lifecycle import ENDED, OPEN, reopened_status
from conversations.preferences import SETTINGS, Preferences
from conversations.prompts import Prompt
from storage import Person, Referral, Store, Unit, crashpoints

log = logging.getLogger("peerdoor.intake")


class IntakeFlow:
    def __init__(
        self, store: Store, intake: Intake, clock: Clock, wake: Callable[[], None] = lambda: None
    ) -> None:
        self.store = store
        self.intake = intake
        self.clock = clock
        self.wake = wake  # tells the delivery worker that the outbox has something

    async def start(self, who: Sender, payload: str | None, update_id: int) -> Reply:
        """/start: resume a draft, show the reference of a sent form, or open the welcome."""
        async with self.store.unit() as uow:
            await uow.updates.claim(update_id, self.clock())
            person = await uow.people.find(who.telegram_id)
            changed = await self._notice_changed(uow, person, who) if person else None
            if changed is not None:
                return changed
            draft = await self._draft(uow, person)
            if draft is not None:
                return Reply(self.intake.resume(draft))
            sent = await self._already_sent(uow, person)
            if sent is not None:
                return Reply([sent])
        return Reply(self.intake.opening(payload, who.language_code))

    async def typed(self, who: Sender, text: str, update_id: int) -> Reply:
        return await self._with_draft(who, update_id, Typed(text))

    async def command(self, who: Sender, name: str, update_id: int) -> Reply:
        assert name in ("back", "cancel", "language", "help", "resume")  # not exit: quick_exit
        return await self._with_draft(who, update_id, Command(name))  # type: ignore[arg-type]

    async def press(self, who: Sender, data: str | None, update_id: int) -> Reply:
        press = callbacks.parse(data)
        if isinstance(press, ConsentPress):
            return await self._consent(who, press, update_id)
        if isinstance(press, AccountPress):
            return await self._account(who, press, update_id)
        if not isinstance(press, DraftPress):
            return Reply(notice=self._expired(who))
        return await self._with_draft(who, update_id, press)

    async def quick_exit(self, who: Sender, keep: bool, update_id: int) -> Reply:
        """/exit: clear the chat at once; the unfinished form goes too unless `keep`."""
        reply = await self._with_draft(who, update_id, Command("exit_keep" if keep else "exit"))
        if not reply.clear_chat:  # no form in progress: clear the chat all the same
            reply = Reply([screens.exited(self._translator(who))], clear_chat=True)
        log.info("person.quick_exit")
        return reply

    async def delete_request(self, who: Sender, update_id: int) -> Reply:
        """/delete: ask before erasing everything held about the person."""
        _ = self._translator(who)
        async with self.store.unit() as uow:
            await uow.updates.claim(update_id, self.clock())
            held = await uow.people.find(who.telegram_id) is not None
        return Reply([screens.confirm_delete(_) if held else screens.nothing_held(_)])

    async def not_text(self, who: Sender) -> Reply:
        """A sticker, photo or voice note: say kindly that only text is read. Nothing changes."""
        return Reply([screens.only_text(self._translator(who))])

    async def went_wrong(self, who: Sender) -> Reply:
        return Reply([screens.went_wrong(self._translator(who))])

    # -- internals ----------------------------------------------------------------------------

    async def _consent(self, who: Sender, press: ConsentPress, update_id: int) -> Reply:
        opening = self.intake.consent_press(press)
        if opening.begin is None:  # nothing to store: the person has not agreed (yet)
            return Reply(
                opening.prompts,
                notice=opening.notice,
                replace=opening.replace,
                in_place=press.action == "n",  # "No, thank you": the answer takes its place
            )
        async with self.store.unit() as uow:
            if not await uow.updates.claim(update_id, self.clock()):
                return Reply(keep_buttons=True)
            person = await uow.people.find(who.telegram_id)
            if person is not None and await uow.drafts.load(person) is not None:
                return Reply(notice=self._expired(who), keep_buttons=True)
            counted = (await uow.dialogs.load(person)).screens if person is not None else 0
            first: Outcome | None = opening.begin
            if counted:  # someone with a screen counter: the form's numbers follow it
                first = self.intake.consent_press(press, counted).begin
            assert first is not None
            begun = first.draft
            own_form = begun is not None and begun.questionnaire == MAIN_FORM
            if own_form and person is not None and await uow.referrals.live(person) is not None:
                # An old "Yes, I agree" after the form was sent: one live referral per person.
                sent = await self._already_sent(uow, person)
                return Reply([sent] if sent else [], keep_buttons=True)
            person = person or await uow.people.create(who.telegram_id, self.clock())
            programme = self.intake.config.programme(press.programme)
            assert programme is not None
            prefs = await preferences.load(uow, person)
            prefs.language = press.language
            prefs.record("referral", True, programme.privacy_version, self.clock())
            await preferences.save(uow, person, prefs, self.clock())
            await self._apply(uow, person, first)
        log.info("intake.consented")
        return Reply(first.prompts, in_place=True)  # the notice becomes the question

    async def _read_preferences(self, who: Sender, update_id: int) -> Preferences | None:
        """The person's preferences, for a command that only reads them (None: nothing held)."""
        async with self.store.unit() as uow:
            await uow.updates.claim(update_id, self.clock())
            person = await uow.people.find(who.telegram_id)
            return await preferences.load(uow, person) if person is not None else None

    async def pause_request(self, who: Sender, update_id: int) -> Reply:
        """/pause: offer to hold back every message from us for a while."""
        _ = self._translator(who)
        prefs = await self._read_preferences(who, update_id)
        if prefs is None:
            return Reply([screens.nothing_held(_)])
        until = self._local(prefs.paused_until) if prefs.paused(self.clock()) else None
        return Reply([screens.pause_choice(_, until)])

    async def _pause(self, who: Sender, action: str, update_id: int) -> Reply:
        _ = self._translator(who)
        async with self.store.unit() as uow:
            if not await uow.updates.claim(update_id, self.clock()):
                return Reply(keep_buttons=True)
            person = await uow.people.find(who.telegram_id)
            if person is None:
                return Reply([screens.nothing_held(_)], in_place=True)
            prefs = await preferences.load(uow, person)
            hours = screens.PAUSES.get(action)
            prefs.paused_until = self.clock() + timedelta(hours=hours) if hours else None
            await preferences.save(uow, person, prefs, self.clock())
            if prefs.paused_until is None:
                await uow.outbox.bring_forward(person, FOR_REFERRER, self.clock())
        self.wake()  # postponed rows are due again when a pause ends early
        if prefs.paused_until is None:  # the /pause question, answered in its place
            return Reply([screens.resumed_messages(_)], in_place=True)
        log.info("person.paused hours=%d", hours)
        return Reply([screens.paused(self._local(prefs.paused_until), _)], in_place=True)

    def _local(self, when: datetime | None) -> str:
        """A time as the person reads it (the default programme's time zone)."""
        assert when is not None
        programme = self.intake.config.starting_programme() or self.intake.config.programmes[0]
        return when.astimezone(ZoneInfo(programme.timezone)).strftime("%d/%m/%Y %H:%M")

    async def privacy_request(self, who: Sender, update_id: int) -> Reply:
        """/privacy: the person's choices, to change or withdraw."""
        _ = self._translator(who)
        prefs = await self._read_preferences(who, update_id)
        if prefs is None:
            return Reply([screens.nothing_held(_)])
        return Reply([screens.privacy_settings(_choices(prefs), _)])

    async def _toggle_choice(self, who: Sender, index: int, update_id: int) -> Reply:
        _ = self._translator(who)
        async with self.store.unit() as uow:
            if not await uow.updates.claim(update_id, self.clock()):
                return Reply(keep_buttons=True)
            person = await uow.people.find(who.telegram_id)
            if person is None or not 0 <= index < len(SETTINGS):
                return Reply(notice=self._expired(who))
            prefs = await preferences.load(uow, person)
            key = SETTINGS[index]
            now = self.clock()
            if key == "session_reminders":
                on = not _choices(prefs)[key]  # what the person sees, turned over
                if on and not prefs.agreed("checkins"):  # reminders are part of "check-ins"
                    return Reply(notice=screens.reminders_need_checkins(_), keep_buttons=True)
                prefs.session_reminders = on
            elif key in ("checkins", "feedback"):
                version = await self._privacy_version(uow, person)
                prefs.record(key, not prefs.agreed(key), version, now)  # type: ignore[arg-type]
            else:
                setattr(prefs, key, not getattr(prefs, key))
            await preferences.save(uow, person, prefs, now)
            if key == "checkins":
                agreed = prefs.agreed("checkins")
                await calendar.consent_changed(uow, self.intake.config, person, agreed, now)
            if key == "session_reminders" and prefs.session_reminders:
                await session_calendar.arm_referrer(uow, self.intake.config, person, now)
            elif key == "session_reminders":
                await session_calendar.disarm_referrer(uow, person, now)
            await uow.audit.record(person, f"choice:{key}", now)
        return Reply(replace=screens.privacy_settings(_choices(prefs), _), keep_buttons=True)

    async def _reagree(self, who: Sender, update_id: int) -> Reply:
        _ = self._translator(who)
        async with self.store.unit() as uow:
            if not await uow.updates.claim(update_id, self.clock()):
                return Reply(keep_buttons=True)
            person = await uow.people.find(who.telegram_id)
            if person is None:
                return Reply([screens.nothing_held(_)])
            prefs = await preferences.load(uow, person)
            version = await self._privacy_version(uow, person)
            prefs.record("referral", True, version, self.clock())
            await preferences.save(uow, person, prefs, self.clock())
        return Reply([screens.thanks_agreed(_)])

    async def _programme_of(self, uow: Unit, person: Person) -> Programme | None:
        """The programme a person is with: their form in progress, else their latest referral."""
        draft = await self._draft(uow, person)
        if draft is not None:
            return self.intake.config.programme(draft.programme)
        referrals = await uow.referrals.for_person(person)
        if referrals:
            return self.intake.config.programme(await uow.referrals.programme_id(referrals[0]))
        return None

    async def _privacy_version(self, uow: Unit, person: Person) -> str:
        programme = await self._programme_of(uow, person)
        return programme.privacy_version if programme else "1"

    async def _notice_changed(self, uow: Unit, person: Person, who: Sender) -> Reply | None:
        """When the privacy notice changed since they agreed, they see it again first."""
        programme = await self._programme_of(uow, person)
        if programme is None:
            return None
        prefs = await preferences.load(uow, person)
        consent = prefs.consents.get("referral")
        if consent is None or consent.version == programme.privacy_version:
            return None
        lang = prefs.language or programme.default_language
        return Reply([screens.privacy_changed(programme, lang, self.intake.translator(lang))])

    async def _account(self, who: Sender, press: AccountPress, update_id: int) -> Reply:
        _ = self._translator(who)
        if press.action in screens.PAUSES or press.action == "resume":
            return await self._pause(who, press.action, update_id)
        toggled = callbacks.number(press.action[1:]) if press.action.startswith("t") else None
        if toggled is not None:
            return await self._toggle_choice(who, toggled, update_id)
        if press.action == "reagree":
            return await self._reagree(who, update_id)
        if press.action == "askdel":
            return Reply([screens.confirm_delete(_)])
        # An answer to a question on screen replaces it (one edit, no second message): "Hello
        # again" becomes the first question, "Delete everything?" says what was done.
        if press.action == "keep":
            return Reply([screens.kept_everything(_)], in_place=True)
        if press.action == "again":
            return await self._again(who, update_id)
        if press.action == "notnow":
            return Reply([screens.door_stays_open(_)], in_place=True)
        if press.action == "same":
            return Reply([screens.nothing_changed(_)], in_place=True)
        if press.action != "del":
            return Reply(notice=self._expired(who))
        async with self.store.unit() as uow:
            if not await uow.updates.claim(update_id, self.clock()):
                return Reply(keep_buttons=True)
            person = await uow.people.find(who.telegram_id)
            if person is None:
                return Reply([screens.nothing_held(_)], in_place=True)
            await self._tell_holders(uow, person)
            freed = await groups.places_held(uow, person)
            await uow.people.erase(person)
            await groups.refill(uow, freed, self.clock())
        log.info("person.erased")
        return Reply([screens.deleted_everything(_)], in_place=True)

    async def _tell_holders(self, uow: Unit, person: Person) -> None:
        """Before erasing: each coordinator holding one of their referrals is told "withdrawn"
        (the reference only), and the audit trail records the erasure, without content."""
        now = self.clock()
        await supporter_gone(uow, person, now)  # if they are a peer supporter
        for referral in await uow.referrals.for_person(person):
            await uow.audit.record(None, "erased", now, reference=referral.reference)
            live = await uow.engagements.live(referral)
            supporter = await uow.people.get(live.supporter_id or "") if live else None
            if supporter is not None:  # their supporter too: the reference only
                payload = json.dumps({"reference": referral.reference}).encode()
                await uow.outbox.add(
                    WITHDRAWN, recipient=supporter, due_at=now, now=now, payload=payload
                )
            if referral.holder_id is None or referral.status == "closed":
                continue
            holder = await uow.people.get(referral.holder_id)
            if holder is not None:
                payload = json.dumps({"reference": referral.reference}).encode()
                await uow.outbox.add(
                    WITHDRAWN, recipient=holder, due_at=now, now=now, payload=payload
                )
        self.wake()

    async def _with_draft(
        self, who: Sender, update_id: int, event: Typed | Command | DraftPress
    ) -> Reply:
        async with self.store.unit() as uow:
            first_time = await uow.updates.claim(update_id, self.clock())
            person = await uow.people.find(who.telegram_id)
            draft = await self._draft(uow, person)
            if draft is None or person is None:
                sent = await self._already_sent(uow, person)
                if isinstance(event, Command) and event.name == "help":
                    return Reply([self.intake.help(None, who.language_code)])
                if isinstance(event, DraftPress):
                    return Reply(notice=self._expired(who))
                if isinstance(event, Typed):
                    help_now = self._crisis_before_consent(who, event.text)
                    if help_now is not None:
                        return help_now
                return Reply([sent] if sent else self.intake.opening(None, who.language_code))
            if not first_time:  # already applied: show where they are, change nothing
                return Reply(self.intake.resume(draft), keep_buttons=True)
            changed = await self._notice_changed(uow, person, who)
            if changed is not None:
                return changed
            draft.counted = (await uow.dialogs.load(person)).screens
            outcome = self.intake.handle(draft, event, self.clock().date())
            own_form = outcome.submission is not None and outcome.submission.purpose == "referral"
            if own_form and await uow.referrals.live(person):
                # A form begun before the last one was sent: the database holds one live
                # referral per person (migration 0009), so this one is not sent.
                await uow.drafts.delete(person)
                log.info("intake.refused reason=already_live")
                sent = await self._already_sent(uow, person)
                return Reply([sent] if sent else [])
            submitted = await self._submit(uow, person, outcome)
            reference = submitted.reference if submitted is not None else None
            await self._apply(uow, person, outcome, draft.screen)
            if reference is not None:  # once the update's transaction is committed
                uow.after_commit.append(lambda: crashpoints.reached("intake.submitted"))
            if outcome.crisis:
                log.warning("safety.crisis_words stage=form")
        prompts = list(outcome.prompts)
        if submitted is not None:
            prompts += submitted.prompts
            assert outcome.submission is not None
            log.info("referral.submitted purpose=%s ref=%s", outcome.submission.purpose, reference)
            self.wake()
        return Reply(
            prompts,
            outcome.notice,
            outcome.replace,
            outcome.keep_buttons,
            clear_chat=outcome.clear_chat,
            in_place=isinstance(event, DraftPress) and _moved_on(draft, outcome),
        )

    async def _submit(self, uow: Unit, person: Person, outcome: Outcome) -> Submitted | None:
        """A sent questionnaire: its purpose's handler, in the caller's transaction."""
        if outcome.submission is None:
            return None
        handler = HANDLERS[outcome.submission.purpose]
        env = SubmitEnv(self.intake.config, self.intake.catalog, self.clock())
        return await handler(uow, person, outcome.submission, env)

    async def _apply(self, uow: Unit, person: Person, outcome: Outcome, before: int = 0) -> None:
        """Store the outcome's draft (or its end), in the caller's transaction. A new screen (a
        number other than `before`, the one showing) moves the person's screen counter to it."""
        if outcome.draft is None:
            await uow.drafts.delete(person)
            if outcome.forget and not await uow.people.holds_more_than_a_form(person):
                await uow.people.erase(person)
                log.info("intake.forgotten")
        elif outcome.changed:
            if outcome.draft.questionnaire == MAIN_FORM and outcome.draft.purpose is None:
                await note_reached(uow, person, outcome.draft, self.clock())  # report: counts
            screen = outcome.draft.screen
            await uow.drafts.save(
                person,
                outcome.draft.to_bytes(),
                self.clock(),
                outcome.draft.programme,
                screen=screen if screen != before else None,
            )

    async def _draft(self, uow: Unit, person: Person | None) -> Draft | None:
        if person is None:
            return None
        raw = await uow.drafts.load(person)
        return Draft.from_bytes(raw) if raw is not None else None

    async def _already_sent(self, uow: Unit, person: Person | None) -> Prompt | None:
        """What someone who already sent a form sees when they write: where it stands, or,
        when it was deferred or has ended, whether they would like support again."""
        if person is None:
            return None
        referrals = await uow.referrals.for_person(person)
        if not referrals:
            return None
        latest = referrals[0]
        programme = self.intake.config.programme(await uow.referrals.programme_id(latest))
        if programme is None:
            return None
        language = (await preferences.load(uow, person)).language or programme.default_language
        _ = self.intake.translator(language)
        if latest.status in ENDED:
            return screens.come_back(latest.reference, latest.status, _)
        if latest.status in OPEN:
            return screens.already_sent(programme, language, latest.reference, _)
        return news.status(latest.reference, latest.status, programme, language, _)

    async def _again(self, who: Sender, update_id: int) -> Reply:
        """ "Yes, please" to support again: a deferral is picked up where it was left (its holder
        or the group told, its history kept); after any other ending, a new form begins."""
        async with self.store.unit() as uow:
            if not await uow.updates.claim(update_id, self.clock()):
                return Reply(keep_buttons=True)
            person = await uow.people.find(who.telegram_id)
            if person is None or await uow.drafts.load(person) is not None:
                return Reply(notice=self._expired(who))
            referrals = await uow.referrals.for_person(person)
            latest = referrals[0] if referrals else None
            programme = (
                self.intake.config.programme(await uow.referrals.programme_id(latest))
                if latest is not None
                else None
            )
            if latest is None or programme is None or latest.status not in ENDED:
                sent = await self._already_sent(uow, person)
                return Reply([sent] if sent else [], notice=None if sent else self._expired(who))
            prefs = await preferences.load(uow, person)
            language = prefs.language or programme.default_language
            if latest.status != "deferred":
                counted = (await uow.dialogs.load(person)).screens
                outcome = self.intake.begin(programme, language, counted=counted)
                await self._apply(uow, person, outcome)
                log.info("intake.again")
                return Reply(outcome.prompts, in_place=True)
            await self._reopen(uow, person, latest, programme, prefs)
        _ = self.intake.translator(language)
        self.wake()
        return Reply([screens.reopened(programme, language, latest.reference, _)], in_place=True)

    async def _reopen(
        self,
        uow: Unit,
        person: Person,
        referral: Referral,
        programme: Programme,
        prefs: Preferences,
    ) -> None:
        now = self.clock()
        status = reopened_status(case_of(referral))
        await uow.referrals.set_status(referral, status, now)
        await uow.outbox.drop(DOOR_OPEN, referral)
        if referral.holder_id is not None:
            await uow.outbox.add(REOPENED, referral=referral, due_at=now, now=now)
        else:  # nobody holds it any more: back to the coordinators' group, with its reminder
            await uow.outbox.add(NOTICE, referral=referral, due_at=now, now=now)
            every = programme.service_levels.claim_window(referral.urgent)
            await uow.outbox.add(NOTICE_REMINDER, referral=referral, due_at=now + every, now=now)
        await calendar.arm_waiting(uow, programme, referral, prefs, now)
        await uow.audit.record(person, "reopened", now, reference=referral.reference)
        log.info("referral.reopened ref=%s", referral.reference)

    def _crisis_before_consent(self, who: Sender, text: str) -> Reply | None:
        """Crisis words from someone with nothing stored: help at once, and still store nothing."""
        for programme in self.intake.config.programmes:
            lang = self.intake.catalog.best_language(who.language_code, programme.languages)
            if safety.in_crisis(programme, lang, text):
                log.warning("safety.crisis_words stage=before_consent")
                _ = self.intake.translator(lang)
                prompts = [safety.crisis_after_form(programme, lang, _)]
                return Reply(prompts + self.intake.opening(programme.id, who.language_code))
        return None

    def _translator(self, who: Sender) -> Translate:
        catalog = self.intake.catalog
        return catalog.translator(
            catalog.best_language(who.language_code, list(catalog.languages))
        )

    def _expired(self, who: Sender) -> str:
        return screens.expired_notice(self._translator(who))


def _choices(prefs: Preferences) -> dict[str, bool]:
    return {
        "checkins": prefs.agreed("checkins"),
        "feedback": prefs.agreed("feedback"),
        "discreet": prefs.discreet,
        "silent": prefs.silent,
        "session_reminders": prefs.session_reminders and prefs.agreed("checkins"),
    }


def _moved_on(before: Draft, outcome: Outcome) -> bool:
    """A press that led to a new screen (or ended the form): the next screen takes the pressed
    message's place. A press answered with a note (the first question's Back) keeps it."""
    return outcome.draft is None or outcome.draft.screen != before.screen
