"""A database as the release before the dialog table left it: the conversation states of each
flow in their own tables (drafts, survey_state, staff_state), sealed as that release sealed them.

The tables are made by the same statements that made them then (storage/migrations 0001-0006,
read from the migration files) and the rows sealed under the same associated data, so what the
upgrade meets is what is on disk at services running that release.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from storage import Person, Store
from storage.db import migrations, to_text

_CREATE = re.compile(r"CREATE TABLE (drafts|staff_state|survey_state) \(.*?\);", re.S)


def legacy_schema() -> list[str]:
    """The CREATE TABLE statements of the three legacy tables, and drafts' later column."""
    found: list[str] = []
    for migration in migrations():
        found += [m.group(0) for m in _CREATE.finditer(migration.sql)]
        if "ALTER TABLE drafts ADD COLUMN programme_tag" in migration.sql:
            found.append("ALTER TABLE drafts ADD COLUMN programme_tag BLOB")
    assert len(found) == 4, found
    return found


async def put_legacy(store: Store, rows: list[tuple[Person, str, bytes]], now: datetime) -> None:
    """Recreate the legacy tables (if gone) and write (person, table, state) rows into them,
    sealed as the older release did; the person's rows in the dialog table are removed."""
    async with store.unit() as uow:
        conn = store._conn
        existing = {r[0] for r in await conn.execute_fetchall("SELECT name FROM sqlite_master")}
        if "drafts" not in existing:
            for statement in legacy_schema():
                await conn.execute(statement)
        for person, table, state in rows:
            key = await uow.keys.get(person.id)
            sealed = key.seal(table, "state", person.id, state)
            await conn.execute(
                f"INSERT INTO {table} (person_id, state, updated_at) VALUES (?, ?, ?)",
                (person.id, sealed, to_text(now)),
            )
            await conn.execute("DELETE FROM dialogs WHERE person_id = ?", (person.id,))


async def put_main_staff_frame(store: Store, person: Person, data: bytes, now: datetime) -> None:
    """The person's dialog row as the release with one "staff" frame left it: every member of
    staff's state (a note, a meeting being planned, a profile field) in that one frame, told
    apart by the prefix of its ``pending`` value, sealed under the dialog table's data."""
    state = json.dumps({"frames": [{"dialog": "staff", "version": 1, "data": data.decode()}]})
    async with store.unit() as uow:
        key = await uow.keys.get(person.id)
        sealed = key.seal("dialogs", "state", person.id, state.encode())
        await store._conn.execute(
            "INSERT INTO dialogs (person_id, state, updated_at, form, programme_tag)"
            " VALUES (?, ?, ?, 0, NULL) ON CONFLICT (person_id) DO UPDATE SET"
            " state = excluded.state, updated_at = excluded.updated_at",
            (person.id, sealed, to_text(now)),
        )
