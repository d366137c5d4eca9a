"""Connection set-up, migrations, timestamps and sqlite error translation."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from storage.errors import StorageError

BUSY_TIMEOUT_MS = 5000
#: The migration that moved people.lookup (the keyed tag of the Telegram id) into the erasure
#: key store: from it on, everyone in the database needs the key store.
INDEX_MOVED = 11
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The numbered .sql files in storage/migrations, in order; versions must be 1..n."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StorageError(f"migration files are not numbered 1..n: {[m.name for m in found]}")
    return found


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600, whatever the umask, unless it is already there.

    SQLite would create a new database file 0644 under the usual umask 022, readable by every
    user of the machine. An empty file is a valid empty database, and SQLite gives the ``-wal``
    and ``-shm`` files it creates beside it the database file's own mode, so they are 0600 too.
    A file that exists is left as it is (the operator may have chosen its mode).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return  # there already, or the folder is missing: opening it says what is wrong
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


#: Statements that may wait: on the disk (COMMIT's fsync, a checkpoint, VACUUM) or on another
#: process's write lock (BEGIN, for up to busy_timeout). They go to the worker thread.
_WAITS = re.compile(r"\s*(BEGIN|COMMIT|END|VACUUM|PRAGMA\s+wal_checkpoint)\b", re.IGNORECASE)
#: sqlite3.Connection methods that wait likewise (executescript: only migrations use it).
_WAITING_CALLS = frozenset({"commit", "close", "backup", "executescript"})


class Connection(aiosqlite.Connection):
    """aiosqlite's connection, except that a statement that cannot wait runs on the loop's thread.

    aiosqlite sends every call to its worker thread and wakes the event loop with the result:
    two thread switches and a place at the back of the loop's queue, per statement. A unit of
    work holds the store's write lock across all of them, so under load the lock was held
    mostly for those trips (benchmarks/README.md: 4.5 of a unit's 5.9 ms with 50 people), and
    every other person's update waited behind it. The statements themselves take microseconds:
    pages are in memory and a write only appends to the WAL. So a statement runs inline, on
    the loop's thread, when the worker has nothing queued; what can wait (see ``_WAITS``: COMMIT
    and its fsync, a checkpoint, BEGIN on another process's lock) still goes to the worker, and
    so does everything behind it, so statements keep their order.
    """

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        # Each counter has one writer (the loop's thread, the worker), so neither loses a count.
        self._sent = 0  # calls handed to the worker
        self._ran = 0  # calls the worker has finished

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._connection is None or self._sent != self._ran or _waits(fn, args):
            self._sent += 1
            return await super()._execute(self._counted, fn, *args, **kwargs)
        return fn(*args, **kwargs)

    def _counted(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            self._ran += 1


def _waits(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    if getattr(fn, "__name__", "") in _WAITING_CALLS:
        return True
    return bool(args) and isinstance(args[0], str) and _WAITS.match(args[0]) is not None


async def connect(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> aiosqlite.Connection:
    """Open with per-connection pragmas that write nothing (WAL is switched on later)."""
    create_private(path)
    try:
        # any thread: statements run inline on the loop's thread or in the worker (Connection)
        conn = await Connection(
            partial(sqlite3.connect, str(path), isolation_level=None, check_same_thread=False)
        )
    except sqlite3.Error as e:
        raise translate(e, f"cannot open database {path}") from e
    try:
        for pragma in (
            f"busy_timeout = {int(busy_timeout_ms)}",
            "foreign_keys = ON",
            "secure_delete = ON",
            "synchronous = FULL",
        ):
            await conn.execute(f"PRAGMA {pragma}")
    except BaseException:
        await conn.close()
        raise
    return conn


async def enable_wal(conn: aiosqlite.Connection) -> None:
    rows = await conn.execute_fetchall("PRAGMA journal_mode = WAL")
    mode = next(iter(rows))[0]
    if mode != "wal":
        raise StorageError(f"could not switch the database to WAL mode (got {mode!r})")


async def user_version(conn: aiosqlite.Connection) -> int:
    rows = await conn.execute_fetchall("PRAGMA user_version")
    return int(next(iter(rows))[0])


#: Work to do (outside any transaction, idempotent) before the migration of that version runs.
Hooks = Mapping[int, Callable[[], Awaitable[None]]]


async def migrate(conn: aiosqlite.Connection, before: Hooks | None = None) -> int:
    """Apply pending migrations, each in its own IMMEDIATE transaction; returns the version.

    Foreign keys are off while a migration runs (so a table can be rebuilt, as SQLite's
    ALTER TABLE documentation prescribes, without its DROP cascading to every child row) and
    checked before its commit: a migration that leaves a dangling reference is rolled back.
    """
    current = await user_version(conn)
    known = migrations()
    if current > len(known):
        raise StorageError(
            f"database schema version {current} is newer than this code ({len(known)})"
        )
    hooks = before or {}
    for m in known[current:]:
        if current > 0 and m.version in hooks:
            await hooks[m.version]()
        # executescript commits any open transaction first, so BEGIN goes inside the script.
        script = f"BEGIN IMMEDIATE;\n{m.sql}\n;PRAGMA user_version = {m.version};"
        try:
            await conn.execute("PRAGMA foreign_keys = OFF")
            await conn.executescript(script)
            dangling = list(await conn.execute_fetchall("PRAGMA foreign_key_check"))
            if dangling:
                raise StorageError(
                    f"migration {m.name} failed: it left {len(dangling)} dangling references"
                )
            await conn.commit()
        except sqlite3.Error as e:
            if conn.in_transaction:
                await conn.rollback()
            raise translate(e, f"migration {m.name} failed") from e
        except BaseException:
            if conn.in_transaction:
                await conn.rollback()
            raise
        finally:
            await conn.execute("PRAGMA foreign_keys = ON")
    return len(known)


def to_text(moment: datetime) -> str:
    """Fixed-width ISO-8601 UTC, so text order is time order."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def maybe_time(text: str | None) -> datetime | None:
    """A nullable time column."""
    return None if text is None else from_text(text)


def translate(error: sqlite3.Error, doing: str = "database error") -> StorageError:
    """A StorageError with a message that says what went wrong in plain words."""
    message = str(error)
    code = getattr(error, "sqlite_errorcode", None)
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in message:
        hint = (
            "the database is locked by another connection or process "
            "(busy timeout exceeded); is a second copy of the bot running?"
        )
    elif code == sqlite3.SQLITE_FULL or "full" in message:
        hint = "the disk is full; free space and retry (committed data is intact)"
    elif code in (sqlite3.SQLITE_READONLY,) or "readonly" in message:
        hint = "the database file or its directory is read-only"
    else:
        hint = message
    return StorageError(f"{doing}: {hint}")
