"""A person's answers to their programme's confidentiality agreement, one per version.

Only the version code, the answer and when: nothing the person wrote. A later answer to the same
version replaces the earlier one (someone who said no can say yes after talking it through).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import aiosqlite

from storage.db import from_text, to_text
from storage.models import Referral

Answer = Literal["accepted", "declined"]


@dataclass(frozen=True)
class AgreementAnswer:
    version: str
    answer: Answer
    at: datetime


class AgreementRepo:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def answer(
        self, referral: Referral, version: str, answer: Answer, now: datetime
    ) -> None:
        if answer not in ("accepted", "declined"):
            raise ValueError(f"an agreement is accepted or declined, not {answer!r}")
        await self._conn.execute(
            "INSERT INTO agreements (referral_id, version, answer, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (referral_id, version) DO UPDATE SET answer = excluded.answer,"
            " at = excluded.at",
            (referral.id, version, answer, to_text(now)),
        )

    async def get(self, referral: Referral, version: str) -> AgreementAnswer | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT version, answer, at FROM agreements WHERE referral_id = ? AND version = ?",
                (referral.id, version),
            )
        )
        return _answer(rows[0]) if rows else None

    async def for_referral(self, referral: Referral) -> list[AgreementAnswer]:
        rows = await self._conn.execute_fetchall(
            "SELECT version, answer, at FROM agreements WHERE referral_id = ? ORDER BY at",
            (referral.id,),
        )
        return [_answer(row) for row in rows]

    async def count(self) -> dict[str, int]:
        """Answers of each kind, over every referral (for reports)."""
        rows = await self._conn.execute_fetchall(
            "SELECT answer, count(*) FROM agreements GROUP BY answer"
        )
        found = {str(a): int(n) for a, n in rows}
        return {a: found.get(a, 0) for a in ("accepted", "declined")}


def _answer(row: Sequence[Any]) -> AgreementAnswer:
    version, answer, at = row
    return AgreementAnswer(
        str(version), "accepted" if answer == "accepted" else "declined", from_text(at)
    )
