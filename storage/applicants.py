"""Volunteers on their way to becoming supporters (conversations/applicants.py has the rules).

One row per person and programme. The stage is plain and moves by one guarded UPDATE (the stage
it was read at), so two coordinators tapping at once give one move. The record is opaque here:
sealed under the volunteer's key, bound to the row's id.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from storage.crypto import LookupKeys
from storage.db import from_text, to_text
from storage.keys import DataKeys
from storage.models import Person
from storage.referrals import CROCKFORD

_COLUMNS = "id, person_id, stage, created_at, updated_at"


@dataclass(frozen=True)
class Applicant:
    id: str
    person_id: str
    stage: str
    created_at: datetime
    updated_at: datetime


def _applicant(row: Sequence[Any]) -> Applicant:
    aid, person_id, stage, created_at, updated_at = row
    return Applicant(aid, person_id, stage, from_text(created_at), from_text(updated_at))


class ApplicantRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys, lookup: LookupKeys) -> None:
        self._conn = conn
        self._keys = keys
        self._lookup = lookup

    async def create(
        self, person: Person, programme_id: str, stage: str, record: bytes, now: datetime
    ) -> Applicant | None:
        """A new volunteer record; None if the person has one for the programme already."""
        key = await self._keys.get(person.id)
        for _ in range(10):
            aid = "".join(secrets.choice(CROCKFORD) for _ in range(8))
            try:
                await self._conn.execute(
                    "INSERT INTO applicants (id, person_id, programme_tag, stage, record,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        aid,
                        person.id,
                        self._lookup.programme(programme_id),
                        stage,
                        key.seal("applicants", "record", aid, record),
                        to_text(now),
                        to_text(now),
                    ),
                )
            except sqlite3.IntegrityError as e:
                if "applicants.id" in str(e):
                    continue  # a collision on the short id: draw again
                return None
            return Applicant(aid, person.id, stage, now, now)
        raise RuntimeError("could not draw a free applicant id")

    async def get(self, applicant_id: str) -> Applicant | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM applicants WHERE id = ?",  # noqa: S608 - fixed columns
                (applicant_id,),
            )
        )
        return _applicant(rows[0]) if rows else None

    async def of(self, person: Person, programme_id: str) -> Applicant | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM applicants"  # noqa: S608 - fixed columns
                " WHERE person_id = ? AND programme_tag = ?",
                (person.id, self._lookup.programme(programme_id)),
            )
        )
        return _applicant(rows[0]) if rows else None

    async def of_person(self, person: Person) -> list[Applicant]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM applicants"  # noqa: S608 - fixed columns
            " WHERE person_id = ? ORDER BY created_at, id",
            (person.id,),
        )
        return [_applicant(r) for r in rows]

    async def in_programme(self, programme_id: str) -> list[Applicant]:
        """Every volunteer of the programme, longest waiting first."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM applicants"  # noqa: S608 - fixed columns
            " WHERE programme_tag = ? ORDER BY updated_at, id",
            (self._lookup.programme(programme_id),),
        )
        return [_applicant(r) for r in rows]

    async def stage_counts(self, programme_id: str) -> dict[str, int]:
        """How many volunteers of the programme are at each stage now (plain columns only)."""
        rows = await self._conn.execute_fetchall(
            "SELECT stage, count(*) FROM applicants WHERE programme_tag = ? GROUP BY stage",
            (self._lookup.programme(programme_id),),
        )
        return {str(stage): int(n) for stage, n in rows}

    async def prune(self, programme_id: str, before: datetime) -> int:
        """Forget volunteers of the programme who withdrew or were told "not now" and have not
        moved since before ``before`` (their sealed record goes with the row); how many."""
        async with self._conn.execute(
            "DELETE FROM applicants WHERE programme_tag = ? AND stage IN ('not_now', 'withdrew')"
            " AND updated_at < ?",
            (self._lookup.programme(programme_id), to_text(before)),
        ) as cursor:
            return int(cursor.rowcount)

    async def programme_id(self, applicant: Applicant, candidates: Sequence[str]) -> str | None:
        """Which of ``candidates`` the volunteer's programme is (None: none of them)."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT programme_tag FROM applicants WHERE id = ?", (applicant.id,)
            )
        )
        if not rows:
            return None
        tag = bytes(rows[0][0])
        return next((p for p in candidates if self._lookup.programme(p) == tag), None)

    async def record(self, applicant: Applicant) -> bytes:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT record FROM applicants WHERE id = ?", (applicant.id,)
            )
        )
        key = await self._keys.get(applicant.person_id)
        return key.open("applicants", "record", applicant.id, rows[0][0])

    async def save(
        self, applicant: Applicant, record: bytes, now: datetime, stage: str | None = None
    ) -> bool:
        """Write the record (and move to ``stage``), only if the stage is still the one read:
        False if someone else moved them in the meantime (nothing written)."""
        key = await self._keys.get(applicant.person_id)
        async with self._conn.execute(
            "UPDATE applicants SET record = ?, stage = ?, updated_at = ?"
            " WHERE id = ? AND stage = ?",
            (
                key.seal("applicants", "record", applicant.id, record),
                stage or applicant.stage,
                to_text(now),
                applicant.id,
                applicant.stage,
            ),
        ) as cursor:
            return cursor.rowcount == 1
