"""`peerdoor export`: the referrals of the configured programmes, for the service's case system.

The operator holds the master key, so they may read every referral of the programmes in the
config; referrals of a programme no longer in the config are left out (nobody can say what
their questions were). Each referral's answers are opened with the person's key, in short
transactions of ``BATCH`` referrals so the running bot is never held up for long.

Formats (see the README, "Reports and exports"):

- ``csv``: one header row, one row per referral. Fixed columns first (``FIELDS``), then one column
  per question id (every answerable question of the exported programmes, in form order). Values are
  raw: option ids (``chat``, ``25_34``), several choices joined with "; ", yes/no as
  ``yes``/``no``, dates as YYYY-MM-DD, times as ISO 8601 UTC, ``urgent`` as true/false, ``route``
  (self, professional, staff) and ``source`` (the configured id of the link the person came by;
  empty for a plain link). An empty cell: skipped, "prefer not to say", not asked, or erased after
  verification. A question id equal to a fixed column is named ``answer_<id>``. The last column,
  ``peer_groups``, lists the peer support groups the person was offered on this referral, as
  ``<group id>:<place>`` (place: invited, asked, member, waiting, declined, left), "; "
  between. A cell that starts with = + - @ gets a leading ' so spreadsheet programs show it as
  text instead of running it as a formula.
- ``json``: a list of objects with the same fixed fields and ``answers`` keyed by question id,
  with the raw values (null: skipped or "prefer not to say"; missing: not asked or erased), and
  ``peer_groups``: a list of ``{"group": <group id>, "place": <place>}``.
- ``fhir``: an HL7 FHIR R4 Bundle (type collection): one Questionnaire per programme (the form)
  and one QuestionnaireResponse per referral (no subject: the identity stays with the service).
  See ``bot/fhir.py``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conversations.forms import Programme
from conversations.lifecycle import STATUSES
from storage import Store
from storage.groups import Group

FORMATS = ("csv", "json", "fhir")
FIELDS = (
    "reference",
    "programme",
    "status",
    "urgent",
    "route",
    "source",
    "submitted_at",
    "claimed_at",
    "contacted_at",
    "verified_at",
    "closed_at",
)
BATCH = 200
GROUPS_COLUMN = "peer_groups"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Exported:
    """One referral as exported."""

    reference: str
    programme: str
    status: str
    urgent: bool
    submitted_at: datetime
    claimed_at: datetime | None
    contacted_at: datetime | None
    verified_at: datetime | None
    closed_at: datetime | None
    answers: dict[str, Any]
    route: str = "self"
    source: str | None = None  # the configured source id of the link the person came by
    groups: tuple[tuple[str, str], ...] = ()  # (group id, place) offered on this referral


def group_id(group: Group) -> str:
    """The config's id of a group the config defines; the code of one made in the bot."""
    if not group.config:
        return group.id
    details = json.loads(group.details)
    found = details.get("group", {}).get("id") if isinstance(details, dict) else None
    return str(found or group.id)


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


async def collect(store: Store, programmes: Sequence[Programme]) -> list[Exported]:
    """Every referral of ``programmes``, oldest first within each programme."""
    ids: list[tuple[Programme, str]] = []
    async with store.unit() as uow:
        for programme in programmes:
            n = await uow.referrals.count([programme.id], STATUSES)
            found = await uow.referrals.queue([programme.id], STATUSES, limit=max(n, 1))
            found.sort(key=lambda r: (r.submitted_at, r.reference))
            ids.extend((programme, r.id) for r in found)
    out: list[Exported] = []
    for start in range(0, len(ids), BATCH):
        async with store.unit() as uow:
            for programme, referral_id in ids[start : start + BATCH]:
                referral = await uow.referrals.get(referral_id)
                if referral is None:  # erased since the list was read
                    continue
                answers = json.loads(await uow.referrals.answers(referral))
                groups = []
                for place in await uow.groups.places_of(referral.person_id):
                    group = await uow.groups.get(place.group_id)
                    if place.referral_id == referral.id and group is not None:
                        groups.append((group_id(group), place.status))
                out.append(
                    Exported(
                        reference=referral.reference,
                        programme=programme.id,
                        status=referral.status,
                        urgent=referral.urgent,
                        submitted_at=referral.submitted_at,
                        claimed_at=referral.claimed_at,
                        contacted_at=referral.contacted_at,
                        verified_at=referral.verified_at,
                        closed_at=referral.closed_at,
                        answers=answers if isinstance(answers, dict) else {},
                        route=referral.route,
                        source=await uow.referrals.source(referral),
                        groups=tuple(groups),
                    )
                )
    return out


def question_columns(programmes: Sequence[Programme]) -> list[str]:
    """Answerable question ids of the programmes, in form order, each once; then those of
    their questionnaires about the person (a professional's referral: not the professional's
    own details, which are kept apart and never exported)."""
    seen: dict[str, None] = {}
    for programme in programmes:
        forms = [programme.form, *(q.form for q in programme.questionnaires.values())]
        for question in (q for form in forms for q in form):
            if question.answerable and question.role not in ("referrer", "consent"):
                seen.setdefault(question.id, None)
    return list(seen)


def csv_column(question_id: str) -> str:
    return f"answer_{question_id}" if question_id in FIELDS else question_id


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def as_record(item: Exported) -> dict[str, Any]:
    return {
        "reference": item.reference,
        "programme": item.programme,
        "status": item.status,
        "urgent": item.urgent,
        "route": item.route,
        "source": item.source,
        "submitted_at": _stamp(item.submitted_at),
        "claimed_at": _stamp(item.claimed_at),
        "contacted_at": _stamp(item.contacted_at),
        "verified_at": _stamp(item.verified_at),
        "closed_at": _stamp(item.closed_at),
        "answers": item.answers,
        "peer_groups": [{"group": g, "place": place} for g, place in item.groups],
    }


def to_csv(items: Sequence[Exported], programmes: Sequence[Programme]) -> bytes:
    questions = question_columns(programmes)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*FIELDS, *(csv_column(q) for q in questions), GROUPS_COLUMN])
    for item in items:
        record = as_record(item)
        fixed = [_csv_value(record[f]) for f in FIELDS]
        answers = [_safe(_csv_value(item.answers.get(q))) for q in questions]
        groups = "; ".join(f"{g}:{place}" for g, place in item.groups)
        writer.writerow([*fixed, *answers, groups])
    return buffer.getvalue().encode("utf-8")


def json_bytes(data: object) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def to_json(items: Sequence[Exported]) -> bytes:
    return json_bytes([as_record(item) for item in items])
