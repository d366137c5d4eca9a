"""Loading what a coordinator may see of a referral."""

from __future__ import annotations

import json

from bot.services import preferences
from bot.services.matchmaking import supporter_name
from conversations.casework import CaseView, ThreadLine
from conversations.forms import Programme, Question, ServiceConfig
from conversations.lifecycle import Action, Case, available
from storage import Person, Referral, Unit


def case_of(referral: Referral) -> Case:
    return Case(
        referral.status,
        referral.holder_id,
        verified=referral.verified_at is not None,
        contacted=referral.contacted_at is not None,
        ever_claimed=referral.claimed_at is not None,
    )


async def case_view(
    uow: Unit, config: ServiceConfig, referral: Referral, viewer_id: str
) -> tuple[CaseView, list[Action]]:
    """The full referral for its holder, and the actions open to them now."""
    programme = config.programme(await uow.referrals.programme_id(referral))
    assert programme is not None
    # answers to a professional's questionnaire are shown with its questions
    programme = (
        programme.asking(await uow.referrals.questionnaire(referral) or "form") or programme
    )
    answers = json.loads(await uow.referrals.answers(referral))
    owner = await uow.people.get(referral.person_id)
    language = programme.default_language
    if owner is not None:
        language = await person_language(uow, owner, language)
    thread = [ThreadLine(e.kind, e.at, e.body.decode()) for e in await uow.thread.list(referral)]
    closing = [json.loads(raw) for raw in await uow.surveys.answers(referral, "closing")]
    matches = await uow.engagements.for_referral(referral)
    supporter = None
    if matches:
        latest = matches[-1]
        supporter = (await supporter_name(uow, latest.supporter_id), latest.status)
    by, referrer = await _referred_by(uow, config, referral)
    answered = await uow.agreements.for_referral(referral)  # the latest answer, if any
    agreed = (answered[-1].version, answered[-1].answer, answered[-1].at) if answered else None
    view = CaseView(
        reference=referral.reference,
        programme=programme,
        status=referral.status,
        urgent=referral.urgent,
        submitted_at=referral.submitted_at,
        answers=answers,
        language=language,
        held_by_you=referral.holder_id == viewer_id,
        verified_at=referral.verified_at,
        contacted_at=referral.contacted_at,
        thread=thread,
        closing=closing,
        supporter=supporter,
        route=referral.route,
        referred_by=by,
        referrer=referrer,
        agreement=agreed,
        assessments=[
            (a.at, a.outcome, json.loads(a.answers)) for a in await uow.assessments.list(referral)
        ],
    )
    return view, available(case_of(referral), viewer_id)


async def _referred_by(
    uow: Unit, config: ServiceConfig, referral: Referral
) -> tuple[str | None, list[tuple[str, str]]]:
    """Who made a referral on the person's behalf: the coordinator's name (taken by phone),
    or the professional's details with their questions (sealed under the professional's key)."""
    made = await uow.referrals.referrer(referral) if referral.route != "self" else None
    if made is None:
        return None, []
    details = json.loads(made[1])
    programme = config.programme(await uow.referrals.programme_id(referral))
    name = await uow.referrals.questionnaire(referral)
    form = programme.questionnaire(name) if programme is not None and name else None
    lines = []
    if programme is not None and form is not None:
        lang = programme.default_language
        lines = [
            (programme.text(q.text, lang), _readable(programme, q, details[q.id], lang))
            for q in form.form
            if details.get(q.id) is not None
        ]
    by = details.get("by")
    return (str(by) if by else None), lines


def _readable(programme: Programme, question: Question, value: object, language: str) -> str:
    """An answer as the coordinator reads it: option labels, not ids."""
    chosen = value if isinstance(value, list) else [value]
    if question.kind in ("single", "multi"):
        return ", ".join(
            programme.text(o.label, language) if (o := question.option(str(c))) else str(c)
            for c in chosen
        )
    return str(value)


async def person_language(uow: Unit, person: Person, default: str) -> str:
    return (await preferences.load(uow, person)).language or default
