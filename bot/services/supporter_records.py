"""Which supporters may be matched (issue 15): active, trained and checked, and whether their
supervision is overdue. One list for match suggestions and group facilitator choices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from conversations import applicants
from conversations.applicants import Record
from conversations.forms import Programme
from conversations.matching import MAX_NAME
from storage import Person, Unit


@dataclass(frozen=True)
class Eligible:
    """A supporter who may be suggested, and whether their supervision is overdue."""

    person: Person
    overdue: bool


async def eligible_supporters(uow: Unit, programme: Programme, today: date) -> list[Eligible]:
    """Supporters of the programme who hold the role now, are not paused, have a profile, and
    are active, trained and checked (conversations.applicants.eligible), longest-standing first.
    Matching suggestions and group facilitator choices both use this."""
    people = await uow.supporters.ready(await uow.roles.holders("supporter", programme.id))
    found = []
    for person in people:
        stage, record = await _stage_and_record(uow, person, programme.id)
        if applicants.eligible(programme, stage, record):
            found.append(Eligible(person, applicants.overdue(programme, stage, record, today)))
    return found


async def _stage_and_record(
    uow: Unit, person: Person, programme_id: str
) -> tuple[str | None, Record | None]:
    applicant = await uow.applicants.of(person, programme_id)
    if applicant is None:
        return None, None
    return applicant.stage, Record.from_bytes(await uow.applicants.record(applicant))


async def joined_by_invite(
    uow: Unit, person: Person, programme_id: str, name: str, now: datetime
) -> None:
    """A supporter who joined with an invite code gets a record at "active", so coordinators
    can record their training, checks and supervision like everyone else's."""
    if await uow.applicants.of(person, programme_id) is not None:
        return
    record = applicants.move(Record(name=name[:MAX_NAME]), "active", now.date(), "")
    await uow.applicants.create(person, programme_id, "active", record.to_bytes(), now)


async def stopped(uow: Unit, person: Person, programme_id: str, now: datetime) -> None:
    """A supporter left the team or had the role taken away: their record goes from "active"
    to "withdrew" (dated), so /applicants does not show them as active. "Open again" is not
    offered from there: a new application or invite brings them back."""
    applicant = await uow.applicants.of(person, programme_id)
    if applicant is None or applicant.stage != "active":
        return
    record = Record.from_bytes(await uow.applicants.record(applicant))
    record = applicants.move(record, "withdrew", now.date(), "")
    await uow.applicants.save(applicant, record.to_bytes(), now, stage="withdrew")
