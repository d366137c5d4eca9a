"""Messages for someone other than the chat of the current update, and scheduled ones.

Written in the same transaction as the effect that needs them; a delivery worker drains
``due`` rows and marks each one exactly once (``mark_sent``, ``retry``, ``give_up``). Sending is
at-least-once (``sendMessage`` has no idempotency key), so every message must be harmless twice.

A payload is sealed under the referral owner's key when the row concerns a referral (erasing the
referrer shreds it and the row goes by cascade), else the recipient's key, else the service key
(random, stored wrapped in ``secrets``). Its associated data binds it to the row id, kind,
recipient and referral, so a payload cannot be redirected to someone else. Once a row leaves
"pending" its payload is set to NULL: nothing is kept that is no longer needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.db import from_text, maybe_time, to_text
from storage.errors import UnreadableRecord
from storage.keys import DataKey, DataKeys
from storage.models import OutboxItem, Person, Referral
from storage.vault import SERVICE, Vault

SERVICE_OWNER = "~service"  # in associated data only; no person id can look like this
_ERROR_LENGTH = 64
_COLUMNS = (
    "id, kind, recipient_id, referral_id, due_at, created_at, attempts, state, sent_at,"
    " telegram_message_id, error, slot"
)


def _item(row: Sequence[Any]) -> OutboxItem:
    item_id, kind, recipient_id, referral_id, due_at, created_at, attempts, state = row[:8]
    sent_at, telegram_message_id, error, slot = row[8:]
    return OutboxItem(
        item_id,
        kind,
        recipient_id,
        referral_id,
        from_text(due_at),
        from_text(created_at),
        attempts,
        state,
        maybe_time(sent_at),
        telegram_message_id,
        error,
        slot,
    )


def _row_id(item_id: int, kind: str, recipient_id: str | None, referral_id: str | None) -> str:
    return f"{item_id}|{kind}|{recipient_id or ''}|{referral_id or ''}"


def _error_code(error: str) -> str:
    """Errors are short codes ("http_403", "timeout"); anything longer is cut."""
    return error[:_ERROR_LENGTH]


class Outbox:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys, vault: Vault) -> None:
        self._conn = conn
        self._keys = keys
        self._vault = vault

    async def add(
        self,
        kind: str,
        *,
        due_at: datetime,
        now: datetime,
        recipient: Person | None = None,
        referral: Referral | None = None,
        payload: bytes = b"",
    ) -> int:
        """Queue a message; returns its id. ``kind`` is a content-free name."""
        recipient_id = None if recipient is None else recipient.id
        referral_id = None if referral is None else referral.id
        key = await self._key(recipient_id, referral.person_id if referral else None, create=True)
        rows = list(
            await self._conn.execute_fetchall(
                "INSERT INTO outbox (kind, recipient_id, referral_id, due_at, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (kind, recipient_id, referral_id, to_text(due_at), to_text(now)),
            )
        )
        item_id = int(rows[0][0])
        sealed = key.seal(
            "outbox", "payload", _row_id(item_id, kind, recipient_id, referral_id), payload
        )
        await self._conn.execute("UPDATE outbox SET payload = ? WHERE id = ?", (sealed, item_id))
        return item_id

    async def schedule(
        self, kind: str, *, slot: str, referral: Referral, due_at: datetime, now: datetime
    ) -> int | None:
        """Queue occurrence ``slot`` of a recurring message about ``referral``, unless it is
        already queued, sent or failed (only a dropped one may be queued again). Returns the new
        row's id, or None when it was there already. No payload: rendered from the referral."""
        rows = list(
            await self._conn.execute_fetchall(
                "INSERT OR IGNORE INTO outbox (kind, referral_id, due_at, created_at, slot)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (kind, referral.id, to_text(due_at), to_text(now), slot),
            )
        )
        return int(rows[0][0]) if rows else None

    async def claim(self, item: OutboxItem, now: datetime) -> bool:
        """An at-most-once row is going on the wire now (committed before the request)."""
        async with self._conn.execute(
            "UPDATE outbox SET claimed_at = ? WHERE id = ? AND state = 'pending'",
            (to_text(now), item.id),
        ) as cursor:
            return cursor.rowcount == 1

    async def settle_interrupted(self, kinds: Sequence[str], now: datetime) -> int:
        """At start-up: rows of at-most-once ``kinds`` claimed by a bot that died while sending
        may have arrived: failed ("ambiguous"), never sent again. Claims on other kinds are
        cleared (those are sent again). Returns how many were settled as ambiguous."""
        marks = ", ".join("?" for _ in kinds)
        async with self._conn.execute(
            "UPDATE outbox SET state = 'failed', settled_at = ?, error = 'ambiguous',"  # noqa: S608
            f" payload = NULL WHERE state = 'pending' AND claimed_at IS NOT NULL"
            f" AND kind IN ({marks})",
            (to_text(now), *kinds),
        ) as cursor:
            settled = int(cursor.rowcount)
        await self._conn.execute(
            "UPDATE outbox SET claimed_at = NULL"
            " WHERE state = 'pending' AND claimed_at IS NOT NULL"
        )
        return settled

    async def discard(self, item: OutboxItem, now: datetime, reason: str) -> bool:
        """Nothing to send any more (too late for a reminder, the person blocked the bot):
        state "dropped", payload erased, the reason kept as a short code."""
        return await self._settle(
            item,
            "state = 'dropped', settled_at = ?, error = ?, payload = NULL",
            (to_text(now), _error_code(reason)),
        )

    async def drop_for_person(self, person: Person, kinds: Sequence[str], now: datetime) -> int:
        """Pending rows of ``kinds`` about the person's referrals become "dropped" (/stop)."""
        marks = ", ".join("?" for _ in kinds)
        async with self._conn.execute(
            "UPDATE outbox SET state = 'dropped', settled_at = ?, payload = NULL"  # noqa: S608
            f" WHERE state = 'pending' AND kind IN ({marks}) AND referral_id IN"
            " (SELECT id FROM referrals WHERE person_id = ?)",
            (to_text(now), *kinds, person.id),
        ) as cursor:
            return int(cursor.rowcount)

    async def due(self, now: datetime, limit: int = 50) -> list[OutboxItem]:
        """Pending rows due by ``now``, by due time then id."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND due_at <= ?"  # noqa: S608
            " ORDER BY due_at, id LIMIT ?",
            (to_text(now), limit),
        )
        return [_item(row) for row in rows]

    async def next_due_at(self) -> datetime | None:
        """When the earliest pending row is due (None: nothing pending), to sleep until."""
        rows = await self._conn.execute_fetchall(
            "SELECT due_at FROM outbox WHERE state = 'pending' ORDER BY due_at, id LIMIT 1"
        )
        found = list(rows)
        return from_text(found[0][0]) if found else None

    async def get(self, item_id: int) -> OutboxItem | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM outbox WHERE id = ?",  # noqa: S608
                (item_id,),
            )
        )
        return _item(rows[0]) if rows else None

    async def payload(self, item: OutboxItem) -> bytes:
        """The opened payload. ValueError once the row has left "pending" (payload erased)."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT o.payload, r.person_id FROM outbox o"
                " LEFT JOIN referrals r ON r.id = o.referral_id WHERE o.id = ?",
                (item.id,),
            )
        )
        if not rows:
            raise ValueError("no such outbox row")
        sealed, owner_id = rows[0]
        if sealed is None:
            raise ValueError("this outbox row has no payload any more")
        key = await self._key(item.recipient_id, owner_id, create=False)
        row_id = _row_id(item.id, item.kind, item.recipient_id, item.referral_id)
        return key.open("outbox", "payload", row_id, sealed)

    async def mark_sent(
        self, item: OutboxItem, now: datetime, telegram_message_id: int | None
    ) -> bool:
        """Done. False if the row was no longer pending (someone else settled it)."""
        return await self._settle(
            item,
            "state = 'sent', sent_at = ?, settled_at = ?, telegram_message_id = ?,"
            " attempts = attempts + 1, error = NULL, payload = NULL",
            (to_text(now), to_text(now), telegram_message_id),
        )

    async def retry(self, item: OutboxItem, retry_at: datetime, error: str) -> bool:
        """A transient failure: one more attempt counted, due again at ``retry_at``."""
        return await self._settle(
            item,
            "attempts = attempts + 1, due_at = ?, error = ?, claimed_at = NULL",
            (to_text(retry_at), _error_code(error)),
        )

    async def postpone(self, item: OutboxItem, until: datetime) -> bool:
        """Not a failure (the person paused messages): due again at ``until``, no attempt used."""
        return await self._settle(item, "due_at = ?", (to_text(until),))

    async def bring_forward(self, person: Person, kinds: Sequence[str], now: datetime) -> int:
        """A pause ended early: the person's postponed rows of ``kinds`` are due now."""
        marks = ", ".join("?" for _ in kinds)
        async with self._conn.execute(
            f"UPDATE outbox SET due_at = ? WHERE state = 'pending' AND due_at > ?"  # noqa: S608
            f" AND kind IN ({marks}) AND (recipient_id = ? OR referral_id IN"
            " (SELECT id FROM referrals WHERE person_id = ?))",
            (to_text(now), to_text(now), *kinds, person.id, person.id),
        ) as cursor:
            return int(cursor.rowcount)

    async def park(self, item: OutboxItem, now: datetime, error: str) -> bool:
        """Failed inside the bot (not at Telegram) on every attempt it was given: set aside as
        "parked", payload erased, counted for the operator (``parked``)."""
        return await self._settle(
            item,
            "state = 'parked', settled_at = ?, attempts = attempts + 1, error = ?,"
            " claimed_at = NULL, payload = NULL",
            (to_text(now), _error_code(error)),
        )

    async def parked(self) -> int:
        """How many rows are parked (until pruned with the other settled rows)."""
        rows = await self._conn.execute_fetchall(
            "SELECT count(*) FROM outbox WHERE state = 'parked'"
        )
        return int(next(iter(rows))[0])

    async def give_up(self, item: OutboxItem, now: datetime, error: str) -> bool:
        """A permanent failure: state "failed", payload erased."""
        return await self._settle(
            item,
            "state = 'failed', settled_at = ?, attempts = attempts + 1, error = ?, payload = NULL",
            (to_text(now), _error_code(error)),
        )

    async def drop(self, kind: str, referral: Referral) -> int:
        """Pending rows of ``kind`` for the referral become "dropped"; returns how many."""
        async with self._conn.execute(
            "UPDATE outbox SET state = 'dropped', payload = NULL"
            " WHERE referral_id = ? AND kind = ? AND state = 'pending'",
            (referral.id, kind),
        ) as cursor:
            return int(cursor.rowcount)

    async def drop_slots(self, referral: Referral, kinds: Sequence[str], slot: str) -> int:
        """Pending rows of ``kinds`` about the referral whose slot is ``slot`` or starts with
        ``slot:`` (one session's reminders and log) become "dropped"; returns how many."""
        marks = ", ".join("?" for _ in kinds)
        async with self._conn.execute(
            "UPDATE outbox SET state = 'dropped', payload = NULL"  # noqa: S608 - placeholders
            f" WHERE referral_id = ? AND state = 'pending' AND kind IN ({marks})"
            " AND (slot = ? OR substr(slot, 1, ?) = ?)",
            (referral.id, *kinds, slot, len(slot) + 1, f"{slot}:"),
        ) as cursor:
            return int(cursor.rowcount)

    async def slot_state(self, kind: str, referral: Referral, slot: str) -> str | None:
        """The state of occurrence ``slot`` of ``kind`` (not counting dropped ones), or None."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT state FROM outbox WHERE referral_id = ? AND kind = ? AND slot = ?"
                " AND state != 'dropped'",
                (referral.id, kind, slot),
            )
        )
        return str(rows[0][0]) if rows else None

    async def pending(self, kind: str, referral: Referral) -> int:
        rows = await self._conn.execute_fetchall(
            "SELECT count(*) FROM outbox WHERE referral_id = ? AND kind = ? AND state = 'pending'",
            (referral.id, kind),
        )
        return int(next(iter(rows))[0])

    async def ever(self, kind: str, referral: Referral) -> int:
        """How many rows of ``kind`` the referral has had, in any state (until pruned)."""
        rows = await self._conn.execute_fetchall(
            "SELECT count(*) FROM outbox WHERE referral_id = ? AND kind = ?", (referral.id, kind)
        )
        return int(next(iter(rows))[0])

    async def prune(self, before: datetime) -> int:
        """Forget settled rows (sent, failed, dropped) older than ``before``; returns how many."""
        async with self._conn.execute(
            "DELETE FROM outbox WHERE state != 'pending' AND coalesce(settled_at, due_at) < ?",
            (to_text(before),),
        ) as cursor:
            return int(cursor.rowcount)

    async def _settle(self, item: OutboxItem, assignments: str, params: Sequence[object]) -> bool:
        async with self._conn.execute(
            f"UPDATE outbox SET {assignments} WHERE id = ? AND state = 'pending'",  # noqa: S608
            (*params, item.id),
        ) as cursor:
            return cursor.rowcount == 1

    async def _key(
        self, recipient_id: str | None, owner_id: str | None, *, create: bool
    ) -> DataKey:
        if owner_id is not None:
            return await self._keys.get(owner_id)
        if recipient_id is not None:
            return await self._keys.get(recipient_id)
        secret = await (self._vault.get(SERVICE) if create else self._vault.find(SERVICE))
        if secret is None:
            raise UnreadableRecord("the service key is missing from the secrets table")
        return DataKey(SERVICE_OWNER, 1, AESGCM(secret))
