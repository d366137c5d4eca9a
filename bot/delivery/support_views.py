"""Rendering the peer-support outbox rows at send time: the hand-over for a supporter, and the
supporter's answer for the coordinator who holds the referral."""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.services.case_views import person_language
from bot.services.matchmaking import supporter_name
from conversations import supporting
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.prompts import Prompt
from storage import Person, Referral, Unit
from storage.outbox import OutboxItem


async def handover(
    uow: Unit,
    item: OutboxItem,
    referral: Referral,
    programme: Programme,
    translator: Callable[[str], Translate],
) -> tuple[Person, str, Prompt] | None:
    """(supporter, their language, the hand-over) while the offer is still open; else None."""
    payload = json.loads(await uow.outbox.payload(item) or b"{}")
    engagement = await uow.engagements.get(str(payload.get("engagement", "")))
    if engagement is None or engagement.status != "offered" or engagement.supporter_id is None:
        return None
    supporter = await uow.people.get(engagement.supporter_id)
    if supporter is None or not await uow.roles.has(supporter, "supporter", programme.id):
        return None  # gone, or no longer a supporter of the programme (asked at send time)
    lang = await person_language(uow, supporter, programme.default_language)
    language = lang if lang in programme.languages else programme.default_language
    shared = json.loads(await uow.engagements.handover(engagement, referral) or b"[]")
    answers = json.loads(await uow.referrals.answers(referral))
    prompt = supporting.handover(
        programme, referral.reference, engagement.id, answers, shared, language, lang,
        translator(lang),
    )  # fmt: skip
    return supporter, lang, prompt


async def offer_answer(uow: Unit, item: OutboxItem, referral: Referral, t: Translate) -> Prompt:
    payload = json.loads(await uow.outbox.payload(item) or b"{}")
    engagement = await uow.engagements.get(str(payload.get("engagement", "")))
    name = await supporter_name(uow, engagement.supporter_id if engagement else None)
    answer = str(payload.get("answer", "declined"))
    return supporting.offer_answer(referral.reference, name or t("(no name)"), answer, t)
