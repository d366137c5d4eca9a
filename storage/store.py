"""The store: one connection, one writer at a time, one transaction per unit of work."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import aiosqlite

from storage import crashpoints, db
from storage.agreements import AgreementRepo
from storage.applicants import ApplicantRepo
from storage.assessment_meetings import AssessmentMeetingRepo
from storage.assessments import AssessmentRepo
from storage.audit import AuditLog
from storage.crypto import KeyRing, LookupKeys, derive_key, new_data_key
from storage.dialogs import DialogRepo, move_legacy_states
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
from storage.groups import GroupRepo
from storage.invites import InviteRepo
from storage.keys import KEY_VERSION, DataKeys, KeyCache, wrap_context
from storage.keystore import KeyStore, keystore_path
from storage.models import AuditReport
from storage.outbox import Outbox
from storage.people import PeopleRepo
from storage.referrals import ReferralRepo
from storage.relationship_checks import RelationshipCheckRepo
from storage.relationship_stats import RelationshipStats
from storage.retention import RetentionRepo
from storage.roles import RolesRepo
from storage.sessions import SessionRepo
from storage.staff import StaffStateRepo
from storage.stats import StatsRepo
from storage.supporters import SupporterRepo
from storage.surveys import SurveyRepo
from storage.talk import TalkRepo
from storage.thread import ThreadRepo
from storage.updates import UpdateLog
from storage.vault import Vault
from storage.vault import context as secret_context

_LOOKUP_ROW = "lookup"
_LOOKUP_CONTEXT = secret_context(_LOOKUP_ROW)
_INDEX_MOVED = db.INDEX_MOVED  # the migration that moves people.lookup to the key store

#: Given the key id the database is now wrapped under, return that master key (or None).
KeyReloader = Callable[[str], bytes | None]

#: The unit of work open in this task, if any: a `store.unit()` inside it joins it (see
#: Store.unit). Context variables are per task, so other tasks (the delivery worker, other
#: people's updates) never see it.
_ACTIVE: ContextVar[tuple[Store, Unit] | None] = ContextVar("peerdoor_unit", default=None)
#: While `Store.counting()` is on in this task: how many units of work it began.
_BEGUN: ContextVar[list[int] | None] = ContextVar("peerdoor_begun", default=None)


class Unit:
    """The repositories of one write transaction."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        keys: DataKeys,
        lookup: LookupKeys,
        vault: Vault,
    ) -> None:
        self.open = True  # until the transaction is over (committed or rolled back)
        #: Run once the transaction is committed and durable (not if it rolls back).
        self.after_commit: list[Callable[[], None]] = []
        self.erased: list[str] = []
        # rows whose old ciphertext must not outlive the commit (WAL checkpointed, truncated)
        self.scrubbed: list[str] = []
        self.vault = vault
        self.keys = keys
        self.people = PeopleRepo(conn, keys, lookup, self.erased)
        self.dialogs = DialogRepo(conn, keys, lookup)  # every conversation in progress
        self.drafts = DraftRepo(self.dialogs)
        self.referrals = ReferralRepo(conn, keys, lookup, self.scrubbed)
        self.updates = UpdateLog(conn)
        self.roles = RolesRepo(conn, lookup)
        self.invites = InviteRepo(conn, lookup)
        self.thread = ThreadRepo(conn, keys)
        self.outbox = Outbox(conn, keys, self.vault)
        self.audit = AuditLog(conn, self.vault)
        self.staff = StaffStateRepo(self.dialogs)
        self.retention = RetentionRepo(conn, keys, lookup, self.people, self.scrubbed)
        self.funnel = FunnelRepo(conn, lookup)  # counts only, for reports
        self.stats = StatsRepo(conn)
        self.supporters = SupporterRepo(conn, keys)
        self.engagements = EngagementRepo(conn, keys)
        self.sessions = SessionRepo(conn, keys)
        self.surveys = SurveyRepo(conn, keys, lookup, self.dialogs)
        self.applicants = ApplicantRepo(conn, keys, lookup)  # volunteers (issue 15)
        self.talk = TalkRepo(conn, keys)  # supporter and person, through the bot
        self.agreements = AgreementRepo(conn)  # the confidentiality agreement's answers
        self.checks = RelationshipCheckRepo(conn)  # "how is it going?" after two meetings
        self.assessments = AssessmentRepo(conn, keys)  # the initial assessment, sealed
        self.assessment_meetings = AssessmentMeetingRepo(conn, keys)  # its meeting, if planned
        self.relationship_stats = RelationshipStats(conn)  # counts for the report
        self.groups = GroupRepo(conn, keys, lookup, self.vault)


class _Batch:
    """Units of work released into one open write transaction, waiting for its COMMIT."""

    def __init__(self) -> None:
        self.durable: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # a unit cancelled while waiting leaves nobody to read an error: mark it read
        self.durable.add_done_callback(_read_error)

    def end(self, error: BaseException | None) -> None:
        if self.durable.done():
            return
        if error is None:
            self.durable.set_result(None)
        else:
            self.durable.set_exception(error)


def _read_error(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _not_committed(error: BaseException) -> StorageError:
    """What a unit released into a transaction that did not commit is told."""
    if isinstance(error, StorageError):
        return error
    return StorageError(f"the transaction was not committed ({type(error).__name__})")


def _committed(keys: DataKeys, vault: Vault, unit: Unit) -> None:
    """The unit's transaction is committed and durable: its new keys and secrets may be cached,
    and its after-commit hooks run."""
    keys.committed()
    vault.committed()
    for hook in unit.after_commit:
        hook()


@asynccontextmanager
async def _joined(unit: Unit) -> AsyncIterator[Unit]:
    """A unit inside an open one: the same transaction; the outer unit commits."""
    yield unit


class Store:
    """Open with ``await Store.open(path, keyring)``; work in ``async with store.unit()``."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        keyring: KeyRing,
        lookup: LookupKeys,
        keystore: KeyStore,
        path: Path | None = None,
    ) -> None:
        self._conn = conn
        self._path = path  # the database file (absolute), for reads on a connection of their own
        self._keystore = keystore
        self._keyring = keyring
        self._lookup = lookup
        self._cache = KeyCache()
        self._secrets: dict[str, bytes] = {}
        self._lock = asyncio.Lock()
        self._closed = False
        self._unsettled = False
        #: The open write transaction that released units wait on (group commit), if any.
        self._batch: _Batch | None = None
        self._committers: set[asyncio.Task[None]] = set()  # held, so none is collected early
        self._reload: KeyReloader | None = None
        #: Units of work begun since opening (each all or nothing; units ready together share
        #: one SQLite transaction and its COMMIT), for tests and benchmarks.
        self.write_transactions = 0

    @property
    def key_id(self) -> str:
        """The (public) id of the master key new keys are wrapped under."""
        return self._keyring.key_id

    def reload_keys_with(self, reload: KeyReloader | None) -> None:
        """What to do when another process rotated the master key under this open store.

        Every write transaction first checks, just after BEGIN (no other process can rotate
        while it is open), which master key the database is wrapped under. If this store's key
        ring does not know it, ``reload(key_id)`` is asked for that key once; a key that matches
        (and unwraps the lookup secret) replaces the ring. Without one the unit raises
        MasterKeyChanged and writes nothing, so nothing is
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
            existing: bytes | None = None
            if await db.user_version(conn) > 0:
                existing = await _load_lookup_secret(conn, keyring)  # raises WrongMasterKey
                if not keystore.exists() and await _needs_keystore(conn):
                    raise KeyStoreMissing(
                        f"the erasure key store {keystore} is missing, but the database {path} "
                        "has people whose keys need it: put the latest backup of that file back "
                        "beside the database (a new one would leave them unreadable)"
                    )
            await db.enable_wal(conn)
            store = await KeyStore.open(keystore, busy_timeout_ms)
            if existing is not None:
                await _claim_keystore(store, existing, path)
            keys = store
            await db.migrate(conn, before={_INDEX_MOVED: lambda: _move_lookups(conn, keys)})
            lookup, secret = await _lookup_keys(conn, keyring)
            await _claim_keystore(store, secret, path)
            await _settle_keystore(conn, store)
            listed = await conn.execute_fetchall("PRAGMA database_list")  # its absolute path
            file = next((str(row[2]) for row in listed if row[1] == "main" and row[2]), None)
        except BaseException:
            if store is not None:
                await store.close()
            await conn.close()
            raise
        opened = cls(conn, keyring, lookup, store, Path(file) if file else None)
        try:
            async with opened.unit() as uow:  # states kept by older releases: one table now
                if await move_legacy_states(conn, uow.keys):
                    uow.scrubbed.append("legacy dialog tables")
        except BaseException:
            await opened.close()
            raise
        return opened

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            if self._batch is not None:  # released units whose committer has not run yet
                await self._commit_batch(self._batch)
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
        """One write transaction: BEGIN IMMEDIATE, commit on normal exit, rollback on error.

        Inside a unit that is already open in the same task, this joins it: the inner block
        works in the outer transaction, and the outer one commits (or rolls back) all of it.
        That is how one Telegram update makes one write transaction however many use cases it
        passes through (bot/telegram/router.py opens the outer one).
        """
        active = _ACTIVE.get()
        if active is not None and active[0] is self and active[1].open:
            return _joined(active[1])
        return self._unit()

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[int]]:
        """Count the units of work this task begins inside the block (in ``[0]``).

        The router logs the count for each update; other tasks' units (the delivery
        worker's) are not counted."""
        begun = [0]
        token = _BEGUN.set(begun)
        try:
            yield begun
        finally:
            _BEGUN.reset(token)

    @asynccontextmanager
    async def _unit(self) -> AsyncIterator[Unit]:
        """One unit of work: a savepoint in the open write transaction, which it may share.

        Group commit: a unit that touches no erasure key store (no new person, no erasure, no
        scrubbing) is released into the open transaction and waits, outside the write lock,
        for the COMMIT that a committer task makes once the units ready in this turn of the
        event loop have joined; only then does it return, so nobody is answered before their
        data is durable. Each unit is its own savepoint: an error rolls back that unit alone.
        A unit that does touch the key store commits the open transaction itself, in the order
        the key store needs (storage/keystore.py), as every unit did before.
        """
        if self._closed:
            raise StorageError("the store is closed")
        async with self._lock:
            await self._recover()
            batch = self._batch
            if batch is None:
                # Cleared only when the transaction is known to be over, so that a unit cancelled
                # while BEGIN, COMMIT or ROLLBACK was still queued is cleaned up by the next one.
                self._unsettled = True
                try:
                    await self._conn.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as e:
                    self._unsettled = False
                    raise db.translate(e, "cannot start a transaction") from e
                try:  # another process can rotate the master key only between transactions
                    await self._follow_master_key()
                except BaseException:
                    await self._rollback()
                    self._unsettled = False
                    raise
                batch = self._batch = _Batch()
                self._committers.add(task := asyncio.create_task(self._commit_when_ready(batch)))
                task.add_done_callback(self._committers.discard)
            self.write_transactions += 1
            begun = _BEGUN.get()
            if begun is not None:
                begun[0] += 1
            fresh: dict[str, bytes] = {}
            lookups: dict[str, bytes] = {}
            erased: list[str] = []
            marked: list[str] = []  # secrets marked 'erasing': from here only forward
            await self._savepoint("SAVEPOINT unit", batch)
            try:
                keys = DataKeys(self._conn, self._keyring, self._cache, self._keystore)
                fresh = keys.fresh
                vault = Vault(self._conn, self._keyring, self._secrets)
                unit = Unit(self._conn, keys, self._lookup, vault)
                erased = unit.erased
                token = _ACTIVE.set((self, unit))
                try:
                    yield unit
                finally:
                    unit.open = False
                    _ACTIVE.reset(token)
            except BaseException as e:
                await self._savepoint("ROLLBACK TO unit", batch)
                await self._savepoint("RELEASE unit", batch)
                if isinstance(e, sqlite3.Error):
                    raise db.translate(e) from e
                raise
            await self._savepoint("RELEASE unit", batch)
            if unit.erased or unit.scrubbed or keys.fresh or keys.lookups:
                self._batch = None  # this unit commits the open transaction, its own order
                try:
                    # the erasure key store first (see storage/keystore.py for the order)
                    erased = list(dict.fromkeys(unit.erased))
                    fresh = {p: s for p, s in keys.fresh.items() if p not in erased}
                    lookups = {p: t for p, t in keys.lookups.items() if p not in erased}
                    await self._keystore.add(fresh, lookups)
                    await self._keystore.mark_erasing(erased)
                    marked = erased
                    await self._conn.commit()
                except BaseException as e:
                    error = db.translate(e, "commit failed") if isinstance(e, sqlite3.Error) else e
                    await self._abandon(batch, error)
                    await self._keystore_undo(list(fresh) + list(lookups), marked)
                    if error is e:
                        raise
                    raise error from e
                self._unsettled = False
                batch.end(None)
                _committed(keys, vault, unit)
                if erased:
                    crashpoints.reached("erasure.committed")
                with contextlib.suppress(StorageError):  # left 'new': the next open settles it
                    await self._keystore.settle(fresh)
                try:
                    await self._keystore.destroy(erased)  # left 'erasing': next open deletes it
                finally:
                    if unit.erased or unit.scrubbed:
                        await self._shred_wal()
                return
        await asyncio.shield(batch.durable)  # cancelled here, the unit still commits
        _committed(keys, vault, unit)

    async def _savepoint(self, sql: str, batch: _Batch) -> None:
        """A unit's savepoint statement. If it fails, the shared transaction is not sound (SQLite
        may have rolled all of it back, e.g. on a full disk): roll back, fail the batch."""
        try:
            await self._conn.execute(sql)
        except sqlite3.Error as e:
            error = db.translate(e, "the transaction failed")
            await self._abandon(batch, error)
            raise error from e

    async def _abandon(self, batch: _Batch, error: BaseException) -> None:
        """Inside the write lock: roll the open transaction back; its units are not committed."""
        if self._batch is batch:
            self._batch = None
        await self._rollback()
        self._unsettled = False
        batch.end(_not_committed(error))

    async def _commit_when_ready(self, batch: _Batch) -> None:
        """The committer: once the units ready now have joined (it queues for the lock behind
        them), one COMMIT, one fsync, for all of them; then they go on to answer."""
        async with self._lock:
            if self._batch is batch:  # else committed (or abandoned) by a unit, or by close()
                await self._commit_batch(batch)

    async def _commit_batch(self, batch: _Batch) -> None:
        """Inside the write lock: COMMIT the open transaction and tell its units how it went."""
        self._batch = None
        try:
            await self._conn.commit()
        except sqlite3.Error as e:
            await self._abandon(batch, db.translate(e, "commit failed"))
            return
        except BaseException:  # cancelled: COMMIT may still run; the next unit recovers
            batch.end(StorageError("the store stopped before this change was committed"))
            raise
        self._unsettled = False
        batch.end(None)

    async def leftovers(self) -> list[str]:
        """People in this database the erasure key store no longer knows: erased (their rows
        came back with a restored backup, or their erasure did not commit). Nothing opens them
        and nothing finds them by Telegram id any more."""
        async with self._lock:
            return await _leftovers(self._conn, self._keystore)

    async def remove_leftovers(self, limit: int = 500) -> int:
        """Delete the rows of people the key store no longer knows (see ``leftovers``), at most
        ``limit`` people per transaction; returns how many people were removed.

        Most days there are none, and that is found without the write lock (``_any_leftover``):
        looking under it read every person's id on the loop's thread and held every update back
        for it (141 ms with 100,000 referrals; benchmarks/README.md, "purge")."""
        if not await self._any_leftover():
            return 0
        removed, more = 0, True
        while more:
            async with self._unit() as unit:
                found = await _leftovers(self._conn, self._keystore)
                batch = found[:limit]
                for person_id in batch:
                    person = await unit.people.get(person_id)
                    if person is not None:
                        await unit.people.erase(person)
            removed += len(batch)
            more = len(found) > len(batch) > 0
        return removed

    async def _any_leftover(self) -> bool:
        """Whether the database may hold someone the key store does not know: the committed
        people, read in a thread on a read-only connection of their own, against the key
        store's list read just before. A leftover committed before that list is always seen;
        one made meanwhile is seen next time; a false alarm only costs the exact look (under
        the lock) that every call made before. Without the file's path: always True."""
        if self._path is None:
            return True
        known = await self._keystore.indexed()
        uri = f"{self._path.as_uri()}?mode=ro"

        def unknown_person() -> bool:
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
                return bool(_unknown(conn.execute(_PEOPLE), known))

        try:
            return await asyncio.to_thread(unknown_person)
        except sqlite3.Error:
            return True  # cannot tell from outside: look under the lock, as before

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
        """The database commit did not happen: new secrets go, and so do marked ones.

        An erasure, once its secret is marked, only goes forward (see storage/keystore.py): the
        person left in the database is a leftover, removed by ``remove_leftovers``. If this
        fails too, the next ``Store.open`` settles them.
        """
        with contextlib.suppress(StorageError):
            await self._keystore.discard(list(fresh))
        with contextlib.suppress(StorageError):
            await self._keystore.destroy(list(erased))

    async def _recover(self) -> None:
        """Roll back a transaction left open by a unit that was cancelled mid-statement."""
        if not self._unsettled or self._batch is not None:
            return  # nothing left over, or the open transaction is a batch's, sound
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
    """Whether anyone in the database needs the erasure key store: to be found by Telegram id
    (everyone, once the lookup tags live there: migration 0011), or for their data key."""
    if await db.user_version(conn) >= _INDEX_MOVED:
        rows = await conn.execute_fetchall("SELECT EXISTS (SELECT 1 FROM people)")
    else:
        rows = await conn.execute_fetchall(
            "SELECT EXISTS (SELECT 1 FROM person_keys WHERE version >= ?)", (KEY_VERSION,)
        )
    return bool(next(iter(rows))[0])


async def _move_lookups(conn: aiosqlite.Connection, store: KeyStore) -> None:
    """Before migration 0011: copy people.lookup into the key store (idempotent).

    Only for people the key store still vouches for: a key-version-2 person whose secret is
    gone was erased (this is a backup from before, or a crash left them), so their tag is not
    carried over and they become a leftover. Key-version-1 people never had a secret: theirs is.
    """
    rows = list(
        await conn.execute_fetchall(
            "SELECT p.id, p.lookup, k.version FROM people p"
            " JOIN person_keys k ON k.person_id = p.id"
        )
    )
    holding = await store.with_secret([r[0] for r in rows if r[2] >= KEY_VERSION])
    await store.adopt(
        {
            bytes(tag): person_id
            for person_id, tag, version in rows
            if version < KEY_VERSION or person_id in holding
        }
    )


_PEOPLE = "SELECT id FROM people"


async def _leftovers(conn: aiosqlite.Connection, store: KeyStore) -> list[str]:
    """Ids of people in the database that the key store does not index (see Store.leftovers)."""
    known = await store.indexed()
    return _unknown(await conn.execute_fetchall(_PEOPLE), known)


def _unknown(rows: Iterable[Any], known: set[str]) -> list[str]:
    """The person ids of `rows` (from _PEOPLE) that are not in `known`, sorted."""
    return sorted(str(r[0]) for r in rows if r[0] not in known)


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
    """Settle secrets a crash left 'new' or 'erasing', under the database's write lock.

    'erasing' only goes forward: destroyed, whether or not the person is in this database (it
    may be a backup from before the erasure). A 'new' one whose person is here becomes 'live'.
    """
    if not await store.unsettled():
        return
    try:
        await conn.execute("BEGIN IMMEDIATE")  # no unit of work of another process in flight
        keep, drop = [], []
        for person_id, state in await store.unsettled():
            if state == "erasing":
                drop.append(person_id)
                continue
            rows = await conn.execute_fetchall("SELECT 1 FROM people WHERE id = ?", (person_id,))
            if list(rows):
                keep.append(person_id)
            # a 'new' secret of nobody stays: it may be another process's person in the making
            # (this may be a backup opened with the live key store), and it unlocks nothing
        await store.settle(keep)
        await store.destroy(drop)
    except sqlite3.Error as e:
        raise db.translate(e, "cannot settle the erasure key store") from e
    finally:
        if conn.in_transaction:
            await conn.rollback()
