"""Form drop-off counts: how many reached each question, per programme and day. Counts only.

Nothing here identifies a person: the row is (programme tag, question id, day, count). The
programme is a keyed tag like ``referrals.programme_tag``; readers pass the programme ids from
the config to get their counts back.
"""

from __future__ import annotations

from datetime import date

import aiosqlite

from storage.crypto import LookupKeys


class FunnelRepo:
    def __init__(self, conn: aiosqlite.Connection, lookup: LookupKeys) -> None:
        self._conn = conn
        self._lookup = lookup

    async def reached(self, programme_id: str, question_id: str, day: date) -> None:
        """Count one more person shown ``question_id`` of ``programme_id`` on ``day``."""
        await self._conn.execute(
            "INSERT INTO funnel (programme_tag, question_id, day, reached) VALUES (?, ?, ?, 1)"
            " ON CONFLICT (programme_tag, question_id, day) DO UPDATE"
            " SET reached = reached + 1",
            (self._lookup.programme(programme_id), question_id, day.isoformat()),
        )

    async def counts(
        self, programme_id: str, since: date | None = None, until: date | None = None
    ) -> dict[str, int]:
        """Question id -> how many reached it, summed over the days in [since, until]."""
        rows = await self._conn.execute_fetchall(
            "SELECT question_id, sum(reached) FROM funnel WHERE programme_tag = ?"
            " AND day >= ? AND day <= ? GROUP BY question_id",
            (
                self._lookup.programme(programme_id),
                (since or date.min).isoformat(),
                (until or date.max).isoformat(),
            ),
        )
        return {str(question): int(total) for question, total in rows}
