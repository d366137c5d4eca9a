"""The initial assessment (issue #15), on the named-questionnaire machine.

At "Assessing", the holder sends ``/assess PD-…``: the programme's assessment questionnaire
(``[programmes.questionnaires.<name>]`` with ``purpose = "assessment"``) is begun as a draft in
their private chat, one question at a time, with the referral's reference as its context (an id,
nothing said). When they send it, ``submitted`` (the "assessment" handler of
bot.services.submissions) checks again that they hold the referral, still a coordinator, and
keeps the answers sealed under the person's key with the outcome as a code for reports.
"""

from __future__ import annotations

import logging

from bot.services import preferences
from bot.services.base import ServiceFlow
from bot.services.reply import Reply, Sender
from bot.services.submissions import HANDLERS, SubmitEnv, Submitted, answers_bytes
from conversations import assessment
from conversations.forms import Programme, ServiceConfig
from conversations.intake import Intake, Submission
from storage import Person, Referral, Unit

log = logging.getLogger("peerdoor.assessment")


async def _coordinates(
    uow: Unit, config: ServiceConfig, person: Person, telegram_id: int | None, programme: Programme
) -> bool:
    if telegram_id is not None and telegram_id in programme.coordinators:
        return True
    return await uow.roles.has(person, "coordinator", programme.id)


async def _held(
    uow: Unit, config: ServiceConfig, person: Person, telegram_id: int | None, reference: str
) -> tuple[Referral, Programme] | None:
    """The referral, if ``person`` holds it as a coordinator of its programme, it is at
    "Assessing", and the programme declares an assessment."""
    referral = await uow.referrals.by_reference(reference.strip().upper())
    if referral is None or referral.holder_id != person.id or referral.status != "assessing":
        return None
    programme = config.programme(await uow.referrals.programme_id(referral))
    if programme is None or assessment.name_of(programme) is None:
        return None
    if not await _coordinates(uow, config, person, telegram_id, programme):
        return None
    return referral, programme


async def submitted(uow: Unit, sender: Person, sub: Submission, env: SubmitEnv) -> Submitted:
    """The holder sent the assessment: checked again, then kept sealed."""
    _ = env.translator(sub.language)
    telegram_id = await uow.people.telegram_id(sender)
    found = await _held(uow, env.config, sender, telegram_id, sub.context.get("reference", ""))
    outcome = sub.answers.get("outcome")
    if found is None or not isinstance(outcome, str):
        await uow.audit.record(sender, "refused:assessment", env.now, detail="not_held")
        return Submitted([assessment.refused(_)])
    referral, _programme = found
    await uow.assessments.add(referral, sender, outcome, answers_bytes(sub.answers), env.now)
    await uow.audit.record(
        sender, "assessment", env.now, reference=referral.reference, detail=outcome
    )
    log.info("assessment.saved ref=%s outcome=%s", referral.reference, outcome)
    return Submitted([assessment.saved(referral.reference, outcome, _)], referral.reference)


class AssessmentFlow(ServiceFlow):
    intake: Intake | None = None  # set by the app: the dialog that asks every questionnaire

    async def start(self, who: Sender, reference: str, update_id: int) -> Reply:
        """/assess PD-…: the holder begins the assessment in their private chat."""
        async with self.store.unit() as uow:
            person = await uow.people.find(who.telegram_id)
            if person is None:  # nobody the bot knows holds nothing
                t = self.catalog.translator(
                    self.catalog.best_language(who.language_code, list(self.catalog.languages))
                )
                return Reply([assessment.refused(t)])
            now = self.clock()
            lang = await self._language(uow, person, who)
            _ = self.catalog.translator(lang)
            found = await _held(uow, self.config, person, who.telegram_id, reference)
            if found is None or self.intake is None:
                await uow.audit.record(person, "refused:assessment", now, detail="not_held")
                return Reply([assessment.refused(_)])
            if await uow.drafts.load(person) is not None:
                return Reply([assessment.busy(_)])
            referral, programme = found
            name = assessment.name_of(programme)
            assert name is not None
            language = lang if lang in programme.languages else programme.default_language
            outcome = self.intake.begin(
                programme,
                language,
                questionnaire=name,
                context={"reference": referral.reference},
                counted=(await uow.dialogs.load(person)).screens,
            )
            assert outcome.draft is not None
            screen = outcome.draft.screen  # the person's one counter moves to it
            await uow.drafts.save(person, outcome.draft.to_bytes(), now, programme.id, screen)
            await uow.audit.record(person, "assessment:begun", now, reference=referral.reference)
        return Reply(list(outcome.prompts), protect=True)

    async def _language(self, uow: Unit, person: Person, who: Sender) -> str:
        chosen = (await preferences.load(uow, person)).language
        if chosen in self.catalog.languages:
            return chosen
        return self.catalog.best_language(who.language_code, list(self.catalog.languages))


# What sending an assessment does. Registered here rather than in submissions.HANDLERS itself,
# which this module imports (its types): a line there would be an import circle.
HANDLERS["assessment"] = submitted
