"""A volunteer's application (issue 15): what sending the ``volunteer`` questionnaire does.

The application (``?start=<programme>-volunteer``, a named questionnaire in the config) is asked
by the intake dialog like any form, after its own privacy notice. Sending it makes (or renews)
the volunteer's record at "applied", sealed under their own key with the answers, and tells the
programme's coordinators, by name of programme only, that someone applied (they read the rest in
/applicants, in private).
"""

from __future__ import annotations

import json
import logging
from zoneinfo import ZoneInfo

from bot.delivery import kinds
from bot.services import preferences
from bot.services.submitting import SubmitEnv, Submitted
from conversations import applicants
from conversations.applicants import Record
from conversations.intake import Submission
from conversations.matching import MAX_NAME
from storage import Person, Unit

log = logging.getLogger("peerdoor.applicants")


async def submitted(uow: Unit, sender: Person, sub: Submission, env: SubmitEnv) -> Submitted:
    programme = env.programme(sub)
    asked = programme.asking(sub.questionnaire) or programme
    now = env.now
    today = now.astimezone(ZoneInfo(programme.timezone)).date()
    named = next((q.id for q in asked.form if q.role == "name"), None)
    given = sub.answers.get(named) if named else None
    name = given.strip()[:MAX_NAME] if isinstance(given, str) else ""
    existing = await uow.applicants.of(sender, programme.id)
    if existing is None:
        record = applicants.move(Record(name=name, answers=sub.answers), "applied", today, "")
        await uow.applicants.create(sender, programme.id, "applied", record.to_bytes(), now)
    else:  # applying again: the new answers; "not now" or withdrawn opens again
        record = Record.from_bytes(await uow.applicants.record(existing))
        record = record.model_copy(update={"name": name or record.name, "answers": sub.answers})
        stage = existing.stage
        if stage in ("not_now", "withdrew"):
            stage = "applied"
            record = applicants.move(record, "applied", today, "")
        await uow.applicants.save(existing, record.to_bytes(), now, stage=stage)
    prefs = await preferences.load(uow, sender)
    prefs.language = sub.language
    await preferences.save(uow, sender, prefs, now)
    for coordinator in await _coordinators(uow, env, programme.id):
        await uow.outbox.add(
            kinds.NEW_APPLICANT,
            recipient=coordinator,
            due_at=now,
            now=now,
            payload=json.dumps({"programme": programme.id}).encode(),
        )
    await uow.audit.record(sender, "applicant:applied", now, detail=programme.id)
    log.info("applicant.applied")
    _ = env.translator(sub.language)
    return Submitted([applicants.application_received(programme, sub.language, _)])


async def _coordinators(uow: Unit, env: SubmitEnv, programme_id: str) -> list[Person]:
    """The programme's coordinators the bot can write to: those in the config who have written
    to it, and those who joined by invite."""
    programme = env.config.programme(programme_id)
    assert programme is not None
    found = [p for p in [await uow.people.find(t) for t in programme.coordinators] if p]
    for person in await uow.roles.holders("coordinator", programme_id):
        if person.id not in {p.id for p in found}:
            found.append(person)
    return found
