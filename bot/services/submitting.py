"""What a questionnaire's handler works with (bot/services/submissions.py ``HANDLERS``): what it
may read, what it returns, and the hand-over of a new referral to the coordinators."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.delivery.kinds import NOTICE, NOTICE_REMINDER
from conversations.forms import Programme, ServiceConfig
from conversations.i18n import Catalog, Translate
from conversations.intake import Submission
from conversations.prompts import Prompt
from storage import Person, Referral, Unit


@dataclass(frozen=True)
class SubmitEnv:
    """What a handler may read besides the transaction: the config, the texts, the time."""

    config: ServiceConfig
    catalog: Catalog
    now: datetime

    def programme(self, sub: Submission) -> Programme:
        programme = self.config.programme(sub.programme)
        assert programme is not None  # the dialog checked it on this very update
        return programme

    def translator(self, language: str) -> Translate:
        return self.catalog.translator(language)


@dataclass
class Submitted:
    """What sending did: the screens the sender reads (after the commit), the reference made."""

    prompts: list[Prompt] = field(default_factory=list)
    reference: str | None = None


Handler = Callable[[Unit, Person, Submission, SubmitEnv], Awaitable[Submitted]]


async def hand_over(uow: Unit, programme: Programme, referral: Referral, now: datetime) -> None:
    """The coordinators' notice, and a reminder if nobody claims it in time (sooner for an
    urgent one). Both commit with the referral, so neither can be lost."""
    await uow.outbox.add(NOTICE, referral=referral, due_at=now, now=now)
    every = programme.service_levels.claim_window(referral.urgent)
    await uow.outbox.add(NOTICE_REMINDER, referral=referral, due_at=now + every, now=now)


async def count_reported(
    uow: Unit,
    programme: Programme,
    questionnaire: str,
    answers: Mapping[str, object],
    now: datetime,
) -> None:
    """Count the answers to questions marked ``report = true`` of the questionnaire sent (the
    programme's form unless named): anonymous counts per month, for `peerdoor report`."""
    view = programme.asking(questionnaire) or programme
    for question in view.form:
        given = answers.get(question.id)
        if not question.report or given is None:
            continue
        for answer in given if isinstance(given, list) else [given]:
            await uow.referrals.count_answer(programme.id, question.id, str(answer), now)


def answers_bytes(answers: Mapping[str, object]) -> bytes:
    return json.dumps(answers, ensure_ascii=False, sort_keys=True).encode()
