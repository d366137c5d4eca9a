"""The thread of one referral: coordinators' notes and messages to and from the referrer.

Bodies are sealed under the referrer's data key (the referral's owner), whoever wrote them, so
erasing the referrer shreds the whole thread; the rows also go with the referral (cascade).
The associated data binds a body to its entry id, referral and kind: a note cannot be moved to
another referral or turned into a message for the referrer.
"""

from __future__ import annotations

import builtins
from datetime import datetime

import aiosqlite

from storage.db import from_text, to_text
from storage.keys import DataKeys
from storage.models import Person, Referral, ThreadEntry

KINDS = ("note", "to_referrer", "from_referrer")


def _row_id(entry_id: int, referral_id: str, kind: str) -> str:
    return f"{entry_id}|{referral_id}|{kind}"


class ThreadRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def add(
        self, referral: Referral, kind: str, author: Person | None, body: bytes, now: datetime
    ) -> int:
        """Append an entry; returns its id."""
        if kind not in KINDS:
            raise ValueError(f"unknown thread entry kind {kind!r}; expected one of {KINDS}")
        key = await self._keys.get(referral.person_id)
        rows = list(
            await self._conn.execute_fetchall(
                "INSERT INTO thread (referral_id, kind, author_id, at) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (referral.id, kind, None if author is None else author.id, to_text(now)),
            )
        )
        entry_id = int(rows[0][0])
        sealed = key.seal("thread", "body", _row_id(entry_id, referral.id, kind), body)
        await self._conn.execute("UPDATE thread SET body = ? WHERE id = ?", (sealed, entry_id))
        return entry_id

    async def count_since(self, referral: Referral, kind: str, since: datetime) -> int:
        """How many entries of ``kind`` the referral's thread got from ``since`` on."""
        rows = await self._conn.execute_fetchall(
            "SELECT count(*) FROM thread WHERE referral_id = ? AND kind = ? AND at >= ?",
            (referral.id, kind, to_text(since)),
        )
        return int(next(iter(rows))[0])

    async def list(self, referral: Referral) -> builtins.list[ThreadEntry]:
        """Every entry, oldest first, bodies opened."""
        rows = await self._conn.execute_fetchall(
            "SELECT id, kind, author_id, body, at FROM thread WHERE referral_id = ? ORDER BY id",
            (referral.id,),
        )
        if not rows:
            return []
        key = await self._keys.get(referral.person_id)
        return [
            ThreadEntry(
                entry_id,
                kind,
                author_id,
                key.open("thread", "body", _row_id(entry_id, referral.id, kind), body),
                from_text(at),
            )
            for entry_id, kind, author_id, body, at in rows
        ]
