"""Peer supporters' profiles (sealed under the supporter's own key) and whether they are paused.

The profile is opaque here (the caller's JSON); only ``paused`` is plain, so the match ranking
can skip paused supporters without opening their profiles.
"""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.db import to_text
from storage.keys import DataKeys
from storage.models import Person
from storage.person_blob import PersonBlob


class SupporterRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys) -> None:
        self._conn = conn
        self._profile = PersonBlob(conn, keys, "supporters", "profile")

    async def profile(self, person: Person) -> bytes | None:
        """The sealed profile, opened; None if they never saved one."""
        return await self._profile.load(person)

    async def save(self, person: Person, profile: bytes, now: datetime) -> None:
        await self._profile.save(person, profile, now)

    async def paused(self, person: Person) -> bool:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT paused FROM supporters WHERE person_id = ?", (person.id,)
            )
        )
        return bool(rows and rows[0][0])

    async def set_paused(self, person: Person, paused: bool, now: datetime) -> bool:
        """False if they have no profile yet."""
        async with self._conn.execute(
            "UPDATE supporters SET paused = ?, updated_at = ? WHERE person_id = ?",
            (int(paused), to_text(now), person.id),
        ) as cursor:
            return cursor.rowcount == 1

    async def remove(self, person: Person) -> bool:
        """They left: the profile goes (their roles are revoked by the caller)."""
        return await self._profile.clear(person)

    async def ready(self, people: list[Person]) -> list[Person]:
        """Those of ``people`` with a profile who are not paused, in the order given."""
        if not people:
            return []
        marks = ", ".join("?" * len(people))
        rows = await self._conn.execute_fetchall(
            "SELECT person_id FROM supporters"  # noqa: S608 - placeholders only
            f" WHERE paused = 0 AND person_id IN ({marks})",
            tuple(p.id for p in people),
        )
        found = {str(row[0]) for row in rows}
        return [p for p in people if p.id in found]
