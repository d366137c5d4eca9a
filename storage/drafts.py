"""The one in-progress conversation state per person, sealed."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.db import to_text
from storage.keys import DataKeys
from storage.models import Person


class DraftRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def load(self, person: Person) -> bytes | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT state FROM drafts WHERE person_id = ?", (person.id,)
            )
        )
        if not rows:
            return None
        key = await self._keys.get(person.id)
        return key.open("drafts", "state", person.id, rows[0][0])

    async def save(self, person: Person, state: bytes, now: datetime) -> None:
        key = await self._keys.get(person.id)
        await self._conn.execute(
            "INSERT INTO drafts (person_id, state, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (person_id) DO UPDATE SET"
            " state = excluded.state, updated_at = excluded.updated_at",
            (person.id, key.seal("drafts", "state", person.id, state), to_text(now)),
        )

    async def delete(self, person: Person) -> None:
        await self._conn.execute("DELETE FROM drafts WHERE person_id = ?", (person.id,))
