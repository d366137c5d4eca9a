"""One sealed value per person in a table keyed by ``person_id`` (with ``updated_at``): what a
coordinator is typing, a survey in progress, a supporter's profile. Sealed under the person's
own key, bound to the table, column and person, so a value cannot be moved to someone else."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.db import to_text
from storage.keys import DataKeys
from storage.models import Person


class PersonBlob:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys, table: str, column: str):
        self._conn = conn
        self._keys = keys
        self._table = table  # fixed names from the repositories, never from input
        self._column = column

    async def load(self, person: Person) -> bytes | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {self._column} FROM {self._table} WHERE person_id = ?",  # noqa: S608
                (person.id,),
            )
        )
        if not rows:
            return None
        key = await self._keys.get(person.id)
        return key.open(self._table, self._column, person.id, rows[0][0])

    async def save(self, person: Person, value: bytes, now: datetime) -> None:
        key = await self._keys.get(person.id)
        sealed = key.seal(self._table, self._column, person.id, value)
        await self._conn.execute(
            f"INSERT INTO {self._table} (person_id, {self._column}, updated_at)"  # noqa: S608
            " VALUES (?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET"
            f" {self._column} = excluded.{self._column}, updated_at = excluded.updated_at",
            (person.id, sealed, to_text(now)),
        )

    async def clear(self, person: Person) -> bool:
        async with self._conn.execute(
            f"DELETE FROM {self._table} WHERE person_id = ?",  # noqa: S608
            (person.id,),
        ) as cursor:
            return cursor.rowcount == 1
