"""The audit trail: append-only, hash-chained, content-free.

Each entry stores ``seq, at, actor_id, action, reference, detail, prev_mac, mac`` where
``mac = HMAC-SHA256(chain key, prev_mac || canonical(seq, at, actor_id, action, reference,
detail))`` and the first ``prev_mac`` is 32 zero bytes. The chain key is derived from the audit
secret (32 random bytes stored wrapped in ``secrets``, so it survives master-key rotation). The
one-row ``audit_head`` table holds the last seq and mac plus a MAC over both under a separate
sub-key; it is rewritten in the same transaction as every append. Triggers refuse UPDATE and
DELETE on ``audit_log`` (against our own bugs; anyone with the file can drop them).

What verification detects, for someone who can write the database file but does not hold the
master key (so cannot unwrap the audit secret): an entry changed, removed, reordered or inserted
anywhere, entries removed from the end (the head names a later seq and cannot be re-MACed), and
a missing head or audit secret while entries exist.

What it cannot detect:
- anyone holding the master key (or the unwrapped audit secret) can rewrite the whole chain;
- rollback: replacing the database with an older copy of itself (an older, valid chain and
  head). Only state kept outside the database catches that, e.g. the operator writing down
  ``(entries, head mac)`` from time to time or shipping entries to an append-only log elsewhere;
- removing the whole trail together with the audit secret and the head: that looks like a
  database where nothing was ever audited (the same outside state would catch it);
- what was never recorded: the chain vouches for entries, not for the completeness of callers.

Callers pass action names, reference codes and status names only. ``actor_id`` is a random
person id; it is not a foreign key, so erasing a person leaves their entries (and the chain)
intact, and after erasure the id leads nowhere.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from storage.crypto import derive_key
from storage.db import from_text, to_text
from storage.errors import StorageError
from storage.models import AuditEntry, AuditReport, Person
from storage.vault import AUDIT, Vault

GENESIS = bytes(32)
_COLUMNS = "seq, at, actor_id, action, reference, detail"


class AuditTampered(StorageError):
    """The audit trail cannot be extended safely: its head or key is missing."""


def _field(value: str | None) -> bytes:
    raw = b"\x00" if value is None else b"\x01" + value.encode()
    return len(raw).to_bytes(4, "big") + raw


def canonical(
    seq: int, at: str, actor_id: str | None, action: str, reference: str | None, detail: str
) -> bytes:
    """Unambiguous encoding of an entry's fields (length-prefixed, None distinct from "")."""
    fields = ("peerdoor-audit-v1", str(seq), at, actor_id, action, reference, detail)
    return b"".join(_field(f) for f in fields)


class _Keys:
    def __init__(self, secret: bytes) -> None:
        self.chain = derive_key(secret, b"audit|chain")
        self.head = derive_key(secret, b"audit|head")

    def mac(self, prev_mac: bytes, encoded: bytes) -> bytes:
        return hmac.new(self.chain, prev_mac + encoded, hashlib.sha256).digest()

    def head_mac(self, seq: int, mac: bytes) -> bytes:
        return hmac.new(self.head, seq.to_bytes(8, "big") + mac, hashlib.sha256).digest()


def _entry(row: Sequence[Any]) -> AuditEntry:
    seq, at, actor_id, action, reference, detail = row
    return AuditEntry(seq, from_text(at), actor_id, action, reference, detail)


class AuditLog:
    def __init__(self, conn: aiosqlite.Connection, vault: Vault) -> None:
        self._conn = conn
        self._vault = vault

    async def record(
        self,
        actor: Person | None,
        action: str,
        now: datetime,
        *,
        reference: str | None = None,
        detail: str = "",
    ) -> None:
        """Append one entry (in the caller's transaction). No personal content, ever.

        AuditTampered if the head or the audit secret is missing while entries exist: the
        chain is not silently restarted over the evidence.
        """
        head = await self._head()
        secret = await self._vault.find(AUDIT)
        if secret is None:
            if head is not None or await self._any_entry():
                raise AuditTampered("the audit secret is missing; run Store.verify_audit")
            secret = await self._vault.get(AUDIT)
        if head is None:
            if await self._any_entry():
                raise AuditTampered("the audit trail's head is missing; run Store.verify_audit")
            seq, prev_mac = 1, GENESIS
        else:
            seq, prev_mac = head[0] + 1, bytes(head[1])
        keys = _Keys(secret)
        at = to_text(now)
        actor_id = None if actor is None else actor.id
        mac = keys.mac(prev_mac, canonical(seq, at, actor_id, action, reference, detail))
        await self._conn.execute(
            "INSERT INTO audit_log (seq, at, actor_id, action, reference, detail, prev_mac, mac)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, at, actor_id, action, reference, detail, prev_mac, mac),
        )
        await self._conn.execute(
            "INSERT INTO audit_head (id, seq, mac, head_mac) VALUES (1, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET"
            " seq = excluded.seq, mac = excluded.mac, head_mac = excluded.head_mac",
            (seq, mac, keys.head_mac(seq, mac)),
        )

    async def recorded_since(
        self, action: str, since: datetime, *, actor: Person | None, reference: str
    ) -> bool:
        """Whether ``action`` by ``actor`` about ``reference`` is in the trail from ``since`` on
        (to record a repeated refusal once, not once per attempt). Reads the reference's
        entries only (audit_log_reference)."""
        rows = await self._conn.execute_fetchall(
            "SELECT 1 FROM audit_log WHERE reference = ? AND action = ? AND at >= ?"
            " AND actor_id IS ? LIMIT 1",
            (reference, action, to_text(since), None if actor is None else actor.id),
        )
        return bool(list(rows))

    async def entries(self, reference: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """The latest ``limit`` entries (of one reference, if given), oldest first."""
        if reference is None:
            sql = f"SELECT {_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT ?"  # noqa: S608
            params: tuple[object, ...] = (limit,)
        else:
            sql = (
                f"SELECT {_COLUMNS} FROM audit_log WHERE reference = ?"  # noqa: S608
                " ORDER BY seq DESC LIMIT ?"
            )
            params = (reference, limit)
        rows = await self._conn.execute_fetchall(sql, params)
        return [_entry(row) for row in reversed(list(rows))]

    async def verify(self) -> AuditReport:
        """Recompute the chain and check the head; the first problem found is reported.

        ``entries`` is how many rows the trail holds; ``seq`` where the first problem is.
        """
        secret = await self._vault.find(AUDIT)
        head = await self._head()
        total = await self._count()
        if secret is None:
            if head is not None or total:
                return AuditReport(False, total, "the audit secret is missing", None)
            return AuditReport(True, 0)
        keys = _Keys(secret)
        expected, prev = 1, GENESIS
        async with self._conn.execute(
            f"SELECT {_COLUMNS}, prev_mac, mac FROM audit_log ORDER BY seq"  # noqa: S608
        ) as cursor:
            async for row in cursor:
                seq, at, actor_id, action, reference, detail, prev_mac, mac = row
                problem = None
                if seq != expected:
                    problem, where = f"entry {expected} is missing (next is {seq})", expected
                elif bytes(prev_mac) != prev:
                    problem, where = f"entry {seq} does not link to the entry before it", seq
                else:
                    encoded = canonical(seq, at, actor_id, action, reference, detail)
                    if not hmac.compare_digest(keys.mac(prev, encoded), bytes(mac)):
                        problem, where = f"entry {seq} does not match its MAC", seq
                if problem is not None:
                    return AuditReport(False, total, problem, where)
                prev = bytes(mac)
                expected += 1
        last = expected - 1
        if head is None:
            if last:
                return AuditReport(False, total, "the chain's head record is missing", last)
            return AuditReport(True, 0)
        head_seq, head_mac_value, head_check = head[0], bytes(head[1]), bytes(head[2])
        if not hmac.compare_digest(keys.head_mac(head_seq, head_mac_value), head_check):
            return AuditReport(False, total, "the chain's head record was altered", head_seq)
        if head_seq > last:
            problem = f"entries {last + 1}..{head_seq} at the end are missing"
            return AuditReport(False, total, problem, last + 1)
        if head_seq < last:
            problem = f"entries after {head_seq} were added behind the head"
            return AuditReport(False, total, problem, head_seq + 1)
        if not hmac.compare_digest(head_mac_value, prev):
            return AuditReport(False, total, "the head does not match the last entry", last)
        return AuditReport(True, last)

    async def _head(self) -> Sequence[Any] | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT seq, mac, head_mac FROM audit_head WHERE id = 1"
            )
        )
        return rows[0] if rows else None

    async def _any_entry(self) -> bool:
        rows = await self._conn.execute_fetchall("SELECT 1 FROM audit_log LIMIT 1")
        return bool(list(rows))

    async def _count(self) -> int:
        rows = await self._conn.execute_fetchall("SELECT count(*) FROM audit_log")
        return int(next(iter(rows))[0])
