"""Telegram update ids already applied, so each update takes effect exactly once."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.db import to_text


class UpdateLog:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._claimed: dict[int, bool] = {}  # in this transaction: the answer of the first claim

    async def claim(self, update_id: int, now: datetime) -> bool:
        """True if this transaction is the first to apply ``update_id``; False if done before.

        Asked again in the same transaction, it gives the same answer (the router claims each
        update, and the use case it calls claims it again in the same unit of work)."""
        if update_id in self._claimed:
            return self._claimed[update_id]
        rows = await self._conn.execute_fetchall(
            "INSERT INTO processed_updates (update_id, applied_at) VALUES (?, ?)"
            " ON CONFLICT (update_id) DO NOTHING RETURNING update_id",
            (update_id, to_text(now)),
        )
        self._claimed[update_id] = first = bool(list(rows))
        return first

    async def prune(self, before: datetime) -> int:
        """Forget updates applied before ``before``; returns how many."""
        async with self._conn.execute(
            "DELETE FROM processed_updates WHERE applied_at < ?", (to_text(before),)
        ) as cursor:
            return int(cursor.rowcount)
