"""What a coordinator is in the middle of (typing a note or a message), sealed, one per person."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.keys import DataKeys
from storage.models import Person
from storage.person_blob import PersonBlob


class StaffStateRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys) -> None:
        self._blob = PersonBlob(conn, keys, "staff_state", "state")

    async def load(self, person: Person) -> bytes | None:
        return await self._blob.load(person)

    async def save(self, person: Person, state: bytes, now: datetime) -> None:
        await self._blob.save(person, state, now)

    async def clear(self, person: Person) -> None:
        await self._blob.clear(person)
