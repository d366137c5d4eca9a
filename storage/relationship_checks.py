"""The person's answer to "how is it going?" after the first two meetings (issue #15).

One short code per engagement ('well', 'unsure', 'change'), never words; the supporter's id so
that coordinators can see answers per supporter, and only in groups of at least five.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import aiosqlite

from storage.db import to_text
from storage.models import Engagement

CheckAnswer = Literal["well", "unsure", "change"]
ANSWERS: tuple[CheckAnswer, ...] = ("well", "unsure", "change")


class RelationshipCheckRepo:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def answer(self, engagement: Engagement, answer: CheckAnswer, now: datetime) -> bool:
        """Record the answer; True only the first time (a second tap changes nothing)."""
        if answer not in ANSWERS:
            raise ValueError(f"unknown answer {answer!r}; expected one of {ANSWERS}")
        try:
            await self._conn.execute(
                "INSERT INTO relationship_checks (engagement_id, supporter_id, answer, at)"
                " VALUES (?, ?, ?, ?)",
                (engagement.id, engagement.supporter_id, answer, to_text(now)),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    async def answered(self, engagement: Engagement) -> CheckAnswer | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT answer FROM relationship_checks WHERE engagement_id = ?",
                (engagement.id,),
            )
        )
        if not rows:
            return None
        found = str(rows[0][0])
        return next(a for a in ANSWERS if a == found)

    async def per_supporter(self, supporter_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Answers of each kind per supporter (every supporter asked for, zeros included)."""
        result: dict[str, dict[str, int]] = {}
        for sid in supporter_ids:
            result[sid] = dict.fromkeys(ANSWERS, 0)
        if not supporter_ids:
            return result
        marks = ", ".join("?" * len(supporter_ids))
        rows = await self._conn.execute_fetchall(
            "SELECT supporter_id, answer, count(*) FROM relationship_checks"  # noqa: S608
            f" WHERE supporter_id IN ({marks}) GROUP BY supporter_id, answer",
            tuple(supporter_ids),
        )
        for sid, answer, n in rows:
            result[str(sid)][str(answer)] = int(n)
        return result
