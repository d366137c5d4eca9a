"""Loading what a coordinator may see of a referral."""

from __future__ import annotations

import json

from bot.services import preferences
from bot.services.matchmaking import supporter_name
from conversations.casework import CaseView, ThreadLine
from conversations.forms import ServiceConfig
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
        agreement=agreed,
        assessments=[
            (a.at, a.outcome, json.loads(a.answers)) for a in await uow.assessments.list(referral)
        ],
    )
    return view, available(case_of(referral), viewer_id)


async def person_language(uow: Unit, person: Person, default: str) -> str:
    return (await preferences.load(uow, person)).language or default
