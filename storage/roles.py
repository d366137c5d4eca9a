"""Staff roles per programme ("coordinator", "supporter"), programmes kept as keyed tags."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from storage.crypto import LookupKeys
from storage.db import from_text, to_text
from storage.models import Person

ROLES = ("coordinator", "supporter")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")


class RolesRepo:
    def __init__(self, conn: aiosqlite.Connection, lookup: LookupKeys) -> None:
        self._conn = conn
        self._lookup = lookup

    async def grant(self, person: Person, role: str, programme_id: str, now: datetime) -> bool:
        """Give ``person`` the role; False if they already had it (nothing changes)."""
        check_role(role)
        rows = await self._conn.execute_fetchall(
            "INSERT INTO roles (person_id, role, programme_tag, granted_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING person_id",
            (person.id, role, self._lookup.programme(programme_id), to_text(now)),
        )
        return bool(list(rows))

    async def revoke(self, person: Person, role: str, programme_id: str) -> bool:
        """Take the role away; False if they did not have it."""
        check_role(role)
        async with self._conn.execute(
            "DELETE FROM roles WHERE person_id = ? AND role = ? AND programme_tag = ?",
            (person.id, role, self._lookup.programme(programme_id)),
        ) as cursor:
            return cursor.rowcount > 0

    async def has(self, person: Person, role: str, programme_id: str) -> bool:
        check_role(role)
        rows = await self._conn.execute_fetchall(
            "SELECT 1 FROM roles WHERE person_id = ? AND role = ? AND programme_tag = ?",
            (person.id, role, self._lookup.programme(programme_id)),
        )
        return bool(list(rows))

    async def programmes(self, person: Person, role: str, candidates: Sequence[str]) -> list[str]:
        """Which of ``candidates`` (in their order) the person holds ``role`` for."""
        check_role(role)
        rows = await self._conn.execute_fetchall(
            "SELECT programme_tag FROM roles WHERE person_id = ? AND role = ?",
            (person.id, role),
        )
        held = {bytes(row[0]) for row in rows}
        return [p for p in candidates if self._lookup.programme(p) in held]

    async def holders(self, role: str, programme_id: str) -> list[Person]:
        """Everyone with ``role`` for the programme, longest-standing grant first."""
        check_role(role)
        rows = await self._conn.execute_fetchall(
            "SELECT p.id, p.created_at FROM roles r JOIN people p ON p.id = r.person_id"
            " WHERE r.programme_tag = ? AND r.role = ? ORDER BY r.granted_at, p.id",
            (self._lookup.programme(programme_id), role),
        )
        return [Person(person_id, from_text(created_at)) for person_id, created_at in rows]
