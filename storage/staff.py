"""What a coordinator is in the middle of (typing a note or a message), sealed, one per person."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.db import to_text
from storage.keys import DataKeys
from storage.models import Person


class StaffStateRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def load(self, person: Person) -> bytes | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT state FROM staff_state WHERE person_id = ?", (person.id,)
            )
        )
        if not rows:
            return None
        key = await self._keys.get(person.id)
        return key.open("staff_state", "state", person.id, rows[0][0])

    async def save(self, person: Person, state: bytes, now: datetime) -> None:
        key = await self._keys.get(person.id)
        await self._conn.execute(
            "INSERT INTO staff_state (person_id, state, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (person_id) DO UPDATE SET"
            " state = excluded.state, updated_at = excluded.updated_at",
            (person.id, key.seal("staff_state", "state", person.id, state), to_text(now)),
        )

    async def clear(self, person: Person) -> None:
        await self._conn.execute("DELETE FROM staff_state WHERE person_id = ?", (person.id,))
