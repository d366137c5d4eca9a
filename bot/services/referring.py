"""Referrals made on someone's behalf (issue 13), once sent: a professional's questionnaire,
and a referral a coordinator took by phone or in person (/newreferral, bot/services/
staff_referrals.py). The person referred has no Telegram account: a people row of their own
(storage people.create_offline), their answers sealed under their key, the referrer's details
sealed under the referrer's key (storage referrers).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime

from bot.delivery import calendar
from bot.delivery.kinds import PRO_UPDATE
from bot.services import preferences
from bot.services.submitting import (
    SubmitEnv,
    Submitted,
    answers_bytes,
    count_reported,
    hand_over,
)
from conversations import referring
from conversations.forms import Programme
from conversations.intake import Submission
from conversations.preferences import Consent, Preferences
from storage import Person, Referral, Unit

log = logging.getLogger("peerdoor.referring")


# -- what sending does (bot/services/submissions.py HANDLERS) -----------------------------------


async def professional(uow: Unit, sender: Person, sub: Submission, env: SubmitEnv) -> Submitted:
    """A professional's referral: a new person without Telegram, in the same queue, marked
    "referred by a professional"; the professional's own details sealed apart, under their key."""
    programme = env.programme(sub)
    questionnaire = programme.questionnaire(sub.questionnaire)
    assert questionnaire is not None  # the dialog checked it on this very update
    theirs, referrer = referring.split_answers(questionnaire, sub.answers)
    referral = await _offline_referral(
        uow, programme, sub, theirs, "professional", programme.privacy_version, env.now
    )
    await uow.referrals.add_referrer(
        referral,
        sender,
        answers_bytes(referrer),
        updates=questionnaire.updates,
        questionnaire=sub.questionnaire,
    )
    await uow.audit.record(sender, "referred", env.now, reference=referral.reference)
    _ = env.translator(sub.language)
    prompts = referring.sent_by_professional(
        programme, sub.language, referral.reference, questionnaire.updates, _
    )
    return Submitted(prompts, referral.reference)


async def phone(uow: Unit, sender: Person, sub: Submission, env: SubmitEnv) -> Submitted:
    """A coordinator's referral taken by phone or in person: the programme's form, answered on
    the person's behalf; the context says how they agreed and which notice they heard."""
    programme = env.programme(sub)
    how = sub.context.get("agreed", "phone")
    version = sub.context.get("notice", programme.privacy_version)
    referral = await _offline_referral(uow, programme, sub, sub.answers, how, version, env.now)
    # their check-ins: calls the holder is asked to make, if they said yes on the phone
    prefs = await preferences.load(uow, await _owner(uow, referral))
    await calendar.arm_waiting(uow, programme, referral, prefs, env.now)
    by = {"by": sub.context.get("by", "")}
    await uow.referrals.add_referrer(referral, sender, answers_bytes(by))
    await uow.audit.record(
        sender, "phone_referral", env.now, reference=referral.reference, detail=how
    )
    _ = env.translator(sub.language)
    return Submitted(referring.taken_by_phone(referral.reference, _), referral.reference)


async def _offline_referral(
    uow: Unit,
    programme: Programme,
    sub: Submission,
    answers: Mapping[str, object],
    how: str,
    version: str,
    now: datetime,
) -> Referral:
    person = await uow.people.create_offline(now)
    prefs = Preferences(language=sub.language)
    prefs.consents["referral"] = Consent(given=True, version=version, at=now, how=how)
    for purpose, given in sub.choices.items():  # asked on the phone: check-ins, feedback
        prefs.consents[purpose] = Consent(given=given, version=version, at=now, how=how)
    await preferences.save(uow, person, prefs, now)
    referral = await uow.referrals.create(
        person,
        programme.id,
        answers_bytes(answers),
        urgent=sub.urgent,
        now=now,
        source=sub.source,
        route="professional" if how == "professional" else "staff",
    )
    await hand_over(uow, programme, referral, now)
    await count_reported(uow, programme, sub.questionnaire, sub.answers, now)
    return referral


async def _owner(uow: Unit, referral: Referral) -> Person:
    person = await uow.people.get(referral.person_id)
    assert person is not None  # made in this very transaction
    return person


async def tell_professional(uow: Unit, referral: Referral, update: str, now: datetime) -> None:
    """Queue one discreet update for the professional who referred (if they asked and the
    programme allows it): "received" or "contacted", each once, never any content."""
    referrer_id = await uow.referrals.update_due(referral, update)
    referrer = await uow.people.get(referrer_id) if referrer_id is not None else None
    if referrer is None:
        return
    payload = json.dumps({"update": update}).encode()
    await uow.outbox.add(
        PRO_UPDATE, recipient=referrer, referral=referral, due_at=now, now=now, payload=payload
    )
