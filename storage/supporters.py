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


class SupporterRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def profile(self, person: Person) -> bytes | None:
        """The sealed profile, opened; None if they never saved one."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT profile FROM supporters WHERE person_id = ?", (person.id,)
            )
        )
        if not rows:
            return None
        key = await self._keys.get(person.id)
        return key.open("supporters", "profile", person.id, rows[0][0])

    async def save(self, person: Person, profile: bytes, now: datetime) -> None:
        key = await self._keys.get(person.id)
        await self._conn.execute(
            "INSERT INTO supporters (person_id, profile, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (person_id) DO UPDATE SET"
            " profile = excluded.profile, updated_at = excluded.updated_at",
            (person.id, key.seal("supporters", "profile", person.id, profile), to_text(now)),
        )

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
        async with self._conn.execute(
            "DELETE FROM supporters WHERE person_id = ?", (person.id,)
        ) as cursor:
            return cursor.rowcount == 1

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
