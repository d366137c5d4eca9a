"""Group use cases: a coordinator offers a group on a referral; the person joins, says not now,
joins the waiting list, chooses how facilitators see them, lists and leaves their groups; a
freed place goes to the next in line.

Who may offer: the coordinator holding the referral, while "Match" is open to them, on a
referral whose person asked for a group (`conversations.groups.wants_group`). Every change is
one update in one transaction: the place, its audit entry (no content) and the outbox rows (the
invitation, the holder's news) commit together; then the worker is woken.

The groups the config defines are written to the database the first time a coordinator looks
at the programme's groups (and brought up to date with the config every time).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.delivery import kinds
from bot.services import preferences
from bot.services.base import ServiceFlow
from bot.services.case_views import case_of
from bot.services.reply import Reply, Sender
from bot.services.revocation import has_role
from conversations import (
    callbacks,
    engine,
    group_dialog,
    group_screens,
    matching,
    screens,
    session_times,
    sessions,
)
from conversations.forms import Programme, ServiceConfig
from conversations.group_schedule import GroupConfig, instant, meetings
from conversations.group_screens import GroupCopy, GroupPress, MyGroup
from conversations.groups import (
    GroupCandidate,
    next_in_line,
    offer_kind,
    rank_groups,
    shown_name,
    wants_group,
)
from conversations.i18n import Translate
from conversations.lifecycle import decide
from conversations.matching import Profile
from conversations.prompts import Prompt
from storage import Person, Referral, Unit
from storage.groups import TAKEN, Group, GroupPlace, Meeting

log = logging.getLogger("peerdoor.groups")


class Details(BaseModel):
    """What is sealed as a group's details: its programme and its description."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    programme: str
    group: GroupConfig

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def of(cls, group: Group) -> Details:
        return cls.model_validate_json(group.details)


def next_meeting_text(
    details: Details, programme: Programme, after: datetime, lang: str, _: Translate
) -> str | None:
    """The group's next meeting by its schedule, in the programme's time zone."""
    zone = ZoneInfo(programme.timezone)
    group = details.group
    found = meetings(group.rule, group.first_meeting, zone, after, 1)
    return sessions.when_text(found[0], zone, lang, _) if found else None


def preferred_name(programme: Programme, answers: dict[str, object]) -> str:
    """The name the person asked to be called by (the form's ``role = "name"`` answer)."""
    question = next((q for q in programme.form if q.role == "name"), None)
    value = answers.get(question.id) if question is not None else None
    return value if isinstance(value, str) else ""


async def offerable(uow: Unit, config: ServiceConfig, referral: Referral, viewer: Person) -> bool:
    """Whether the holder's view of this referral shows "Offer a group": Match is open to the
    viewer, and the person asked for a group (or both)."""
    if not decide(case_of(referral), "match", viewer.id).allowed:
        return False
    programme = config.programme(await uow.referrals.programme_id(referral))
    if programme is None:
        return False
    made = bool(await uow.groups.of_programme(programme.id)) if not programme.groups else True
    return wants_group(programme, json.loads(await uow.referrals.answers(referral)), made)


async def with_group_button(
    uow: Unit,
    config: ServiceConfig,
    referral: Referral,
    viewer: Person,
    details: Prompt,
    _: Translate,
) -> Prompt:
    """The holder's view of a referral, with "Offer a group" beside the other actions when
    it is open to them."""
    if not await offerable(uow, config, referral, viewer):
        return details
    button = group_screens.offer_button(referral.reference, _)
    return Prompt(details.text, (*details.buttons, (button,)))


async def beside_match(
    uow: Unit,
    config: ServiceConfig,
    referral: Referral,
    viewer_id: str | None,
    prompt: Prompt,
    _: Translate,
) -> Prompt:
    """Any screen that offers "Match" for this referral (the status after a change, a note
    added, a message sent, the details sent on a claim, a supporter's answer, a withdrawn
    offer) offers "Offer a group" too, when it is open to the viewer."""
    match = callbacks.case("match", referral.reference)
    viewer = await uow.people.get(viewer_id) if viewer_id else None
    if viewer is None or not any(b.data == match for row in prompt.buttons for b in row):
        return prompt
    return await with_group_button(uow, config, referral, viewer, prompt, _)


async def _draft(uow: Unit, person: Person) -> group_dialog.Draft | None:
    """The coordinator's new or changed group, from their "group" frame (typed text reaches it
    through bot/services/typed_route.py). The only places that touch the frame: this,
    `_end_draft` and the save in `GroupsFlow._apply`."""
    return group_dialog.Draft.from_bytes(await uow.dialogs.frame(person, "group"))


async def _end_draft(uow: Unit, person: Person) -> None:
    await uow.dialogs.end(person, "group")


class GroupsFlow(ServiceFlow):
    # -- what every group use case needs --------------------------------------------------------

    async def groups_of(self, uow: Unit, programme: Programme) -> list[tuple[Group, Details]]:
        """The programme's groups (not closed), the config's written or updated first."""
        now = self.clock()
        for config in programme.groups:
            details = Details(programme=programme.id, group=config)
            found = await uow.groups.from_config(programme.id, config.id)
            if found is None:
                found = await uow.groups.create(
                    programme.id, details.to_bytes(), config.capacity, now, config_id=config.id
                )
            elif Details.of(found) != details or found.capacity != config.capacity:
                await uow.groups.update(found.id, details.to_bytes(), config.capacity, now)
            facilitators = [
                p for p in [await uow.people.find(t) for t in config.facilitators] if p is not None
            ]
            if sorted(p.id for p in facilitators) != await uow.groups.facilitators(found.id):
                await uow.groups.set_facilitators(found.id, facilitators)
        groups = await uow.groups.of_programme(programme.id)
        for group in groups:
            # a place freed without a word to us (a member erased by the retention purge) goes
            # to the next in line the next time anyone looks at the programme's groups
            await fill(uow, group, now)
        return [(g, Details.of(g)) for g in groups]

    async def _language(self, uow: Unit, person: Person | None, who: Sender) -> str:
        if person is not None:
            chosen = (await preferences.load(uow, person)).language
            if chosen in self.catalog.languages:
                return chosen
        return self.catalog.best_language(who.language_code, list(self.catalog.languages))

    def _t(self, language: str) -> Translate:
        return self.catalog.translator(language)

    async def offerable(self, uow: Unit, referral: Referral, viewer: Person) -> bool:
        return await offerable(uow, self.config, referral, viewer)

    # -- buttons --------------------------------------------------------------------------------

    async def press(self, who: Sender, raw: str | None, update_id: int) -> Reply:
        press = group_screens.parse(raw)
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            lang = await self._language(uow, person, who)
            _ = self._t(lang)
            if press is None or person is None:
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            if press.action in ("o", "p", "x"):
                reply = await self._coordinator(uow, person, press, lang)
            elif press.action == "c":
                reply = await self._rsvp(uow, person, press, lang)
            elif press.action in ("N", "E"):
                reply = await self._new_group(uow, person, press, lang)
            elif press.action in ("G", "P"):
                reply = await self._admin(uow, person, press, lang)
            elif press.action in ("f", "a", "X", "M", "D", "T", "w", "W"):
                reply = await self._facilitator(uow, person, press, lang)
            else:
                reply = await self._member(uow, person, press, lang)
        self.wake()
        return reply

    async def mine(self, who: Sender, update_id: int) -> Reply:
        """/groups: the person's groups and waiting lists, with Leave."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            if person is None and any(
                who.telegram_id in p.coordinators for p in self.config.programmes
            ):
                person = await uow.people.create(who.telegram_id, self.clock())  # as casework does
            lang = await self._language(uow, person, who)
            _ = self._t(lang)
            found = await self._mine(uow, person, lang) if person else []
            running = await self._running(uow, person, lang) if person else []
            coordinating = await self._summaries(uow, person, lang) if person else []
            programmes = await self._coordinates(uow, person) if person else []
        names = [(p.id, p.text(p.name, lang)) for p in programmes]
        prompts = [group_screens.programme_groups(coordinating, names, _)] if names else []
        if running:
            prompts.append(group_screens.groups_you_run(running, _))
        if found or not (running or names):
            prompts.append(group_screens.my_groups(found, _))
        return Reply(prompts, protect=bool(names or running))

    async def _mine(self, uow: Unit, person: Person, lang: str) -> list[MyGroup]:
        """The person's groups and waiting lists (with their next meeting and reminders)."""
        _ = self._t(lang)
        found: list[MyGroup] = []
        for place in await uow.groups.places_of(person.id):
            group = await uow.groups.get(place.group_id)
            if group is None or group.status == "closed" or place.status in ("declined", "left"):
                continue
            details = Details.of(group)
            programme = self.config.programme(details.programme)
            if programme is None:
                continue
            name = group_screens.name_of(details.group, programme, lang)
            when = next_meeting_text(details, programme, self.clock(), lang, _)
            found.append(MyGroup(group.id, name, place.status, when, place.reminders))
        return found

    async def _coordinates(self, uow: Unit, person: Person) -> list[Programme]:
        return [
            p
            for p in self.config.programmes
            if await has_role(uow, self.config, person, "coordinator", p.id)
        ]

    async def _summaries(
        self, uow: Unit, person: Person, lang: str
    ) -> list[group_screens.GroupSummary]:
        """The groups (not closed) of the programmes this person coordinates."""
        found = []
        for programme in await self._coordinates(uow, person):
            for group, details in await self.groups_of(uow, programme):
                found.append(await self._summary(uow, group, details, programme, lang))
        return found

    async def _summary(
        self, uow: Unit, group: Group, details: Details, programme: Programme, lang: str
    ) -> group_screens.GroupSummary:
        _ = self._t(lang)
        counts = await uow.groups.counts(group.id)
        return group_screens.GroupSummary(
            group.id,
            group_screens.name_of(details.group, programme, lang),
            group.status,
            counts.taken,
            group.capacity,
            counts.waiting,
            next_meeting_text(details, programme, self.clock(), lang, _),
        )

    async def _admin(self, uow: Unit, person: Person, press: GroupPress, lang: str) -> Reply:
        """A coordinator pauses, opens again or closes a group of their programme."""
        _ = self._t(lang)
        group = await uow.groups.get(press.target)
        details = Details.of(group) if group is not None else None
        programme = self.config.programme(details.programme) if details is not None else None
        if (
            group is None
            or details is None
            or programme is None
            or group.status == "closed"
            or not await has_role(uow, self.config, person, "coordinator", programme.id)
        ):
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        now = self.clock()
        name = group_screens.name_of(details.group, programme, lang)
        if press.action == "P" and press.arg == "c":
            return Reply(replace=group_screens.confirm_close(group.id, name, _))
        if press.action == "P" and press.arg in ("p", "o", "x"):
            status = {"p": "paused", "o": "open", "x": "closed"}[press.arg]
            if await uow.groups.set_status(group.id, status, now):
                await uow.audit.record(person, f"group_{status}", now)
                if status == "closed":
                    await self._ended(uow, group)
                    return Reply(replace=group_screens.closed(name, _))
                if status == "open":
                    fresh = await uow.groups.get(group.id)
                    assert fresh is not None
                    await fill(uow, fresh, now)
            group = await uow.groups.get(group.id)
            assert group is not None
        summary = await self._summary(uow, group, details, programme, lang)
        return Reply(replace=group_screens.group_admin(summary, _, changeable=not group.config))

    # -- a new group, in the bot ---------------------------------------------------------------

    async def _new_group(self, uow: Unit, person: Person, press: GroupPress, lang: str) -> Reply:
        _ = self._t(lang)
        if press.action == "E":
            return await self._edit(uow, person, press, lang)
        if press.target != "new":  # "New group" for a programme: start
            programme = self.config.programme(press.target)
            if programme is None or not await has_role(
                uow, self.config, person, "coordinator", programme.id
            ):
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            screen = (await uow.dialogs.load(person)).next_screen
            supporters = await self._supporters(uow, programme)
            outcome = group_dialog.start(programme, supporters, _, screen=screen)
            return await self._apply(uow, person, outcome, programme, lang, screen, keep=True)
        draft = await _draft(uow, person)
        programme = self.config.programme(draft.programme) if draft else None
        if draft is None or programme is None:
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        if not await has_role(uow, self.config, person, "coordinator", programme.id):
            await _end_draft(uow, person)
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        state = await uow.dialogs.load(person)
        frame = state.get("group")
        showing = frame.screen if frame is not None else 0
        if not engine.is_current("group", press.version, press.screen, showing):
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        today = self.clock().astimezone(ZoneInfo(programme.timezone)).date()
        screen = state.next_screen
        outcome = group_dialog.press(draft, press.arg, programme, today, _, screen=screen)
        return await self._apply(uow, person, outcome, programme, lang, screen)

    async def _supporters(self, uow: Unit, programme: Programme) -> list[tuple[str, str]]:
        found = []
        for supporter in await uow.roles.holders("supporter", programme.id):
            profile = Profile.from_bytes(await uow.supporters.profile(supporter))
            found.append((supporter.id, profile.name))
        return found

    async def _edit(self, uow: Unit, person: Person, press: GroupPress, lang: str) -> Reply:
        """Change a group made in the bot (a config group is changed in the config)."""
        _ = self._t(lang)
        group = await uow.groups.get(press.target)
        details = Details.of(group) if group is not None else None
        programme = self.config.programme(details.programme) if details else None
        if (
            group is None
            or details is None
            or programme is None
            or group.config
            or group.status == "closed"
            or not await has_role(uow, self.config, person, "coordinator", programme.id)
        ):
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        screen = (await uow.dialogs.load(person)).next_screen
        outcome = group_dialog.edit(
            programme,
            group.id,
            details.group,
            await self._supporters(uow, programme),
            await uow.groups.facilitators(group.id),
            _,
            screen=screen,
        )
        return await self._apply(uow, person, outcome, programme, lang, screen, keep=True)

    async def typed(self, who: Sender, text: str, update_id: int) -> Reply:
        """A coordinator's typed answer in the new-group dialog."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            lang = await self._language(uow, person, who)
            _ = self._t(lang)
            draft = await _draft(uow, person) if person else None
            programme = self.config.programme(draft.programme) if draft else None
            if person is None or draft is None or programme is None:
                return Reply([Prompt(screens.expired_notice(_))])
            screen = (await uow.dialogs.load(person)).next_screen
            outcome = group_dialog.typed(draft, text, programme, _, screen=screen)
            reply = await self._apply(uow, person, outcome, programme, lang, screen)
        self.wake()
        return reply

    async def _apply(
        self,
        uow: Unit,
        person: Person,
        outcome: group_dialog.Outcome,
        programme: Programme,
        lang: str,
        screen: int,
        keep: bool = False,
    ) -> Reply:
        """Carry out the dialog's outcome; a step it shows is screen number `screen` (its
        buttons were made with it), kept in the "group" frame for the one stale check."""
        _ = self._t(lang)
        now = self.clock()
        if outcome.save is not None:
            draft = await _draft(uow, person)
            await _end_draft(uow, person)
            details = Details(programme=programme.id, group=outcome.save)
            editing = await uow.groups.get(draft.editing) if draft and draft.editing else None
            if editing is not None:
                before = Details.of(editing).group
                await uow.groups.update(editing.id, details.to_bytes(), outcome.save.capacity, now)
                group = await uow.groups.get(editing.id)
                assert group is not None
                if (before.rule, before.first_meeting) != (
                    outcome.save.rule,
                    outcome.save.first_meeting,
                ):
                    await rescheduled(uow, programme, group, now)
                await fill(uow, group, now)  # more places: the next in line are invited
            else:
                group = await uow.groups.create(
                    programme.id, details.to_bytes(), outcome.save.capacity, now, created_by=person
                )
            chosen = [draft.supporters[i] for i in draft.chosen] if draft else []
            runners = [p for p in [await uow.people.get(i) for i in chosen] if p is not None]
            await uow.groups.set_facilitators(group.id, runners)
            await uow.audit.record(person, "group_changed" if editing else "group_made", now)
            summary = await self._summary(uow, group, details, programme, lang)
            return Reply(replace=group_screens.group_admin(summary, _, changeable=True))
        if outcome.draft is None:
            await _end_draft(uow, person)
        else:
            shown = screen if any(p.buttons for p in outcome.prompts) else None
            await uow.dialogs.put(
                person, "group", outcome.draft.to_bytes(), now, screen=shown
            )  # see _draft
        if outcome.notice is not None:
            return Reply(notice=outcome.notice, keep_buttons=True)
        return Reply(outcome.prompts, keep_buttons=keep)

    async def _ended(self, uow: Unit, group: Group) -> None:
        now = self.clock()
        for place in await uow.groups.places_of_group(group.id):
            if place.status not in ("member", "waiting", "invited", "asked"):
                continue
            referral = await uow.referrals.get(place.referral_id) if place.referral_id else None
            if referral is not None:
                await uow.outbox.add(
                    kinds.GROUP_ENDED,
                    referral=referral,
                    due_at=now,
                    now=now,
                    payload=json.dumps({"group": group.id}).encode(),
                )

    async def _running(self, uow: Unit, person: Person, lang: str) -> list[tuple[str, str]]:
        """The groups this person runs (the config's facilitators brought up to date first)."""
        for each in self.config.programmes:
            if each.groups:
                await self.groups_of(uow, each)
        running = []
        for group_id in await uow.groups.facilitating(person.id):
            group = await uow.groups.get(group_id)
            if group is None or group.status == "closed":
                continue
            details = Details.of(group)
            programme = self.config.programme(details.programme)
            if programme is not None:
                running.append((group.id, group_screens.name_of(details.group, programme, lang)))
        return running

    # -- the coordinator ------------------------------------------------------------------------

    async def _coordinator(self, uow: Unit, person: Person, press: GroupPress, lang: str) -> Reply:
        _ = self._t(lang)
        referral = await uow.referrals.by_reference(press.target)
        if referral is None or not await self.offerable(uow, referral, person):
            await uow.audit.record(person, "refused:group_offer", self.clock())
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        programme = self.config.programme(await uow.referrals.programme_id(referral))
        assert programme is not None
        if press.action == "x":
            return Reply(replace=group_screens.cancelled(_))
        groups = await self.groups_of(uow, programme)
        if press.action == "o":
            return await self._suggest(uow, referral, programme, groups, lang)
        chosen = next(((g, d) for g, d in groups if g.id == press.arg), None)
        if chosen is None or chosen[0].status != "open":
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        group, details = chosen
        name = group_screens.name_of(details.group, programme, lang)
        counts = await uow.groups.counts(group.id)
        kind = offer_kind(group.capacity, counts.taken)
        now = self.clock()
        status = "invited" if kind == "place" else "asked"
        if not await uow.groups.offer(group, referral.person_id, referral, status, now):
            return Reply(
                notice=group_screens.already_offered(referral.reference, name, _),
                keep_buttons=True,
            )
        await uow.audit.record(person, "group_offer", now, reference=referral.reference)
        await uow.outbox.add(
            kinds.GROUP_INVITE,
            referral=referral,
            due_at=now,
            now=now,
            payload=json.dumps({"group": group.id}).encode(),
        )
        return Reply(replace=group_screens.offered(referral.reference, name, kind == "waiting", _))

    async def _suggest(
        self,
        uow: Unit,
        referral: Referral,
        programme: Programme,
        groups: list[tuple[Group, Details]],
        lang: str,
    ) -> Reply:
        _ = self._t(lang)
        answers = json.loads(await uow.referrals.answers(referral))
        wanted = matching.wish(programme, answers)
        candidates = []
        when: dict[str, str] = {}
        for group, details in groups:
            counts = await uow.groups.counts(group.id)
            config = details.group
            candidates.append(
                GroupCandidate(
                    group.id,
                    group_screens.name_of(config, programme, lang),
                    config.language,
                    config.setting,
                    config.area,
                    group.capacity,
                    counts.taken,
                    counts.waiting,
                    "open" if group.status == "open" else "paused",
                )
            )
            text = next_meeting_text(details, programme, self.clock(), lang, _)
            if text:
                when[group.id] = text
        ranked = rank_groups(wanted, candidates)
        prompt = group_screens.suggestions(programme, referral.reference, ranked, when, lang, _)
        return Reply([prompt], keep_buttons=True, protect=True)

    # -- the person -----------------------------------------------------------------------------

    async def _member(self, uow: Unit, person: Person, press: GroupPress, lang: str) -> Reply:
        _ = self._t(lang)
        place = await uow.groups.place(press.target, person.id)
        group = await uow.groups.get(press.target)
        if place is None or group is None:
            return Reply(notice=group_screens.gone(_), keep_buttons=True)
        details = Details.of(group)
        programme = self.config.programme(details.programme)
        if programme is None:
            return Reply(notice=group_screens.gone(_), keep_buttons=True)
        name = group_screens.name_of(details.group, programme, lang)
        referral = await uow.referrals.get(place.referral_id) if place.referral_id else None
        now = self.clock()
        a = press.action
        if a == "j":
            if group.status != "open":
                return Reply(notice=group_screens.gone(_), keep_buttons=True)
            counts = await uow.groups.counts(group.id)
            if place.status == "invited" or (
                place.status == "asked" and counts.taken < group.capacity
            ):
                after = "member"
            else:
                after = "waiting"
            if not await uow.groups.move(group.id, person.id, ("invited", "asked"), after, now):
                return Reply(notice=group_screens.gone(_), keep_buttons=True)
            await uow.audit.record(person, f"group_{after}", now)
            if after == "member" and referral is not None:
                await arm_member(uow, programme, group, referral, now, now)
            await self._tell_holder(uow, referral, group, "joined" if after == "member" else after)
            preferred = ""
            if referral is not None:
                preferred = preferred_name(
                    programme, json.loads(await uow.referrals.answers(referral))
                )
            return Reply(
                [group_screens.choose_shown_as(group.id, preferred, _)],
                replace=group_screens.joined(name, after == "waiting", _),
            )
        if a == "n":
            if not await uow.groups.move(
                group.id, person.id, ("invited", "asked"), "declined", now
            ):
                return Reply(notice=group_screens.gone(_), keep_buttons=True)
            await uow.audit.record(person, "group_declined", now)
            await self._tell_holder(uow, referral, group, "declined")
            if place.status in TAKEN:
                await self._fill(uow, group)
            return Reply(replace=group_screens.not_now(_))
        if a == "s" and press.arg in ("n", "i") and place.status in ("member", "waiting"):
            preferred = ""
            if referral is not None:
                preferred = preferred_name(
                    programme, json.loads(await uow.referrals.answers(referral))
                )
            shown = shown_name(preferred, "name" if press.arg == "n" else "initials")
            await uow.groups.choose(group.id, person.id, shown, reminders=place.reminders)
            return Reply(
                [group_screens.ask_reminders(group.id, _)],
                replace=group_screens.shown_as_saved(shown, _),
            )
        if a == "r" and press.arg in ("0", "1") and place.status in ("member", "waiting"):
            on = press.arg == "1"
            await uow.groups.set_reminders(group.id, person.id, on)
            if referral is not None and place.status == "member":
                await arm_member(uow, programme, group, referral, now, now)
            return Reply(replace=group_screens.reminders_saved(on, _))
        if a == "R" and press.arg in ("0", "1") and place.status == "member":
            # from /groups: turned on or off, and the list shown again as it is now
            on = press.arg == "1"
            await uow.groups.set_reminders(group.id, person.id, on)
            if referral is not None:
                await arm_member(uow, programme, group, referral, now, now)
            await uow.audit.record(person, "group_reminders", now)
            return Reply(replace=group_screens.my_groups(await self._mine(uow, person, lang), _))
        if a == "l" and place.status in ("member", "waiting", "invited", "asked"):
            return Reply([group_screens.confirm_leave(group.id, name, _)])
        if a == "L":
            live = ("member", "waiting", "invited", "asked")
            if not await uow.groups.move(group.id, person.id, live, "left", now):
                return Reply(notice=group_screens.gone(_), keep_buttons=True)
            await uow.audit.record(person, "group_left", now)
            await self._tell_holder(uow, referral, group, "left")
            if place.status in TAKEN:
                await self._fill(uow, group)
            return Reply(replace=group_screens.left(name, _))
        if a == "k":
            return Reply(replace=group_screens.stayed(_))
        return Reply(notice=screens.expired_notice(_), keep_buttons=True)

    async def _rsvp(self, uow: Unit, person: Person, press: GroupPress, lang: str) -> Reply:
        """Coming / Can't come, under a reminder: noted for the meeting."""
        _ = self._t(lang)
        meeting = (
            await uow.groups.get_meeting(int(press.target)) if press.target.isdigit() else None
        )
        place = await uow.groups.place(meeting.group_id, person.id) if meeting else None
        if (
            meeting is None
            or place is None
            or place.status != "member"
            or meeting.state not in ("planned", "moved")
            or meeting.starts_at <= self.clock()
            or press.arg not in ("y", "n")
        ):
            return Reply(notice=group_screens.gone(_), keep_buttons=True)
        coming = press.arg == "y"
        await uow.groups.answer(meeting.id, person.id, "coming" if coming else "not_coming")
        return Reply(replace=group_screens.answered(coming, _))

    # -- the facilitators -------------------------------------------------------------------

    async def _facilitator(self, uow: Unit, person: Person, press: GroupPress, lang: str) -> Reply:
        _ = self._t(lang)
        now = self.clock()
        if press.action == "f":
            group = await uow.groups.get(press.target)
            meeting = None
            if group is not None and person.id in await uow.groups.facilitators(group.id):
                meeting = await self._meeting_for_view(uow, group, press.arg == "p")
            if group is None or meeting is None:
                return Reply(notice=group_screens.gone(_), keep_buttons=True)
            return await self._view(uow, group, meeting, lang, replace=press.arg != "")
        meeting = (
            await uow.groups.get_meeting(int(press.target)) if press.target.isdigit() else None
        )
        group = await uow.groups.get(meeting.group_id) if meeting else None
        if (
            meeting is None
            or group is None
            or person.id not in await uow.groups.facilitators(group.id)
        ):
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        details = Details.of(group)
        programme = self.config.programme(details.programme)
        assert programme is not None
        zone = ZoneInfo(programme.timezone)
        if press.action == "a":
            members = await uow.groups.members(group.id)
            index = int(press.arg) if press.arg.isdigit() else -1
            if meeting.starts_at > now or meeting.state == "cancelled" or index >= len(members):
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            member = members[index]
            _answer, came = (await uow.groups.attendance(meeting.id)).get(
                member.person_id, (None, None)
            )
            await uow.groups.mark(meeting.id, member.person_id, not came)
            await uow.groups.change_meeting(meeting.id, "held", now)  # once: stays held
            await self._door_later(uow, group, meeting, members)
            fresh = await uow.groups.get_meeting(meeting.id)
            assert fresh is not None
            return await self._view(uow, group, fresh, lang, replace=True)
        if press.action in ("w", "W"):
            return await self._concern(uow, person, group, meeting, press, lang)
        if meeting.state not in ("planned", "moved") or meeting.starts_at <= now:
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        if press.action == "M":
            today = now.astimezone(zone).date()
            days = [today + timedelta(days=i) for i in range(session_times.DAYS_AHEAD)]
            choices = [(d.strftime("%Y%m%d"), sessions.date_text(d, lang)) for d in days]
            return Reply([group_screens.move_to(meeting.id, choices, _)], keep_buttons=True)
        if press.action == "D":
            same = meeting.starts_at.astimezone(zone).strftime("%H:%M")
            if len(press.arg) != 8 or not press.arg.isdigit():
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            return Reply(replace=group_screens.move_at(meeting.id, press.arg, same, _))
        new_start = None
        if press.action == "T":
            try:
                moment = datetime.strptime(press.arg, "%Y%m%d%H%M")
            except ValueError:
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
            new_start = instant(moment.date(), moment.time(), zone)
            if new_start <= now or new_start == meeting.starts_at:
                return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        await self._change(uow, programme, group, meeting, new_start)
        await uow.audit.record(person, "group_moved" if new_start else "group_cancelled", now)
        fresh = await uow.groups.get_meeting(meeting.id)
        assert fresh is not None
        return await self._view(uow, group, fresh, lang, replace=True)

    async def _concern(
        self,
        uow: Unit,
        person: Person,
        group: Group,
        meeting: Meeting,
        press: GroupPress,
        lang: str,
    ) -> Reply:
        """A facilitator's concern about a member goes to whoever holds the member's referral
        (else each coordinator, privately): the reference and the group only."""
        _ = self._t(lang)
        members = await uow.groups.members(group.id)
        shown = [
            await uow.groups.shown_as(group.id, m.person_id) or group_screens.a_member(_)
            for m in members
        ]
        if press.action == "w":
            return Reply(
                [group_screens.concern_about_whom(meeting.id, shown, _)], keep_buttons=True
            )
        index = int(press.arg) if press.arg.isdigit() else -1
        if index >= len(members):
            return Reply(notice=screens.expired_notice(_), keep_buttons=True)
        member = members[index]
        referral = await uow.referrals.get(member.referral_id) if member.referral_id else None
        if referral is None:
            return Reply(notice=group_screens.gone(_), keep_buttons=True)
        now = self.clock()
        await uow.outbox.add(
            kinds.GROUP_CONCERN,
            referral=referral,
            due_at=now,
            now=now,
            payload=json.dumps({"group": group.id}).encode(),
        )
        await uow.audit.record(person, "group_concern", now, reference=referral.reference)
        return Reply(replace=group_screens.concern_sent(shown[index], _))

    async def _door_later(
        self, uow: Unit, group: Group, meeting: Meeting, members: list[GroupPlace]
    ) -> None:
        """A day after a held meeting (time for every mark), a member who has then missed two
        in a row gets one gentle "the door stays open" (if they agreed to check-ins)."""
        due = max(meeting.starts_at + DOOR_AFTER, self.clock())
        for member in members:
            referral = await uow.referrals.get(member.referral_id) if member.referral_id else None
            if referral is not None:
                await uow.outbox.schedule(
                    kinds.GROUP_DOOR,
                    slot=f"door:{meeting.id}",
                    referral=referral,
                    due_at=due,
                    now=self.clock(),
                )

    async def _meeting_for_view(self, uow: Unit, group: Group, past: bool) -> Meeting | None:
        """The group's last meeting (to mark who came), or its next one (who is coming)."""
        now = self.clock()
        if past:
            gone = [m for m in await uow.groups.meetings(group.id) if m.starts_at <= now]
            return max(gone, key=lambda m: m.starts_at) if gone else None
        details = Details.of(group)
        programme = self.config.programme(details.programme)
        assert programme is not None
        zone = ZoneInfo(programme.timezone)
        known = [m for m in await uow.groups.meetings(group.id) if m.starts_at > now]
        for slot in meetings(details.group.rule, details.group.first_meeting, zone, now, 1):
            known.append(await uow.groups.meeting(group.id, slot, now))
        ahead = [m for m in known if m.starts_at > now]
        return min(ahead, key=lambda m: m.starts_at) if ahead else None

    async def _view(
        self, uow: Unit, group: Group, meeting: Meeting, lang: str, *, replace: bool
    ) -> Reply:
        _ = self._t(lang)
        details = Details.of(group)
        programme = self.config.programme(details.programme)
        assert programme is not None
        zone = ZoneInfo(programme.timezone)
        marks = await uow.groups.attendance(meeting.id)
        people = []
        for member in await uow.groups.members(group.id):
            shown = await uow.groups.shown_as(
                group.id, member.person_id
            ) or group_screens.a_member(_)
            answer, came = marks.get(member.person_id, (None, None))
            people.append(group_screens.Attendee(shown, answer, came))
        prompt = group_screens.meeting_view(
            group.id,
            meeting.id,
            group_screens.name_of(details.group, programme, lang),
            sessions.when_text(meeting.starts_at, zone, lang, _),
            meeting.state,
            meeting.starts_at <= self.clock(),
            people,
            _,
        )
        if replace:
            return Reply(replace=prompt)
        return Reply([prompt], keep_buttons=True, protect=True)

    async def _change(
        self,
        uow: Unit,
        programme: Programme,
        group: Group,
        meeting: Meeting,
        new_start: datetime | None,
    ) -> None:
        """Move or cancel a meeting: each member told at once, its reminders and link queued
        again for the new time (or dropped)."""
        now = self.clock()
        if new_start is None:
            await uow.groups.change_meeting(meeting.id, "cancelled", now)
        else:
            await uow.groups.change_meeting(meeting.id, "moved", now, starts_at=new_start)
        payload = {
            "meeting": meeting.id,
            "old": meeting.starts_at.isoformat(),
            "new": new_start.isoformat() if new_start else None,
        }
        for member in await uow.groups.members(group.id):
            referral = await uow.referrals.get(member.referral_id) if member.referral_id else None
            if referral is None:
                continue
            await uow.outbox.drop_slots(
                referral, (kinds.GROUP_REMINDER, kinds.GROUP_LINK), str(meeting.id)
            )
            await uow.outbox.add(
                kinds.GROUP_CHANGE,
                referral=referral,
                due_at=now,
                now=now,
                payload=json.dumps(payload).encode(),
            )
            await arm_member(uow, programme, group, referral, now, now)

    async def _tell_holder(
        self, uow: Unit, referral: Referral | None, group: Group, answer: str
    ) -> None:
        if referral is None or referral.holder_id is None:
            return
        now = self.clock()
        await uow.outbox.add(
            kinds.GROUP_ANSWER,
            referral=referral,
            due_at=now,
            now=now,
            payload=json.dumps({"group": group.id, "answer": answer}).encode(),
        )

    async def _fill(self, uow: Unit, group: Group) -> None:
        await fill(uow, group, self.clock())


async def rescheduled(uow: Unit, programme: Programme, group: Group, now: datetime) -> None:
    """The group meets on a new schedule: its meetings still to come (planned, moved or
    cancelled) are dropped with their queued reminders and links, each member is told at once
    and their messages are queued for the new meetings. Past meetings and who came stay."""
    ahead = [
        m.id
        for m in await uow.groups.meetings(group.id)
        if m.starts_at > now and m.state != "held"
    ]
    for member in await uow.groups.members(group.id):
        referral = await uow.referrals.get(member.referral_id) if member.referral_id else None
        if referral is None:
            continue
        for meeting_id in ahead:
            await uow.outbox.drop_slots(
                referral, (kinds.GROUP_REMINDER, kinds.GROUP_LINK), str(meeting_id)
            )
    await uow.groups.drop_meetings(ahead)
    for member in await uow.groups.members(group.id):
        referral = await uow.referrals.get(member.referral_id) if member.referral_id else None
        if referral is None:
            continue
        await uow.outbox.add(
            kinds.GROUP_CHANGE,
            referral=referral,
            due_at=now,
            now=now,
            payload=json.dumps({"group": group.id, "schedule": True}).encode(),
        )
        await arm_member(uow, programme, group, referral, now, now)


async def fill(uow: Unit, group: Group, now: datetime) -> None:
    """A place is free: the next in line is invited (their place held for them)."""
    if group.status != "open":
        return
    counts = await uow.groups.counts(group.id)
    waiting = await uow.groups.waiting(group.id)
    for person_id in next_in_line(group.capacity, counts.taken, waiting):
        place = await uow.groups.place(group.id, person_id)
        referral = (
            await uow.referrals.get(place.referral_id)
            if place is not None and place.referral_id
            else None
        )
        if referral is None:
            continue  # nobody to write to: they stay on the list
        if await uow.groups.move(group.id, person_id, ("waiting",), "invited", now):
            await uow.outbox.add(
                kinds.GROUP_INVITE,
                referral=referral,
                due_at=now,
                now=now,
                payload=json.dumps({"group": group.id}).encode(),
            )


#: How long after a held meeting a member who missed it and the one before hears from us.
DOOR_AFTER = timedelta(days=1)
#: How many meetings ahead a member's messages are queued: each one sent queues the ones after
#: it, and with two queued a meeting whose messages were lost to downtime does not end the chain.
ARMED_AHEAD = 2


async def arm_member(
    uow: Unit,
    programme: Programme,
    group: Group,
    referral: Referral,
    after: datetime,
    now: datetime,
) -> list[Meeting]:
    """Queue a member's messages for the group's next meetings after ``after`` that are still
    on: their reminders (if they asked for them) and, for an online group, the link shortly
    before. Each is a slot of the outbox (unique per referral, kind and meeting), so arming
    again never queues twice; sending one arms the meetings after it."""
    place = await uow.groups.place(group.id, referral.person_id)
    if group.status != "open" or place is None or place.status != "member":
        return []
    details = Details.of(group)
    rule, zone = details.group.rule, ZoneInfo(programme.timezone)
    armed: list[Meeting] = []
    for slot in meetings(rule, details.group.first_meeting, zone, after, ARMED_AHEAD + 2):
        meeting = await uow.groups.meeting(group.id, slot, now)
        if meeting.state not in ("planned", "moved") or meeting.starts_at <= max(after, now):
            continue
        await _arm_meeting(uow, programme, details, meeting, place.reminders, referral, now)
        armed.append(meeting)
        if len(armed) == ARMED_AHEAD:
            break
    return armed


async def _arm_meeting(
    uow: Unit,
    programme: Programme,
    details: Details,
    meeting: Meeting,
    reminders: bool,
    referral: Referral,
    now: datetime,
) -> None:
    settings = programme.sessions
    if reminders:
        planned = session_times.plan(
            meeting.starts_at, settings.remind_before_hours, settings.log_after_hours, now
        )
        for index, due in planned.reminders:
            await uow.outbox.schedule(
                kinds.GROUP_REMINDER,
                slot=f"{meeting.id}:{index}",
                referral=referral,
                due_at=due,
                now=now,
            )
    if details.group.setting == "online" and details.group.link:
        due = meeting.starts_at - timedelta(minutes=programme.group_link_minutes_before)
        await uow.outbox.schedule(
            kinds.GROUP_LINK,
            slot=str(meeting.id),
            referral=referral,
            due_at=max(due, now),
            now=now,
        )


async def reminders_on(uow: Unit, person: Person) -> bool:
    """Whether the person is a member of a group with its reminders on (their own choice, apart
    from check-ins: /stop leaves them, /groups turns them off)."""
    return any(p.status == "member" and p.reminders for p in await uow.groups.places_of(person.id))


async def places_held(uow: Unit, person: Person) -> list[str]:
    """Before erasing a person: the groups where they hold a place (to offer it on after)."""
    return [p.group_id for p in await uow.groups.places_of(person.id) if p.status in TAKEN]


async def refill(uow: Unit, group_ids: list[str], now: datetime) -> None:
    """After erasing a person: each place they held goes to the next in line."""
    for group_id in group_ids:
        group = await uow.groups.get(group_id)
        if group is not None:
            await fill(uow, group, now)


async def copies(uow: Unit, config: ServiceConfig, person: Person, lang: str) -> list[GroupCopy]:
    found = []
    for place in await uow.groups.places_of(person.id):
        group = await uow.groups.get(place.group_id)
        if group is None:
            continue
        details = Details.of(group)
        programme = config.programme(details.programme)
        name = (
            group_screens.name_of(details.group, programme, lang)
            if programme
            else details.group.id
        )
        mine = []
        for meeting in await uow.groups.meetings(group.id):
            answer, came = (await uow.groups.attendance(meeting.id)).get(person.id, (None, None))
            if answer is not None or came is not None:
                mine.append((meeting.starts_at, answer, came))
        shown = await uow.groups.shown_as(group.id, person.id)
        found.append(GroupCopy(name, place.status, place.queued_at, shown, mine))
    return found


def invitation_for(
    details: Details,
    group: Group,
    programme: Programme,
    status: str,
    when: str | None,
    lang: str,
    _: Translate,
) -> Prompt:
    how = group_screens.how_text(details.group, programme, lang, _)
    name = group_screens.name_of(details.group, programme, lang)
    return group_screens.invitation(group.id, name, when, how, status == "asked", _)
