"""The one in-progress conversation state per person, sealed."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.crypto import LookupKeys
from storage.db import to_text
from storage.keys import DataKeys
from storage.models import Person


class DraftRepo:
    def __init__(
        self, conn: aiosqlite.Connection, keys: DataKeys, lookup: LookupKeys | None = None
    ) -> None:
        self._conn = conn
        self._keys = keys
        self._lookup = lookup

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

    async def save(
        self, person: Person, state: bytes, now: datetime, programme_id: str | None = None
    ) -> None:
        """Store the state. ``programme_id`` (optional) is kept as a keyed tag for retention;
        without it the tag is cleared, so a tag never outlives the state it was computed from.
        """
        key = await self._keys.get(person.id)
        tag = None
        if programme_id is not None and self._lookup is not None:
            tag = self._lookup.programme(programme_id)
        await self._conn.execute(
            "INSERT INTO drafts (person_id, state, updated_at, programme_tag) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (person_id) DO UPDATE SET state = excluded.state,"
            " updated_at = excluded.updated_at, programme_tag = excluded.programme_tag",
            (person.id, key.seal("drafts", "state", person.id, state), to_text(now), tag),
        )

    async def delete(self, person: Person) -> None:
        await self._conn.execute("DELETE FROM drafts WHERE person_id = ?", (person.id,))
