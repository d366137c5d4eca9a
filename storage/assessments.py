"""The initial assessment of a referral (issue #15): the holder's answers, sealed under the
person's data key (bound to the row and the referral), and its outcome as a short code.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import from_text, to_text
from storage.keys import DataKeys
from storage.models import Person, Referral

OUTCOMES = ("match", "group", "defer", "not_suitable")


@dataclass(frozen=True)
class Assessment:
    id: int
    outcome: str
    by_id: str | None
    at: datetime
    answers: bytes


class AssessmentRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def add(
        self, referral: Referral, by: Person, outcome: str, answers: bytes, now: datetime
    ) -> int:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown assessment outcome {outcome!r}; expected one of {OUTCOMES}")
        key = await self._keys.get(referral.person_id)
        rows = list(
            await self._conn.execute_fetchall(
                "INSERT INTO assessments (referral_id, by_id, outcome, at) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (referral.id, by.id, outcome, to_text(now)),
            )
        )
        assessment_id = int(rows[0][0])
        sealed = key.seal("assessments", "answers", f"{assessment_id}|{referral.id}", answers)
        await self._conn.execute(
            "UPDATE assessments SET answers = ? WHERE id = ?", (sealed, assessment_id)
        )
        return assessment_id

    async def list(self, referral: Referral) -> builtins.list[Assessment]:
        """The referral's assessments, oldest first, answers opened."""
        rows = await self._conn.execute_fetchall(
            "SELECT id, outcome, by_id, at, answers FROM assessments WHERE referral_id = ?"
            " ORDER BY id",
            (referral.id,),
        )
        if not rows:
            return []
        key = await self._keys.get(referral.person_id)
        return [
            Assessment(
                int(aid),
                str(outcome),
                by_id,
                from_text(at),
                key.open("assessments", "answers", f"{aid}|{referral.id}", answers),
            )
            for aid, outcome, by_id, at, answers in rows
        ]

    async def outcomes(self, since: datetime | None = None) -> dict[str, int]:
        """How many assessments ended with each outcome (for reports: counts only)."""
        rows = await self._conn.execute_fetchall(
            "SELECT outcome, count(*) FROM assessments WHERE at >= ? GROUP BY outcome",
            (to_text(since) if since is not None else "",),
        )
        found = {str(o): int(n) for o, n in rows}
        return {o: found.get(o, 0) for o in OUTCOMES}
