"""A consistent copy of a live database, taken with SQLite's online backup API.

The copy is one self-contained file (rollback-journal mode, no -wal beside it), created with mode
0600 and never over an existing file. It is a page-for-page snapshot of one read transaction, so
it is consistent even while the bot writes (WAL readers do not block the writer). It holds what
the database holds: sealed rows and keys wrapped under the master key, never the master key, and
not the erasure key store (storage/keystore.py), which is backed up apart: a person erased after
the copy was taken cannot be read from it with the key store as it is after the erasure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from pathlib import Path

from storage import db
from storage.db import BUSY_TIMEOUT_MS
from storage.errors import StorageError


def backup_database(source: Path, target: Path) -> int:
    """Copy ``source`` to the new file ``target`` (0600); returns its size in bytes.

    FileExistsError if ``target`` exists; StorageError if ``source`` is missing or the copy
    fails its integrity check. A failed copy is removed.
    """
    if not source.is_file():
        raise StorageError(f"there is no database at {source}")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # empty = valid database
    os.close(fd)
    try:
        _copy(source, target)
        _fsync(target)
        _fsync(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            target.unlink()
        raise
    return target.stat().st_size


def backup_keystore(source: Path, target: Path) -> int:
    """Copy the erasure key store to ``target``, replacing the copy there; returns its size.

    Unlike database backups this one overwrites: only the latest copy of the key store may be
    kept (an older one would still hold the secrets of people erased since). The copy is made in
    a temporary file (0600) beside ``target``, checked, fsynced and renamed over it, so
    ``target`` is always a whole copy, the previous or the new one.
    """
    if not source.is_file():
        raise StorageError(f"there is no erasure key store at {source}")
    temp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        _copy(source, temp)
        _fsync(temp)
        os.replace(temp, target)
        _fsync(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return target.stat().st_size


async def backup_database_async(source: Path, target: Path) -> int:
    """``backup_database`` in a worker thread, for use inside the running bot."""
    return await asyncio.to_thread(backup_database, source, target)


def _copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one snapshot, never restarted
            dst.execute("PRAGMA journal_mode = DELETE")
            ok = dst.execute("PRAGMA integrity_check").fetchall()
            if ok != [("ok",)]:
                raise StorageError(f"the copy failed its integrity check: {ok[:3]}")
        finally:
            dst.close()
    except sqlite3.Error as e:
        raise StorageError(f"backup failed: {e}") from e
    finally:
        src.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def master_key_id(path: Path) -> str | None:
    """The public id of the master key a database file (or backup) is wrapped under."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT key_id FROM secrets WHERE name = 'lookup'").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return None if row is None else str(row[0])


def needs_keystore(path: Path) -> bool:
    """Whether a database has people who need the erasure key store (read-only): since
    migration 0011 everyone (their Telegram-id lookup tag is there), before it those whose data
    keys need a secret from it. As ``Store.open`` decides."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] >= db.INDEX_MOVED:
            row = conn.execute("SELECT EXISTS (SELECT 1 FROM people)").fetchone()
        else:
            row = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM person_keys WHERE version >= 2)"
            ).fetchone()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return bool(row[0])
