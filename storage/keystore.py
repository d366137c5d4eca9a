"""The erasure key store: one random secret per person, and the Telegram-id index, in a small
SQLite file of its own.

A person's data key (key version 2) is derived from two halves: one wrapped under the master
key in the database (``person_keys``), one here. The keyed lookup tag of their Telegram id (the
only way from a Telegram id to a person) lives here too, not in the database (``lookups``).
Erasing the person deletes both from this file (``secure_delete``, WAL checkpointed and
truncated). Database backups do not carry this file, so a backup taken before an erasure, opened
with the key material that exists after it (the master key and this file as they are now),
neither rebuilds that person's data key nor finds them by Telegram id, while everyone else opens
as before. Back this file up on its own and keep only the latest copy.

The file sits beside the database (``peerdoor.db`` -> ``peerdoor.erasure-keys``) and names the
database it belongs to by a public tag derived from the database's lookup secret.

Writes here are separate transactions from the database's, ordered around its commit so that a
crash leaves nothing worse than a secret nobody uses, and never a person without their secret
or an erased person with theirs:

- a new person's secret and lookup tag are written (``state = 'new'``) BEFORE the database
  commit, and marked ``'live'`` after it;
- an erased person's secret is marked ``'erasing'`` BEFORE the database commit and deleted, with
  their lookup tag, after it.

``'erasing'`` only ever goes forward: whether or not the database commit happened (a crash in
between, or a commit that failed), the secret is destroyed, at once or at the next
``Store.open``. Turning it back to ``'live'`` because the person is still in some database would
let a backup taken before the erasure, opened with this file, read them again. A person whose
erasure did not commit is then a leftover (in the database, nothing here): the store removes
their rows (``Store.remove_leftovers``). A ``'new'`` secret whose person is in the database
becomes ``'live'``; one whose person is not stays (harmless: it unlocks nothing, and it may
belong to a unit of work of another process on the live database while a backup is opened with
this file). The store settles all this holding the database's write lock. One SQLite
transaction over both files (ATTACH) would not be atomic either: in WAL mode SQLite commits
attached files one after the other, the database first.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TypeVar

from storage.db import BUSY_TIMEOUT_MS, create_private, translate

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS erasure_secrets (
    person_id TEXT PRIMARY KEY,
    secret    BLOB NOT NULL,
    state     TEXT NOT NULL CHECK (state IN ('new', 'live', 'erasing'))
);
CREATE INDEX IF NOT EXISTS erasure_secrets_unsettled
    ON erasure_secrets(state) WHERE state != 'live';
-- Keyed HMAC of a Telegram user id (LookupKeys.telegram) -> the person it belongs to. Moved out
-- of the database (people.lookup, migration 0011) so that erasure removes it from every copy.
CREATE TABLE IF NOT EXISTS lookups (
    lookup    BLOB PRIMARY KEY,
    person_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lookups_person ON lookups(person_id);
"""
_DATABASE = "database"


def keystore_path(database: Path) -> Path:
    """Where the erasure key store of ``database`` lives by default: beside it."""
    return database.with_name(f"{database.stem}.erasure-keys")


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class KeyStore:
    """One sqlite3 connection, used from worker threads one call at a time.

    Every write is a whole transaction inside one worker-thread call, so a cancelled caller
    never leaves a transaction half done.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    async def open(cls, path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> KeyStore:
        """Open (creating it if missing) the key store at ``path``."""
        return await asyncio.to_thread(cls._open, path, busy_timeout_ms)

    @classmethod
    def _open(cls, path: Path, busy_timeout_ms: int) -> KeyStore:
        create_private(path)  # 0600 whatever the umask, and so its -wal and -shm files
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise translate(e, f"cannot open the erasure key store {path}") from e
        try:
            for pragma in (
                f"busy_timeout = {int(busy_timeout_ms)}",
                "secure_delete = ON",
                "synchronous = FULL",
                "journal_mode = WAL",
            ):
                conn.execute(f"PRAGMA {pragma}")
            conn.executescript(f"BEGIN IMMEDIATE;\n{_SCHEMA}\nCOMMIT;")
        except sqlite3.Error as e:
            conn.close()
            raise translate(e, f"cannot open the erasure key store {path}") from e
        except BaseException:
            conn.close()
            raise
        return cls(path, conn)

    async def _run(self, work: Callable[[sqlite3.Connection], T], doing: str) -> T:
        def call() -> T:
            with self._lock:
                return self._call(work, doing)

        return await asyncio.to_thread(call)

    async def _read(self, work: Callable[[sqlite3.Connection], T], doing: str) -> T:
        """A read: inline on the loop's thread when no write is under way (WAL readers do not
        wait; a thread hop per update's lookup held the store's write lock for nothing)."""
        if not self._lock.acquire(blocking=False):
            return await self._run(work, doing)
        try:
            return self._call(work, doing)
        finally:
            self._lock.release()

    def _call(self, work: Callable[[sqlite3.Connection], T], doing: str) -> T:
        try:
            return work(self._conn)
        except sqlite3.Error as e:
            if self._conn.in_transaction:
                self._conn.rollback()
            raise translate(e, f"erasure key store: {doing}") from e

    async def _write(self, sql: str, rows: list[tuple[object, ...]], doing: str) -> None:
        if not rows:
            return

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")

        await self._run(work, doing)

    # --- which database it belongs to ------------------------------------------------------

    async def database_tag(self) -> str | None:
        def work(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT value FROM meta WHERE name = ?", (_DATABASE,)).fetchone()
            return None if row is None else str(row[0])

        return await self._run(work, "read its database tag")

    async def set_database_tag(self, tag: str) -> None:
        await self._write(
            "INSERT INTO meta (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [(_DATABASE, tag)],
            "record its database",
        )

    async def count(self) -> int:
        def work(conn: sqlite3.Connection) -> int:
            return int(conn.execute("SELECT count(*) FROM erasure_secrets").fetchone()[0])

        return await self._run(work, "count secrets")

    # --- secrets ---------------------------------------------------------------------------

    async def get(self, person_id: str) -> bytes | None:
        """The person's secret, or None if they have none (erased, or never given one)."""

        def work(conn: sqlite3.Connection) -> bytes | None:
            row = conn.execute(
                "SELECT secret FROM erasure_secrets WHERE person_id = ?", (person_id,)
            ).fetchone()
            return None if row is None else bytes(row[0])

        return await self._read(work, "read a secret")

    async def add(self, secrets: Mapping[str, bytes], lookups: Mapping[str, bytes]) -> None:
        """Before the database commit that creates these people: their secrets, as 'new', and
        their lookup tags (person id -> tag). A tag already here belongs to a person the
        database does not have (the caller looked): it is taken over."""
        if not secrets and not lookups:
            return

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO erasure_secrets (person_id, secret, state) VALUES (?, ?, 'new')",
                list(secrets.items()),
            )
            conn.executemany(
                "INSERT INTO lookups (lookup, person_id) VALUES (?, ?)"
                " ON CONFLICT (lookup) DO UPDATE SET person_id = excluded.person_id",
                [(tag, person_id) for person_id, tag in lookups.items()],
            )
            conn.execute("COMMIT")

        await self._run(work, "store new secrets")

    async def adopt(self, lookups: Mapping[bytes, str]) -> None:
        """Lookup tags moved here from an older database (tag -> person id); known ones stay."""
        await self._write(
            "INSERT INTO lookups (lookup, person_id) VALUES (?, ?)"
            " ON CONFLICT (lookup) DO NOTHING",
            list(lookups.items()),
            "adopt lookup tags",
        )

    async def find(self, lookup: bytes) -> str | None:
        """The person id this lookup tag was given to, or None."""

        def work(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT person_id FROM lookups WHERE lookup = ?", (lookup,)
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._read(work, "find a person")

    async def indexed(self) -> set[str]:
        """Every person id that has a lookup tag here (the people this file knows of)."""

        def work(conn: sqlite3.Connection) -> set[str]:
            return {str(r[0]) for r in conn.execute("SELECT person_id FROM lookups")}

        return await self._run(work, "list the people it knows")

    async def with_secret(self, person_ids: Collection[str]) -> set[str]:
        """Which of these people have a secret here (in any state)."""
        ids = list(person_ids)

        def work(conn: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                found.update(
                    str(r[0])
                    for r in conn.execute(
                        "SELECT person_id FROM erasure_secrets"  # noqa: S608
                        f" WHERE person_id IN ({_marks(len(chunk))})",
                        chunk,
                    )
                )
            return found

        return await self._run(work, "look for secrets")

    async def settle(self, person_ids: Collection[str]) -> None:
        """After that commit: the new secrets are in use."""
        await self._write(
            "UPDATE erasure_secrets SET state = 'live' WHERE person_id = ? AND state = 'new'",
            [(p,) for p in person_ids],
            "settle new secrets",
        )

    async def discard(self, person_ids: Collection[str]) -> None:
        """That commit failed: the new secrets and lookup tags belong to nobody."""
        ids = [(p,) for p in person_ids]
        if not ids:
            return

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "DELETE FROM erasure_secrets WHERE person_id = ? AND state = 'new'", ids
            )
            conn.executemany(
                "DELETE FROM lookups WHERE person_id = ? AND NOT EXISTS"
                " (SELECT 1 FROM erasure_secrets s WHERE s.person_id = lookups.person_id)",
                ids,
            )
            conn.execute("COMMIT")

        await self._run(work, "discard new secrets")

    async def mark_erasing(self, person_ids: Collection[str]) -> None:
        """Before the database commit that erases these people."""
        await self._write(
            "UPDATE erasure_secrets SET state = 'erasing' WHERE person_id = ?",
            [(p,) for p in person_ids],
            "mark secrets for erasure",
        )

    async def destroy(self, person_ids: Collection[str]) -> None:
        """After the erasure commit (or instead of it: 'erasing' only goes forward): delete the
        secrets and lookup tags and leave no copy in the WAL."""
        ids = list(person_ids)
        if not ids:
            return

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for table in ("erasure_secrets", "lookups"):
                    conn.execute(
                        f"DELETE FROM {table} WHERE person_id IN ({_marks(len(chunk))})",  # noqa: S608
                        chunk,
                    )
            conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        await self._run(work, "destroy secrets")

    async def unsettled(self) -> list[tuple[str, str]]:
        """(person_id, state) of every secret left 'new' or 'erasing'."""

        def work(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            rows = conn.execute(
                "SELECT person_id, state FROM erasure_secrets WHERE state != 'live'"
            ).fetchall()
            return [(str(p), str(s)) for p, s in rows]

        return await self._run(work, "read unsettled secrets")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def work() -> None:
            with self._lock:
                try:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:
                    pass  # tidying only: SQLite replays the WAL on the next open
                finally:
                    self._conn.close()

        await asyncio.to_thread(work)
