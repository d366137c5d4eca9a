"""Referrals: plain workflow columns (status, urgency, times), sealed content."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from storage.crypto import LookupKeys
from storage.db import from_text, to_text
from storage.keys import DataKeys
from storage.models import Person, Referral

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PREFIX = "PD-"
REFERENCE_LENGTH = 6
_ATTEMPTS = 20
_COLUMNS = "id, reference, person_id, status, urgent, submitted_at, updated_at"
# Characters people mistype for Crockford digits.
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_reference() -> str:
    return REFERENCE_PREFIX + "".join(secrets.choice(CROCKFORD) for _ in range(REFERENCE_LENGTH))


def normalise_reference(text: str) -> str:
    """Upper-case, trimmed, with O/I/L read as 0/1 (Crockford's rule)."""
    text = text.strip().upper()
    body = text.removeprefix(REFERENCE_PREFIX)
    return REFERENCE_PREFIX + body.translate(_CONFUSABLE)


def _referral(row: Sequence[Any]) -> Referral:
    ref_id, reference, person_id, status, urgent, submitted_at, updated_at = row
    return Referral(
        ref_id,
        reference,
        person_id,
        status,
        bool(urgent),
        from_text(submitted_at),
        from_text(updated_at),
    )


class ReferralRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys, lookup: LookupKeys) -> None:
        self._conn = conn
        self._keys = keys
        self._lookup = lookup

    async def create(
        self, person: Person, programme_id: str, answers: bytes, urgent: bool, now: datetime
    ) -> Referral:
        """Store a submitted referral under a fresh, unique reference code."""
        key = await self._keys.get(person.id)
        ref_id = secrets.token_hex(16)
        stamp = to_text(now)
        values = (
            ref_id,
            person.id,
            self._lookup.programme(programme_id),
            key.seal("referrals", "programme_id", ref_id, programme_id.encode()),
            key.seal("referrals", "answers", ref_id, answers),
            "submitted",
            int(urgent),
            stamp,
            stamp,
        )
        for _ in range(_ATTEMPTS):
            reference = new_reference()
            try:
                await self._conn.execute(
                    "INSERT INTO referrals (id, reference, person_id, programme_tag,"
                    " programme_id, answers, status, urgent, submitted_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (values[0], reference, *values[1:]),
                )
            except sqlite3.IntegrityError as e:
                if "referrals.reference" in str(e):
                    continue  # collision on the short code: draw again
                raise
            return Referral(
                ref_id, reference, person.id, "submitted", urgent, *[from_text(stamp)] * 2
            )
        raise RuntimeError(f"no free reference code after {_ATTEMPTS} attempts")

    async def for_person(self, person: Person) -> list[Referral]:
        """The person's referrals, newest first."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM referrals WHERE person_id = ?"  # noqa: S608
            " ORDER BY submitted_at DESC, rowid DESC",
            (person.id,),
        )
        return [_referral(row) for row in rows]

    async def by_reference(self, reference: str) -> Referral | None:
        """Find by reference code, ignoring case (and O/I/L typed for 0/1)."""
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM referrals WHERE reference = ?",  # noqa: S608
                (normalise_reference(reference),),
            )
        )
        return _referral(rows[0]) if rows else None

    async def queue(
        self, status: str = "submitted", programme_id: str | None = None, limit: int = 50
    ) -> list[Referral]:
        """Referrals in ``status``, urgent first, then oldest; optionally for one programme."""
        sql = f"SELECT {_COLUMNS} FROM referrals WHERE status = ?"  # noqa: S608
        params: list[object] = [status]
        if programme_id is not None:
            sql += " AND programme_tag = ?"
            params.append(self._lookup.programme(programme_id))
        sql += " ORDER BY urgent DESC, submitted_at, rowid LIMIT ?"
        params.append(limit)
        return [_referral(row) for row in await self._conn.execute_fetchall(sql, params)]

    async def set_status(self, referral: Referral, status: str, now: datetime) -> Referral:
        """Move a referral to ``status``; returns the updated record."""
        stamp = to_text(now)
        await self._conn.execute(
            "UPDATE referrals SET status = ?, updated_at = ? WHERE id = ?",
            (status, stamp, referral.id),
        )
        return Referral(
            referral.id,
            referral.reference,
            referral.person_id,
            status,
            referral.urgent,
            referral.submitted_at,
            from_text(stamp),
        )

    async def answers(self, referral: Referral) -> bytes:
        return await self._open(referral, "answers")

    async def programme_id(self, referral: Referral) -> str:
        return (await self._open(referral, "programme_id")).decode()

    async def _open(self, referral: Referral, column: str) -> bytes:
        key = await self._keys.get(referral.person_id)
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {column} FROM referrals WHERE id = ?",  # noqa: S608 - fixed names
                (referral.id,),
            )
        )
        if not rows:
            raise ValueError("no such referral")
        return key.open("referrals", column, referral.id, rows[0][0])
