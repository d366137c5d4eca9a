"""/mydata: a person's copy of everything held about them (UK GDPR Art. 15 and Art. 20).

Everything is read and opened in one unit of work, which also records one "export" audit
entry per referral (the reference only). The copy goes to the person only, as protected
messages and a JSON file built in memory (nothing is written to disk). The file itself is not
protected, so that the person can save it and take it elsewhere.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from bot.services import groups
from bot.services.reply import Clock, Reply, Sender
from conversations import mydata, screens
from conversations.applicants import Record
from conversations.draft import Draft
from conversations.i18n import Translate
from conversations.intake import Intake
from conversations.matching import Profile
from conversations.mydata import (
    Activity,
    DraftCopy,
    Holding,
    MadeCopy,
    MeetingCopy,
    ReferralCopy,
    SurveyCopy,
    ThreadItem,
    VolunteerCopy,
)
from conversations.sessions import Where
from storage import Person, Referral, Store, Unit

log = logging.getLogger("peerdoor.mydata")

#: Enough for any referral's whole trail (entries are a few per action).
AUDIT_LIMIT = 100_000


@dataclass(frozen=True)
class Export:
    """What the handler sends: the summary, then (if anything is held) the file."""

    reply: Reply
    file: bytes | None = None
    filename: str | None = None
    caption: str | None = None


class MyData:
    def __init__(self, store: Store, intake: Intake, clock: Clock) -> None:
        self.store = store
        self.intake = intake
        self.clock = clock

    async def export(self, who: Sender, update_id: int) -> Export:
        now = self.clock()
        async with self.store.unit() as uow:
            first_time = await uow.updates.claim(update_id, now)
            person = await uow.people.find(who.telegram_id)
            if person is None:
                _ = self._translator(self._fallback_language(who))
                return Export(Reply([screens.nothing_held(_)], protect=True))
            holding = await self._holding(uow, person, who)
            if first_time:  # a redelivered update sends the copy again, and audits it once
                for referral in holding.referrals:
                    await uow.audit.record(person, "export", now, reference=referral.reference)
        _ = self._translator(holding.language)
        data = mydata.as_data(holding, now, _)
        blob = json.dumps(data, ensure_ascii=False, indent=2).encode()
        log.info("person.exported referrals=%d", len(holding.referrals))
        return Export(
            Reply(mydata.summary(holding, _), protect=True),
            file=blob,
            filename=mydata.filename(holding, now),
            caption=mydata.file_caption(_),
        )

    async def holding(self, uow: Unit, person: Person, language: str) -> Holding:
        """Everything held about ``person``, for a coordinator's copy on request (someone
        without Telegram: bot/services/referring.py)."""
        return await self._holding(uow, person, Sender(0, language))

    async def _holding(self, uow: Unit, person: Person, who: Sender) -> Holding:
        settings = _settings(await uow.people.settings(person))
        raw_draft = await uow.drafts.load(person)
        draft = Draft.from_bytes(raw_draft) if raw_draft is not None else None
        referrals = [await self._referral(uow, r) for r in await uow.referrals.for_person(person)]
        language = settings.get("language")
        if not isinstance(language, str):
            language = draft.language if draft is not None else self._fallback_language(who)
        config = self.intake.config
        return Holding(
            language=language,
            since=person.created_at,
            settings=settings,
            draft=None if draft is None else DraftCopy(config.programme(draft.programme), draft),
            referrals=referrals,
            profile=await _profile(uow, person),
            volunteering=await self._volunteering(uow, person),
            made=await _made(uow, person),
            groups=await groups.copies(uow, config, person, language),
        )

    async def _volunteering(self, uow: Unit, person: Person) -> list[VolunteerCopy]:
        """Their volunteer records (application, steps, training, supervision, notes)."""
        ids = [p.id for p in self.intake.config.programmes]
        found = []
        for applicant in await uow.applicants.of_person(person):
            programme_id = await uow.applicants.programme_id(applicant, ids)
            found.append(
                VolunteerCopy(
                    programme_id,
                    self.intake.config.programme(programme_id) if programme_id else None,
                    applicant.stage,
                    Record.from_bytes(await uow.applicants.record(applicant)),
                )
            )
        return found

    async def _referral(self, uow: Unit, referral: Referral) -> ReferralCopy:
        programme_id = await uow.referrals.programme_id(referral)
        outcome_raw = await uow.referrals.outcome(referral)
        outcome = json.loads(outcome_raw) if outcome_raw else None
        return ReferralCopy(
            reference=referral.reference,
            programme_id=programme_id,
            programme=self.intake.config.programme(programme_id),
            status=referral.status,
            urgent=referral.urgent,
            sent_at=referral.submitted_at,
            answers=json.loads(await uow.referrals.answers(referral)),
            claimed_at=referral.claimed_at,
            contacted_at=referral.contacted_at,
            verified_at=referral.verified_at,
            closed_at=referral.closed_at,
            outcome=outcome
            if isinstance(outcome, dict) or outcome is None
            else {"value": outcome},
            thread=sorted(
                [
                    ThreadItem(e.kind, e.at, e.body.decode())
                    for e in await uow.thread.list(referral)
                ]
                + [  # and the messages with their supporter (issue #15)
                    ThreadItem(f"talk_{m.direction}", m.at, m.body.decode())
                    for m in await uow.talk.list(referral)
                ]
                + [  # and their answers to the confidentiality agreement
                    ThreadItem(f"agreement_{a.answer}", a.at, a.version)
                    for a in await uow.agreements.for_referral(referral)
                ]
                + [  # and what their coordinator noted in the initial assessment
                    ThreadItem("assessment", a.at, _assessment_text(a.answers))
                    for a in await uow.assessments.list(referral)
                ],
                key=lambda item: item.at,
            ),
            activity=[
                Activity(e.at, e.action)
                for e in await uow.audit.entries(reference=referral.reference, limit=AUDIT_LIMIT)
            ],
            surveys=[
                SurveyCopy(e.kind, e.submitted_at, json.loads(e.answers))
                for e in await uow.surveys.entries(referral)
            ],
            meetings=await _meetings(uow, referral),
            source=await uow.referrals.source(referral),
        )

    def _fallback_language(self, who: Sender) -> str:
        catalog = self.intake.catalog
        return catalog.best_language(who.language_code, list(catalog.languages))

    def _translator(self, language: str) -> Translate:
        return self.intake.translator(language)


def _settings(blob: bytes | None) -> dict[str, Any]:
    if not blob:
        return {}
    value = json.loads(blob)
    return value if isinstance(value, dict) else {"settings": value}


async def _made(uow: Unit, person: Person) -> list[MadeCopy]:
    """The referrals ``person`` made for others (a professional): their own details only."""
    made = []
    for referral in await uow.referrals.made_by(person):
        found = await uow.referrals.referrer(referral)
        if found is not None:
            made.append(MadeCopy(referral.reference, referral.submitted_at, json.loads(found[1])))
    return made


async def _profile(uow: Unit, person: Person) -> dict[str, Any] | None:
    """A peer supporter's profile as they keep it (and whether they are paused)."""
    raw = await uow.supporters.profile(person)
    if raw is None:
        return None
    profile = Profile.from_bytes(raw).model_dump()
    profile["paused"] = await uow.supporters.paused(person)
    return profile


async def _meetings(uow: Unit, referral: Referral) -> list[MeetingCopy]:
    """Every session planned with a supporter about this referral, earliest first."""
    found = []
    for engagement in await uow.engagements.for_referral(referral):
        for session in await uow.sessions.for_engagement(engagement):
            where = Where.from_bytes(await uow.sessions.place(session, referral))
            found.append(
                MeetingCopy(
                    session.starts_at,
                    where.online,
                    where.place,
                    session.outcome,
                    cancelled=session.cancelled_at is not None,
                )
            )
    for meeting in await uow.assessment_meetings.for_referral(referral):  # for the assessment
        where = Where.from_bytes(await uow.assessment_meetings.place(meeting, referral))
        found.append(
            MeetingCopy(
                meeting.starts_at,
                where.online,
                where.place,
                None,
                cancelled=meeting.cancelled_at is not None,
            )
        )
    return sorted(found, key=lambda m: m.at)


def _assessment_text(raw: bytes) -> str:
    """The assessment's answers as "question id: answer" lines (the person's copy)."""
    answers = json.loads(raw)
    return "\n".join(
        f"{qid}: {', '.join(v) if isinstance(v, list) else v}"
        for qid, v in answers.items()
        if v is not None
    )
