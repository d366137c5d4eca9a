"""What happens when a questionnaire is sent: one handler per purpose.

The intake dialog (conversations/intake.py) asks any of a programme's questionnaires the same
way; its Submission names the purpose (``Programme.purpose`` or the draft's own). The handler
runs in the update's transaction, beside the draft's deletion, and returns what the sender reads
once that transaction is committed. To add a purpose: add it to ``Purpose`` in
conversations/forms.py, write ``async def handler(uow, sender, sub, env) -> Submitted`` in a
module of its own, and add one line to ``HANDLERS`` below.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.delivery import calendar
from bot.delivery.kinds import NOTICE, NOTICE_REMINDER
from bot.services import preferences
from conversations import screens
from conversations.forms import Programme, ServiceConfig
from conversations.i18n import Catalog, Translate
from conversations.intake import Submission
from conversations.prompts import Prompt
from storage import Person, Referral, Unit

log = logging.getLogger("peerdoor.intake")


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


async def referral(uow: Unit, sender: Person, sub: Submission, env: SubmitEnv) -> Submitted:
    """The person's own referral form: a referral in the queue, the coordinators told."""
    now = env.now
    programme = env.programme(sub)
    created = await uow.referrals.create(
        sender,
        sub.programme,
        answers_bytes(sub.answers),
        urgent=sub.urgent,
        now=now,
        source=sub.source,  # sealed, with a keyed tag for the report; never logged
    )
    await hand_over(uow, programme, created, now)
    prefs = await preferences.load(uow, sender)
    prefs.language = sub.language
    for purpose in ("checkins", "feedback"):
        given = sub.choices.get(purpose, False)
        prefs.record(purpose, given, programme.privacy_version, now)
    prefs.discreet = sub.choices.get("discreet", True)
    prefs.silent = sub.choices.get("silent", False)
    await preferences.save(uow, sender, prefs, now)
    await calendar.arm_waiting(uow, programme, created, prefs, now)  # if they agreed
    _ = env.translator(sub.language)
    prompts = screens.submitted(programme, sub.language, created.reference, _)
    return Submitted(prompts, created.reference)


async def hand_over(uow: Unit, programme: Programme, referral: Referral, now: datetime) -> None:
    """The coordinators' notice, and a reminder if nobody claims it in time (sooner for an
    urgent one). Both commit with the referral, so neither can be lost."""
    await uow.outbox.add(NOTICE, referral=referral, due_at=now, now=now)
    every = programme.service_levels.claim_window(referral.urgent)
    await uow.outbox.add(NOTICE_REMINDER, referral=referral, due_at=now + every, now=now)


def answers_bytes(answers: Mapping[str, object]) -> bytes:
    return json.dumps(answers, ensure_ascii=False, sort_keys=True).encode()


#: One handler per purpose (conversations/forms.py ``Purpose``, and "phone").
HANDLERS: dict[str, Handler] = {
    "referral": referral,
}
