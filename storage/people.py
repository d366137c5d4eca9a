"""People: found by a keyed HMAC of their Telegram id, which is itself stored sealed.

The HMAC (the lookup tag) is kept in the erasure key store, not in the database (migration
0011): erasing a person deletes it there, so no copy of the database, backups included, can
tell whether a Telegram id was ever known once its owner is erased.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import aiosqlite

from storage.crypto import LookupKeys
from storage.db import from_text, to_text
from storage.keys import DataKeys
from storage.models import Person

_TELEGRAM_ID_BYTES = 8
#: What a person without a Telegram account has, sealed, in place of their Telegram id.
_NO_TELEGRAM = b""


class NoTelegram(ValueError):
    """The person has no Telegram account (referred by a professional, or taken by phone)."""


class PeopleRepo:
    def __init__(
        self,
        conn: aiosqlite.Connection,
        keys: DataKeys,
        lookup: LookupKeys,
        on_erase: list[str],
    ) -> None:
        self._conn = conn
        self._keys = keys
        self._lookup = lookup
        self._erased = on_erase
        # Telegram ids found to be nobody in this unit (which holds the write lock): create
        # need not look again
        self._nobody: set[int] = set()
        # who each Telegram id is, as found (or created) in this unit: an update looks its
        # sender up once, however many steps of it ask (the router, then the use case)
        self._found: dict[int, Person] = {}

    async def find(self, telegram_id: int) -> Person | None:
        """The person with this Telegram user id (their data key comes along).

        None also when the key store names a person this database does not have (a database
        restored from a backup taken before they were created): they start afresh.
        """
        if telegram_id in self._found:
            return self._found[telegram_id]
        if telegram_id in self._nobody:
            return None
        person_id = await self._keys.person_for(self._lookup.telegram(telegram_id))
        rows = []
        if person_id is not None:
            rows = list(
                await self._conn.execute_fetchall(
                    "SELECT p.id, p.created_at, k.version, k.key_id, k.wrapped"
                    " FROM people p JOIN person_keys k ON k.person_id = p.id WHERE p.id = ?",
                    (person_id,),
                )
            )
        if not rows:
            self._nobody.add(telegram_id)
            return None
        person_id, created_at, version, key_id, wrapped = rows[0]
        await self._keys.from_row(person_id, version, key_id, wrapped)
        self._found[telegram_id] = found = Person(person_id, from_text(created_at))
        return found

    async def get(self, person_id: str) -> Person | None:
        """The person with this (random, internal) id, or None if unknown or erased."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT id, created_at FROM people WHERE id = ?", (person_id,)
            )
        )
        return Person(rows[0][0], from_text(rows[0][1])) if rows else None

    async def create(self, telegram_id: int, now: datetime) -> Person:
        """A new person with a fresh random id and data key. ValueError if the id is known."""
        if telegram_id not in self._nobody and await self.find(telegram_id) is not None:
            raise ValueError("a person with this Telegram id already exists")
        self._nobody.discard(telegram_id)
        person_id = secrets.token_hex(16)
        key, key_id, wrapped = self._keys.new(person_id, self._lookup.telegram(telegram_id))
        sealed_id = key.seal(
            "people", "telegram_id", person_id, telegram_id.to_bytes(_TELEGRAM_ID_BYTES, "big")
        )
        stamp = to_text(now)
        await self._conn.execute(
            "INSERT INTO people (id, telegram_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (person_id, sealed_id, stamp, stamp),
        )
        await self._conn.execute(
            "INSERT INTO person_keys (person_id, version, key_id, wrapped) VALUES (?, ?, ?, ?)",
            (person_id, key.version, key_id, wrapped),
        )
        self._found[telegram_id] = made = Person(person_id, from_text(stamp))
        return made

    async def create_offline(self, now: datetime) -> Person:
        """A new person without a Telegram account: reached by phone or post only.

        Their lookup tag in the key store is random, so no Telegram id ever finds them; their
        sealed telegram_id is empty (telegram_id() raises NoTelegram)."""
        person_id = secrets.token_hex(16)
        key, key_id, wrapped = self._keys.new(person_id, secrets.token_bytes(32))
        stamp = to_text(now)
        await self._conn.execute(
            "INSERT INTO people (id, telegram_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (person_id, key.seal("people", "telegram_id", person_id, _NO_TELEGRAM), stamp, stamp),
        )
        await self._conn.execute(
            "INSERT INTO person_keys (person_id, version, key_id, wrapped) VALUES (?, ?, ?, ?)",
            (person_id, key.version, key_id, wrapped),
        )
        return Person(person_id, from_text(stamp))

    async def holds_more_than_a_form(self, person: Person) -> bool:
        """Whether anything but a form in progress is kept for ``person``: a referral of
        theirs, one they hold or made for someone else, a role, a supporter profile. A form
        given up erases the person only when not (a coordinator giving up a phone referral
        keeps their record, their roles and what they hold)."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT EXISTS (SELECT 1 FROM referrals WHERE person_id = ? OR holder_id = ?)"
                " OR EXISTS (SELECT 1 FROM referrers WHERE referrer_id = ?)"
                " OR EXISTS (SELECT 1 FROM roles WHERE person_id = ?)"
                " OR EXISTS (SELECT 1 FROM supporters WHERE person_id = ?)",
                (person.id,) * 5,
            )
        )
        return bool(rows[0][0])

    async def has_telegram(self, person: Person) -> bool:
        """False for a person referred by a professional or taken by phone."""
        return await self._sealed_telegram_id(person) != _NO_TELEGRAM

    async def telegram_id(self, person: Person) -> int:
        """Their Telegram user id; NoTelegram for a person without an account."""
        raw = await self._sealed_telegram_id(person)
        if raw == _NO_TELEGRAM:
            raise NoTelegram("person has no Telegram account")
        return int.from_bytes(raw, "big")

    async def _sealed_telegram_id(self, person: Person) -> bytes:
        key = await self._keys.get(person.id)
        sealed = await self._column(person, "telegram_id")
        if sealed is None:
            raise ValueError("person has no Telegram id")
        return key.open("people", "telegram_id", person.id, sealed)

    async def settings(self, person: Person) -> bytes | None:
        key = await self._keys.get(person.id)
        sealed = await self._column(person, "settings")
        return None if sealed is None else key.open("people", "settings", person.id, sealed)

    async def save_settings(self, person: Person, blob: bytes, now: datetime) -> None:
        key = await self._keys.get(person.id)
        await self._conn.execute(
            "UPDATE people SET settings = ?, updated_at = ? WHERE id = ?",
            (key.seal("people", "settings", person.id, blob), to_text(now), person.id),
        )

    async def erase(self, person: Person) -> None:
        """Delete the person, their wrapped data key and (by cascade) every row of theirs.

        With ``secure_delete`` the freed bytes are zeroed, and the store checkpoints and
        truncates the WAL after the commit so the wrapped key does not linger there either.
        After the commit the store also destroys the person's secret and lookup tag in the
        erasure key store (storage/keystore.py), which database backups do not carry: a backup
        taken before, opened with the master key and key store as they are after, can neither
        rebuild their data key nor find them by Telegram id.
        People stored before the key store existed (key version 1) have no such secret: for them
        a backup stays readable until the master key is rotated and the old one destroyed.
        """
        self._keys.forget(person.id)
        self._found = {t: p for t, p in self._found.items() if p.id != person.id}
        await self._conn.execute("DELETE FROM people WHERE id = ?", (person.id,))
        self._erased.append(person.id)

    async def _column(self, person: Person, column: str) -> bytes | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {column} FROM people WHERE id = ?",  # noqa: S608 - fixed column names
                (person.id,),
            )
        )
        if not rows:
            raise ValueError("no such person")
        value: bytes | None = rows[0][0]
        return value
