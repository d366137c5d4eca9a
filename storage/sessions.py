"""Sessions between a supporter and the person they support.

The time is plain (UTC; reminders are scheduled from it); where they meet is sealed under the
referrer's key. The supporter's one-tap log after the session is one UPDATE guarded by "not
logged yet", so a double tap records once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from storage.db import from_text, maybe_time, to_text
from storage.keys import DataKeys
from storage.models import Engagement, Person, Referral, Session

OUTCOMES = ("happened", "missed", "concern")
_COLUMNS = "id, engagement_id, starts_at, created_by, outcome, logged_at, cancelled_at, created_at"


def _session(row: Sequence[Any]) -> Session:
    sid, engagement_id, starts_at, created_by, outcome, logged_at, cancelled_at, created = row
    return Session(
        int(sid),
        engagement_id,
        from_text(starts_at),
        created_by,
        outcome,
        maybe_time(logged_at),
        maybe_time(cancelled_at),
        from_text(created),
    )


def _row_id(session_id: int, engagement_id: str) -> str:
    return f"{session_id}|{engagement_id}"


class SessionRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def add(
        self,
        engagement: Engagement,
        referral: Referral,
        starts_at: datetime,
        place: bytes,
        author: Person,
        now: datetime,
    ) -> Session:
        key = await self._keys.get(referral.person_id)
        rows = list(
            await self._conn.execute_fetchall(
                "INSERT INTO sessions (engagement_id, starts_at, place, created_by, created_at)"
                " VALUES (?, ?, x'', ?, ?) RETURNING id",
                (engagement.id, to_text(starts_at), author.id, to_text(now)),
            )
        )
        session_id = int(rows[0][0])
        sealed = key.seal("sessions", "place", _row_id(session_id, engagement.id), place)
        await self._conn.execute(
            "UPDATE sessions SET place = ? WHERE id = ?", (sealed, session_id)
        )
        found = await self.get(session_id)
        assert found is not None
        return found

    async def get(self, session_id: int) -> Session | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM sessions WHERE id = ?",  # noqa: S608
                (session_id,),
            )
        )
        return _session(rows[0]) if rows else None

    async def for_engagement(self, engagement: Engagement) -> list[Session]:
        """The engagement's sessions, earliest first."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM sessions"  # noqa: S608
            " WHERE engagement_id = ? ORDER BY starts_at, id",
            (engagement.id,),
        )
        return [_session(row) for row in rows]

    async def place(self, session: Session, referral: Referral) -> bytes:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT place FROM sessions WHERE id = ?", (session.id,)
            )
        )
        if not rows:
            raise ValueError("no such session")
        key = await self._keys.get(referral.person_id)
        return key.open(
            "sessions", "place", _row_id(session.id, session.engagement_id), rows[0][0]
        )

    async def log(self, session: Session, outcome: str, now: datetime) -> bool:
        """Record what happened; True only the first time (a second tap changes nothing)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown session outcome {outcome!r}")
        async with self._conn.execute(
            "UPDATE sessions SET outcome = ?, logged_at = ?"
            " WHERE id = ? AND outcome IS NULL AND cancelled_at IS NULL",
            (outcome, to_text(now), session.id),
        ) as cursor:
            return cursor.rowcount == 1

    async def cancel(self, session: Session, now: datetime) -> bool:
        async with self._conn.execute(
            "UPDATE sessions SET cancelled_at = ?"
            " WHERE id = ? AND cancelled_at IS NULL AND outcome IS NULL",
            (to_text(now), session.id),
        ) as cursor:
            return cursor.rowcount == 1
