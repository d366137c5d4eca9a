"""Read-only looks at a database and its erasure key store, for `peerdoor check-config`.

Nothing is written and nothing is decrypted: counts only.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from storage import db


@dataclass(frozen=True)
class Health:
    waiting: int  # outbox rows still to be sent
    parked: int  # outbox rows set aside after failing inside the bot
    leftovers: int | None  # people the key store no longer knows (None: cannot tell yet)


def _read_only(path: Path) -> sqlite3.Connection:
    """Opened so that nothing is created beside it: with a WAL in use (the bot is running)
    read-only through it, else as an immutable file (it is then the whole database)."""
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    return sqlite3.connect(f"file:{path}?immutable=1", uri=True)


def health(database: Path, keystore: Path) -> Health | None:
    """Counts for an existing database at schema 11 (db.INDEX_MOVED) or later; None when there
    is nothing to look at yet (no database, an older schema, or it cannot be read)."""
    if not database.is_file():
        return None
    conn = _read_only(database)
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] < db.INDEX_MOVED:
            return None
        waiting, parked = conn.execute(
            "SELECT count(*) FILTER (WHERE state = 'pending'),"
            " count(*) FILTER (WHERE state = 'parked') FROM outbox"
        ).fetchone()
        people = {str(r[0]) for r in conn.execute("SELECT id FROM people")}
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return Health(int(waiting), int(parked), _unknown_to(keystore, people))


def _unknown_to(keystore: Path, people: set[str]) -> int | None:
    if not keystore.is_file():
        return None
    conn = _read_only(keystore)
    try:
        known = {str(r[0]) for r in conn.execute("SELECT person_id FROM lookups")}
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return len(people - known)
