"""The erasure key store: one random secret per person, in a small SQLite file of its own.

A person's data key (key version 2) is derived from two halves: one wrapped under the master
key in the database (``person_keys``), one here. Erasing the person deletes their half from this
file (``secure_delete``, WAL checkpointed and truncated). Database backups do not carry this
file, so a backup taken before an erasure, opened with the key material that exists after it
(the master key and this file as they are now), cannot rebuild that person's data key, while
everyone else's opens as before. Back this file up on its own and keep only the latest copy.

The file sits beside the database (``peerdoor.db`` -> ``peerdoor.erasure-keys``) and names the
database it belongs to by a public tag derived from the database's lookup secret.

Writes here are separate transactions from the database's, ordered around its commit so that a
crash leaves nothing worse than a secret nobody uses, and never a person without their secret
or an erased person with theirs:

- a new person's secret is written (``state = 'new'``) BEFORE the database commit, and marked
  ``'live'`` after it;
- an erased person's secret is marked ``'erasing'`` BEFORE the database commit and deleted after
  it.

If the database commit fails, both are undone at once; if the process dies in between, the next
``Store.open`` settles the leftovers against the database, holding the database's write lock so
that it never races a unit of work of another process: a ``'new'`` or ``'erasing'`` secret whose
person is in the database becomes ``'live'``, an ``'erasing'`` one whose person is not is
deleted, and a ``'new'`` one whose person is not stays (harmless: it unlocks nothing, and it may
belong to a unit of work of another process on the live database while a backup is opened with
this file). One SQLite transaction over both files (ATTACH) would not be atomic either: in WAL
mode SQLite commits attached files one after the other, the database first.
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
                try:
                    return work(self._conn)
                except sqlite3.Error as e:
                    if self._conn.in_transaction:
                        self._conn.rollback()
                    raise translate(e, f"erasure key store: {doing}") from e

        return await asyncio.to_thread(call)

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

        return await self._run(work, "read a secret")

    async def add(self, secrets: Mapping[str, bytes]) -> None:
        """Before the database commit that creates these people: their secrets, as 'new'."""
        await self._write(
            "INSERT INTO erasure_secrets (person_id, secret, state) VALUES (?, ?, 'new')",
            list(secrets.items()),
            "store new secrets",
        )

    async def settle(self, person_ids: Collection[str]) -> None:
        """After that commit: the new secrets are in use."""
        await self._write(
            "UPDATE erasure_secrets SET state = 'live' WHERE person_id = ? AND state = 'new'",
            [(p,) for p in person_ids],
            "settle new secrets",
        )

    async def keep(self, person_ids: Collection[str]) -> None:
        """Whatever their state: these people are in the database, their secrets in use."""
        await self._write(
            "UPDATE erasure_secrets SET state = 'live' WHERE person_id = ? AND state != 'live'",
            [(p,) for p in person_ids],
            "keep secrets",
        )

    async def discard(self, person_ids: Collection[str]) -> None:
        """That commit failed: the new secrets belong to nobody."""
        await self._write(
            "DELETE FROM erasure_secrets WHERE person_id = ? AND state = 'new'",
            [(p,) for p in person_ids],
            "discard new secrets",
        )

    async def mark_erasing(self, person_ids: Collection[str]) -> None:
        """Before the database commit that erases these people."""
        await self._write(
            "UPDATE erasure_secrets SET state = 'erasing' WHERE person_id = ?",
            [(p,) for p in person_ids],
            "mark secrets for erasure",
        )

    async def unmark(self, person_ids: Collection[str]) -> None:
        """That commit failed: the people are still there."""
        await self._write(
            "UPDATE erasure_secrets SET state = 'live' WHERE person_id = ? AND state = 'erasing'",
            [(p,) for p in person_ids],
            "keep secrets after a failed erasure",
        )

    async def destroy(self, person_ids: Collection[str]) -> None:
        """After the erasure commit: delete the secrets and leave no copy in the WAL."""
        ids = list(person_ids)
        if not ids:
            return

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                f"DELETE FROM erasure_secrets WHERE person_id IN ({_marks(len(ids))})",  # noqa: S608
                ids,
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
