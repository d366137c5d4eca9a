"""One-time invite codes that grant a staff role for a programme.

A code is 12 Crockford base32 characters from ``secrets`` (60 bits), shown as ``K7M4-QXT2-9ZPB``.
Only a keyed HMAC of the normalised code is stored (a purpose-separated key from the lookup
secret), so the table does not let anyone redeem a code, and codes survive key rotation.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from storage.crypto import LookupKeys
from storage.db import to_text
from storage.models import Person
from storage.referrals import CROCKFORD
from storage.roles import check_role

CODE_LENGTH = 12
GROUP = 4
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = str.maketrans("", "", " -_\t\n\r\u00a0\u2010\u2011\u2012\u2013\u2014")


def new_code() -> str:
    raw = "".join(secrets.choice(CROCKFORD) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, CODE_LENGTH, GROUP))


def normalise_code(text: str) -> str | None:
    """Upper-case, spaces and dashes dropped, O/I/L read as 0/1; None if it cannot be a code."""
    code = text.translate(_IGNORED).upper().translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(c not in CROCKFORD for c in code):
        return None
    return code


class InviteRepo:
    def __init__(self, conn: aiosqlite.Connection, lookup: LookupKeys) -> None:
        self._conn = conn
        self._lookup = lookup

    async def create(
        self, role: str, programme_id: str, now: datetime, expires_at: datetime
    ) -> str:
        """A fresh code (grouped for display). Shown once: it cannot be read back."""
        check_role(role)
        if expires_at <= now:
            raise ValueError("an invite must expire after it is created")
        code = new_code()
        normalised = normalise_code(code)
        assert normalised is not None
        await self._conn.execute(
            "INSERT INTO invites (code_mac, role, programme_tag, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                self._lookup.invite(normalised),
                role,
                self._lookup.programme(programme_id),
                to_text(now),
                to_text(expires_at),
            ),
        )
        return code

    async def usable(self, code: str, now: datetime, candidates: Sequence[str]) -> bool:
        """Whether ``redeem`` would accept the code now (reads only: nothing is written)."""
        normalised = normalise_code(code)
        if normalised is None or not candidates:
            return False
        tags = [self._lookup.programme(p) for p in candidates]
        rows = await self._conn.execute_fetchall(
            "SELECT 1 FROM invites"  # noqa: S608 - placeholders only
            " WHERE code_mac = ? AND used_at IS NULL AND expires_at > ?"
            f" AND programme_tag IN ({', '.join('?' * len(tags))})",
            (self._lookup.invite(normalised), to_text(now), *tags),
        )
        return bool(list(rows))

    async def redeem(
        self, code: str, person: Person, now: datetime, candidates: Sequence[str]
    ) -> tuple[str, str] | None:
        """(role, programme_id) the first time a valid code is used; None ever after.

        One UPDATE decides (unused, unexpired, for a programme still among ``candidates``), so
        two people racing for one code cannot both win. A code for a programme no longer
        configured stays unused. The caller grants the role in the same unit of work.
        """
        normalised = normalise_code(code)
        if normalised is None or not candidates:
            return None
        tags = {self._lookup.programme(p): p for p in candidates}
        rows = list(
            await self._conn.execute_fetchall(
                "UPDATE invites SET used_at = ?, used_by = ?"  # noqa: S608 - placeholders only
                " WHERE code_mac = ? AND used_at IS NULL AND expires_at > ?"
                f" AND programme_tag IN ({', '.join('?' * len(tags))})"
                " RETURNING role, programme_tag",
                (to_text(now), person.id, self._lookup.invite(normalised), to_text(now), *tags),
            )
        )
        if not rows:
            return None
        role, tag = rows[0]
        return role, tags[bytes(tag)]

    async def prune(self, before: datetime) -> int:
        """Forget invites that expired before ``before`` (used or not); returns how many."""
        async with self._conn.execute(
            "DELETE FROM invites WHERE expires_at < ?", (to_text(before),)
        ) as cursor:
            return int(cursor.rowcount)
