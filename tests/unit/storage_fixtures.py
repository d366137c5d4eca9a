"""Helpers shared by the storage coordination tests (not a test module)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from storage import KeyRing, Person, Store

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
OPEN = ("submitted", "claimed", "contacted", "assessing")


def files_of(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def raw_bytes(path: Path) -> bytes:
    """Everything SQLite keeps on disk for this database: main file, WAL, shared memory."""
    return b"".join(p.read_bytes() for p in files_of(path))


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection, as an attacker with the file would have."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


@asynccontextmanager
async def opened(
    path: Path, keyring: KeyRing, keystore: Path | None = None
) -> AsyncIterator[Store]:
    """The store at ``path``; a copy of a database is opened with the original's ``keystore``."""
    store = await Store.open(path, keyring, keystore=keystore)
    try:
        yield store
    finally:
        await store.close()


async def people(store: Store, *telegram_ids: int) -> list[Person]:
    async with store.unit() as u:
        return [await u.people.create(t, T0) for t in telegram_ids]
