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


def before_index_move(path: Path, keystore: Path) -> None:
    """Turn a closed database and its key store back into what they held just before migration
    0011 (db.INDEX_MOVED): the Telegram-id lookup tags in people.lookup, none in the key store,
    and the outbox without the 'parked' state. Nothing else changed in 0011; the tables of the
    later migrations are dropped (they are made again)."""
    with raw(keystore) as conn:
        tags = dict(conn.execute("SELECT person_id, lookup FROM lookups").fetchall())
        conn.execute("DROP TABLE lookups")
    with raw(path) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.executescript(
            """
            CREATE TABLE people_7 (
                id          TEXT PRIMARY KEY,
                lookup      BLOB NOT NULL UNIQUE,
                telegram_id BLOB NOT NULL,
                settings    BLOB,
                created_at  TEXT NOT NULL,
                updated_at  TEXT NOT NULL
            );
            CREATE TEMP TABLE tags (person_id TEXT PRIMARY KEY, lookup BLOB NOT NULL);
            """
        )
        conn.executemany("INSERT INTO tags VALUES (?, ?)", list(tags.items()))
        outbox = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'outbox'").fetchone()[0]
        conn.executescript(
            """
            INSERT INTO people_7 SELECT p.id, t.lookup, p.telegram_id, p.settings, p.created_at,
                p.updated_at FROM people p JOIN tags t ON t.person_id = p.id;
            DROP TABLE people;
            ALTER TABLE people_7 RENAME TO people;
            """
            + "CREATE TABLE outbox_7"
            + outbox.removeprefix('CREATE TABLE "outbox"')
            .removeprefix("CREATE TABLE outbox")
            .replace(", 'parked'", "")
            + """;
            INSERT INTO outbox_7 SELECT * FROM outbox;
            DROP TABLE outbox;
            ALTER TABLE outbox_7 RENAME TO outbox;
            CREATE INDEX outbox_due ON outbox(due_at, id) WHERE state = 'pending';
            CREATE INDEX outbox_referral ON outbox(referral_id, kind)
                WHERE referral_id IS NOT NULL;
            CREATE INDEX outbox_recipient ON outbox(recipient_id)
                WHERE recipient_id IS NOT NULL;
            CREATE UNIQUE INDEX outbox_slot ON outbox(referral_id, kind, slot)
                WHERE slot IS NOT NULL AND state != 'dropped';
            CREATE INDEX outbox_claimed ON outbox(kind)
                WHERE state = 'pending' AND claimed_at IS NOT NULL;
            DROP TABLE IF EXISTS applicants;
            DROP TABLE IF EXISTS referrers;
            DROP TABLE IF EXISTS answer_counts;
            -- what later migrations made (0012 to 0017): they run again
            DROP TABLE IF EXISTS relationship_checks;
            DROP TABLE IF EXISTS talk_stops;
            DROP TABLE IF EXISTS talk;
            DROP TABLE IF EXISTS agreements;
            DROP TABLE IF EXISTS assessments;
            DROP TABLE IF EXISTS assessment_meetings;
            DROP TABLE IF EXISTS group_attendance;
            DROP TABLE IF EXISTS group_meetings;
            DROP TABLE IF EXISTS group_places;
            DROP TABLE IF EXISTS group_facilitators;
            DROP TABLE IF EXISTS groups;
            DROP TABLE IF EXISTS screen_counters;  -- what 0016 added (runs again after 0011)
            PRAGMA user_version = 10;
            """
        )
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
