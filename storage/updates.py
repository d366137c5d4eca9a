"""Telegram update ids already applied, so each update takes effect exactly once."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.db import to_text


class UpdateLog:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def claim(self, update_id: int, now: datetime) -> bool:
        """True if this transaction is the first to apply ``update_id``; False if done before."""
        rows = await self._conn.execute_fetchall(
            "INSERT INTO processed_updates (update_id, applied_at) VALUES (?, ?)"
            " ON CONFLICT (update_id) DO NOTHING RETURNING update_id",
            (update_id, to_text(now)),
        )
        return bool(list(rows))

    async def prune(self, before: datetime) -> int:
        """Forget updates applied before ``before``; returns how many."""
        async with self._conn.execute(
            "DELETE FROM processed_updates WHERE applied_at < ?", (to_text(before),)
        ) as cursor:
            return int(cursor.rowcount)
