"""The store: one connection, one writer at a time, one transaction per unit of work."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import aiosqlite

from storage import crashpoints, db
from storage.audit import AuditLog
from storage.crypto import KeyRing, LookupKeys, derive_key, new_data_key
from storage.drafts import DraftRepo
from storage.engagements import EngagementRepo
from storage.errors import (
    KeyStoreMissing,
    MasterKeyChanged,
    StorageError,
    WrongKeyStore,
    WrongMasterKey,
)
from storage.funnel import FunnelRepo
from storage.invites import InviteRepo
from storage.keys import KEY_VERSION, DataKeys, KeyCache, wrap_context
from storage.keystore import KeyStore, keystore_path
from storage.models import AuditReport
from storage.outbox import Outbox
from storage.people import PeopleRepo
from storage.referrals import ReferralRepo
from storage.retention import RetentionRepo
from storage.roles import RolesRepo
from storage.sessions import SessionRepo
from storage.staff import StaffStateRepo
from storage.stats import StatsRepo
from storage.supporters import SupporterRepo
from storage.surveys import SurveyRepo
from storage.thread import ThreadRepo
from storage.updates import UpdateLog
from storage.vault import Vault
from storage.vault import context as secret_context

_LOOKUP_ROW = "lookup"
_LOOKUP_CONTEXT = secret_context(_LOOKUP_ROW)

#: Given the key id the database is now wrapped under, return that master key (or None).
KeyReloader = Callable[[str], bytes | None]


class Unit:
    """The repositories of one write transaction."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        keys: DataKeys,
        lookup: LookupKeys,
        vault: Vault,
    ) -> None:
        self.erased: list[str] = []
        # rows whose old ciphertext must not outlive the commit (WAL checkpointed, truncated)
        self.scrubbed: list[str] = []
        self.vault = vault
        self.people = PeopleRepo(conn, keys, lookup, self.erased)
        self.drafts = DraftRepo(conn, keys, lookup)
        self.referrals = ReferralRepo(conn, keys, lookup, self.scrubbed)
        self.updates = UpdateLog(conn)
        self.roles = RolesRepo(conn, lookup)
        self.invites = InviteRepo(conn, lookup)
        self.thread = ThreadRepo(conn, keys)
        self.outbox = Outbox(conn, keys, self.vault)
        self.audit = AuditLog(conn, self.vault)
        self.staff = StaffStateRepo(conn, keys)
        self.retention = RetentionRepo(conn, keys, lookup, self.people, self.scrubbed)
        self.funnel = FunnelRepo(conn, lookup)  # counts only, for reports
        self.stats = StatsRepo(conn)
        self.supporters = SupporterRepo(conn, keys)
        self.engagements = EngagementRepo(conn, keys)
        self.sessions = SessionRepo(conn, keys)
        self.surveys = SurveyRepo(conn, keys, lookup)


class Store:
    """Open with ``await Store.open(path, keyring)``; work in ``async with store.unit()``."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        keyring: KeyRing,
        lookup: LookupKeys,
        keystore: KeyStore,
    ) -> None:
        self._conn = conn
        self._keystore = keystore
        self._keyring = keyring
        self._lookup = lookup
        self._cache = KeyCache()
        self._secrets: dict[str, bytes] = {}
        self._lock = asyncio.Lock()
        self._closed = False
        self._unsettled = False
        self._reload: KeyReloader | None = None

    @property
    def key_id(self) -> str:
        """The (public) id of the master key new keys are wrapped under."""
        return self._keyring.key_id

    def reload_keys_with(self, reload: KeyReloader | None) -> None:
        """What to do when another process rotated the master key under this open store.

        Every unit of work first checks, inside its write lock, which master key the database
        is wrapped under. If this store's key ring does not know it, ``reload(key_id)`` is asked
        for that key once per unit; a key that matches (and unwraps the lookup secret) replaces
        the ring. Without one the unit raises MasterKeyChanged and writes nothing, so nothing is
        ever wrapped under a master key the database no longer uses. Data keys and secrets do
        not change in a rotation, so cached ones stay valid.
        """
        self._reload = reload

    @property
    def keystore_path(self) -> Path:
        """The erasure key store this store uses (storage/keystore.py)."""
        return self._keystore.path

    @classmethod
    async def open(
        cls,
        path: Path,
        keyring: KeyRing,
        *,
        keystore: Path | None = None,
        busy_timeout_ms: int = db.BUSY_TIMEOUT_MS,
    ) -> Store:
        """Create or open the database, migrate it, and check the master key and key store.

        ``keystore`` is the erasure key store, by default ``keystore_path(path)`` beside the
        database; a copy of the database (a backup) is opened with the live one. The checks come
        before anything is written: with a wrong master key the files are left exactly as they
        were and WrongMasterKey is raised; a key store missing while the database has people
        whose keys need it raises KeyStoreMissing (a fresh one would make them unreadable), and
        one that belongs to another database WrongKeyStore.
        """
        keystore = keystore_path(path) if keystore is None else keystore
        conn = await db.connect(path, busy_timeout_ms)
        store: KeyStore | None = None
        try:
            if await db.user_version(conn) > 0:
                await _load_lookup_secret(conn, keyring)  # raises WrongMasterKey
                if not keystore.exists() and await _needs_keystore(conn):
                    raise KeyStoreMissing(
                        f"the erasure key store {keystore} is missing, but the database {path} "
                        "has people whose keys need it: put the latest backup of that file back "
                        "beside the database (a new one would leave them unreadable)"
                    )
            await db.enable_wal(conn)
            await db.migrate(conn)
            lookup, secret = await _lookup_keys(conn, keyring)
            store = await KeyStore.open(keystore, busy_timeout_ms)
            await _claim_keystore(store, secret, path)
            await _settle_keystore(conn, store)
        except BaseException:
            if store is not None:
                await store.close()
            await conn.close()
            raise
        return cls(conn, keyring, lookup, store)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            self._cache.clear()
            self._secrets.clear()
            try:
                await self._recover()  # a unit cancelled mid-way: roll it back first
                await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass  # the checkpoint only tidies up; SQLite replays the WAL on next open
            finally:
                await self._conn.close()
                await self._keystore.close()

    def unit(self) -> AbstractAsyncContextManager[Unit]:
        """One write transaction: BEGIN IMMEDIATE, commit on normal exit, rollback on error."""
        return self._unit()

    @asynccontextmanager
    async def _unit(self) -> AsyncIterator[Unit]:
        if self._closed:
            raise StorageError("the store is closed")
        async with self._lock:
            await self._recover()
            # Cleared only when the transaction is known to be over, so that a unit cancelled
            # while BEGIN, COMMIT or ROLLBACK was still queued is cleaned up by the next one.
            self._unsettled = True
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                self._unsettled = False
                raise db.translate(e, "cannot start a transaction") from e
            fresh: dict[str, bytes] = {}
            erased: list[str] = []
            try:
                await self._follow_master_key()
                keys = DataKeys(self._conn, self._keyring, self._cache, self._keystore)
                fresh = keys.fresh
                vault = Vault(self._conn, self._keyring, self._secrets)
                unit = Unit(self._conn, keys, self._lookup, vault)
                erased = unit.erased
                yield unit
                # the erasure key store first (see storage/keystore.py for the order)
                erased = list(dict.fromkeys(unit.erased))
                fresh = {p: s for p, s in keys.fresh.items() if p not in erased}
                await self._keystore.add(fresh)
                await self._keystore.mark_erasing(erased)
            except BaseException as e:
                await self._rollback()
                self._unsettled = False
                await self._keystore_undo(fresh, erased)
                if isinstance(e, sqlite3.Error):
                    raise db.translate(e) from e
                raise
            try:
                await self._conn.commit()
            except sqlite3.Error as e:
                await self._rollback()
                self._unsettled = False
                await self._keystore_undo(fresh, erased)
                raise db.translate(e, "commit failed") from e
            self._unsettled = False
            keys.committed()
            vault.committed()
            if erased:
                crashpoints.reached("erasure.committed")
            with contextlib.suppress(StorageError):  # left 'new': the next open settles it
                await self._keystore.settle(fresh)
            try:
                await self._keystore.destroy(erased)  # left 'erasing': the next open deletes it
            finally:
                if unit.erased or unit.scrubbed:
                    await self._shred_wal()

    async def rotate(self) -> int:
        """Re-wrap every key not under the current master key; returns how many were re-wrapped.

        Open with ``KeyRing(new, retired=[old])``, call this, then the old master key can be
        destroyed, which also makes every backup taken before the rotation unreadable.
        """
        count = 0
        async with self._unit():
            rows = await self._conn.execute_fetchall(
                "SELECT person_id, version, key_id, wrapped FROM person_keys WHERE key_id != ?",
                (self._keyring.key_id,),
            )
            for person_id, version, key_id, wrapped in rows:
                context = wrap_context(person_id, version)
                raw = self._keyring.unwrap(key_id, wrapped, context)
                new_id, new_wrapped = self._keyring.wrap(raw, context)
                await self._conn.execute(
                    "UPDATE person_keys SET key_id = ?, wrapped = ? WHERE person_id = ?",
                    (new_id, new_wrapped, person_id),
                )
                count += 1
            rows = await self._conn.execute_fetchall(
                "SELECT name, key_id, wrapped FROM secrets WHERE key_id != ?",
                (self._keyring.key_id,),
            )
            for name, key_id, wrapped in rows:  # lookup, service, audit: all by name
                raw = self._keyring.unwrap(key_id, wrapped, secret_context(name))
                new_id, new_wrapped = self._keyring.wrap(raw, secret_context(name))
                await self._conn.execute(
                    "UPDATE secrets SET key_id = ?, wrapped = ? WHERE name = ?",
                    (new_id, new_wrapped, name),
                )
                count += 1
        await self._shred_wal()
        return count

    async def verify_audit(self) -> AuditReport:
        """Recompute the audit trail's hash chain; see storage.audit for what it can catch."""
        async with self._unit() as unit:
            return await unit.audit.verify()

    async def _follow_master_key(self) -> None:
        """Inside the write lock: make sure the key ring knows the database's master key."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT key_id, wrapped FROM secrets WHERE name = ?", (_LOOKUP_ROW,)
            )
        )
        if not rows or self._keyring.knows(rows[0][0]):
            return
        key_id, wrapped = rows[0]
        key = self._reload(key_id) if self._reload is not None else None
        if key is not None:
            ring = KeyRing(key)
            if ring.key_id == key_id:
                ring.unwrap(key_id, wrapped, _LOOKUP_CONTEXT)  # WrongMasterKey if not the one
                self._keyring = ring
                return
        raise MasterKeyChanged(
            f"the database is now under master key {key_id!r} (rotated by another process) and "
            f"this bot holds {self._keyring.key_id!r}: restart it with the new master key"
        )

    async def _keystore_undo(self, fresh: Iterable[str], erased: Iterable[str]) -> None:
        """The database commit did not happen: new secrets go, marked ones stay.

        If this fails too, the next ``Store.open`` settles them against the database.
        """
        with contextlib.suppress(StorageError):
            await self._keystore.discard(list(fresh))
            await self._keystore.unmark(list(erased))

    async def _recover(self) -> None:
        """Roll back a transaction left open by a unit that was cancelled mid-statement."""
        if not self._unsettled:
            return
        await self._conn.execute_fetchall("SELECT 1")  # wait for queued statements to finish
        await self._rollback()
        self._unsettled = False

    async def _rollback(self) -> None:
        if self._conn.in_transaction:
            await self._conn.rollback()

    async def _shred_wal(self) -> None:
        """Copy the WAL into the database and truncate it, so old page images do not linger."""
        try:
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as e:
            raise db.translate(e, "checkpoint after erasure failed") from e


async def _load_lookup_secret(conn: aiosqlite.Connection, keyring: KeyRing) -> bytes | None:
    rows = list(
        await conn.execute_fetchall(
            "SELECT key_id, wrapped FROM secrets WHERE name = ?", (_LOOKUP_ROW,)
        )
    )
    if not rows:
        return None
    key_id, wrapped = rows[0]
    return keyring.unwrap(key_id, wrapped, _LOOKUP_CONTEXT)


async def _lookup_keys(conn: aiosqlite.Connection, keyring: KeyRing) -> tuple[LookupKeys, bytes]:
    """Load the lookup secret (creating it on first open): the keys and the secret."""
    secret = await _load_lookup_secret(conn, keyring)
    if secret is not None:
        return LookupKeys(secret), secret
    people = list(await conn.execute_fetchall("SELECT 1 FROM people LIMIT 1"))
    if people:
        raise WrongMasterKey("the lookup secret is missing from a database that has people")
    secret = new_data_key()
    key_id, wrapped = keyring.wrap(secret, _LOOKUP_CONTEXT)
    try:
        await conn.execute("BEGIN IMMEDIATE")
        await conn.execute(
            "INSERT INTO secrets (name, key_id, wrapped) VALUES (?, ?, ?)",
            (_LOOKUP_ROW, key_id, wrapped),
        )
        await conn.commit()
    except sqlite3.Error as e:
        if conn.in_transaction:
            await conn.rollback()
        raise db.translate(e, "cannot create the lookup secret") from e
    return LookupKeys(secret), secret


async def _needs_keystore(conn: aiosqlite.Connection) -> bool:
    """Whether any person's data key needs a secret from the erasure key store."""
    rows = await conn.execute_fetchall(
        "SELECT EXISTS (SELECT 1 FROM person_keys WHERE version >= ?)", (KEY_VERSION,)
    )
    return bool(next(iter(rows))[0])


def database_tag(lookup_secret: bytes) -> str:
    """A public name for one database (and its backups): survives key rotation."""
    return derive_key(lookup_secret, b"erasure-key-store|database").hex()[:32]


async def _claim_keystore(store: KeyStore, lookup_secret: bytes, path: Path) -> None:
    """Check the key store belongs to this database; an unused or new one is claimed."""
    tag = database_tag(lookup_secret)
    found = await store.database_tag()
    if found == tag:
        return
    if found is not None and await store.count() > 0:
        raise WrongKeyStore(
            f"the erasure key store {store.path} belongs to another database than {path}: "
            "put this database's key store there (or move that one away if it is not needed)"
        )
    await store.set_database_tag(tag)


async def _settle_keystore(conn: aiosqlite.Connection, store: KeyStore) -> None:
    """Settle secrets a crash left 'new' or 'erasing', under the database's write lock."""
    if not await store.unsettled():
        return
    try:
        await conn.execute("BEGIN IMMEDIATE")  # no unit of work of another process in flight
        keep, drop = [], []
        for person_id, state in await store.unsettled():
            rows = await conn.execute_fetchall("SELECT 1 FROM people WHERE id = ?", (person_id,))
            if list(rows):
                keep.append(person_id)
            elif state == "erasing":
                drop.append(person_id)
            # a 'new' secret of nobody stays: it may be another process's person in the making
            # (this may be a backup opened with the live key store), and it unlocks nothing
        await store.keep(keep)
        await store.destroy(drop)
    except sqlite3.Error as e:
        raise db.translate(e, "cannot settle the erasure key store") from e
    finally:
        if conn.in_transaction:
            await conn.rollback()
