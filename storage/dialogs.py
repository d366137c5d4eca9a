"""Every conversation a person is in, as one sealed row (conversations/dialogs.py).

The stack is read once per unit of work and kept for the rest of it; each change writes the
row in the same transaction. The older per-flow tables (drafts, survey_state, staff_state) are
views onto frames of it (storage/drafts.py, storage/staff.py, storage/surveys.py) until every
flow reads its frame through the dialog engine; `move_legacy_states` moved their rows here.

The stack's screen counter (``DialogState.screens``) is also kept in ``screen_counters``: the
row goes when the last dialog ends, the counter must not (it never goes back).
"""

from __future__ import annotations

import logging
from datetime import datetime

import aiosqlite

from conversations.dialogs import FORMS, DialogName, DialogState
from storage.crypto import LookupKeys
from storage.db import to_text
from storage.keys import DataKeys, UnknownPerson
from storage.models import Person

log = logging.getLogger("peerdoor.storage")

TABLE, COLUMN = "dialogs", "state"


class DialogRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys, lookup: LookupKeys) -> None:
        self._conn = conn
        self._keys = keys
        self._lookup = lookup
        self._loaded: dict[str, DialogState] = {}  # person id -> their stack, in this unit
        self._screens: dict[str, int] = {}  # person id -> screen_counters as read or written

    async def load(self, person: Person) -> DialogState:
        """The person's stack (empty if they are in no conversation), read once per unit."""
        found = self._loaded.get(person.id)
        if found is None:
            rows = list(
                await self._conn.execute_fetchall(
                    "SELECT d.state, c.screens FROM people p"
                    " LEFT JOIN dialogs d ON d.person_id = p.id"
                    " LEFT JOIN screen_counters c ON c.person_id = p.id WHERE p.id = ?",
                    (person.id,),
                )
            )
            found = DialogState()
            if rows and rows[0][0] is not None:
                key = await self._keys.get(person.id)
                found = DialogState.from_bytes(key.open(TABLE, COLUMN, person.id, rows[0][0]))
            counted = int(rows[0][1]) if rows and rows[0][1] is not None else 0
            found.screens = max(found.screens, counted)
            self._screens[person.id] = counted
            self._loaded[person.id] = found
        return found

    async def frame(self, person: Person, dialog: DialogName) -> bytes | None:
        frame = (await self.load(person)).get(dialog)
        return frame.data.encode() if frame is not None else None

    async def put(
        self,
        person: Person,
        dialog: DialogName,
        data: bytes | None,
        now: datetime | None,
        programme_id: str | None = None,
        screen: int | None = None,
    ) -> None:
        """Set (or with None end) one dialog's state and write the stack.

        ``programme_id`` is the form's programme, kept as a keyed tag for retention. Ending a
        dialog may leave ``now`` out: the row keeps the time it last changed. ``screen``: the
        frame now shows a new screen of that number (`DialogState.show`)."""
        state = await self.load(person)
        state.put(dialog, data.decode() if data is not None else None, screen=screen)
        await self.save(person, state, now, programme_id, form_changed=dialog in FORMS)

    async def end(self, person: Person, dialog: DialogName) -> None:
        """End one dialog, if the person is in it; the row keeps the time it last changed."""
        if (await self.load(person)).get(dialog) is not None:
            await self.put(person, dialog, None, None)

    async def save(
        self,
        person: Person,
        state: DialogState,
        now: datetime | None,
        programme_id: str | None = None,
        form_changed: bool = True,
    ) -> None:
        """Write the stack. A changed form takes ``programme_id``'s tag (none if not given: a
        tag never outlives the state it was computed from); otherwise the tag stays."""
        self._loaded[person.id] = state
        if state.screens > self._screens.get(person.id, 0):
            await self._conn.execute(
                "INSERT INTO screen_counters (person_id, screens) VALUES (?, ?)"
                " ON CONFLICT (person_id) DO UPDATE SET screens = max(screens, excluded.screens)",
                (person.id, state.screens),
            )
            self._screens[person.id] = state.screens
        if not state.frames:
            await self._conn.execute("DELETE FROM dialogs WHERE person_id = ?", (person.id,))
            return
        key = await self._keys.get(person.id)
        sealed = key.seal(TABLE, COLUMN, person.id, state.to_bytes())
        stamp = to_text(now) if now is not None else None
        tag = None
        if state.has_form and form_changed and programme_id is not None:
            tag = self._lookup.programme(programme_id)
        elif state.has_form and not form_changed:
            tag = await self._tag(person)
        await self._conn.execute(
            "INSERT INTO dialogs (person_id, state, updated_at, form, programme_tag)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET"
            " state = excluded.state, updated_at = COALESCE(?, updated_at),"
            " form = excluded.form, programme_tag = excluded.programme_tag",
            (person.id, sealed, stamp or "", int(state.has_form), tag, stamp),
        )

    async def _tag(self, person: Person) -> bytes | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT programme_tag FROM dialogs WHERE person_id = ?", (person.id,)
            )
        )
        return rows[0][0] if rows else None


#: (legacy table, the dialog its rows become)
LEGACY: tuple[tuple[str, DialogName], ...] = (
    ("drafts", "intake"),
    ("survey_state", "survey"),
    ("staff_state", "staff"),
)


async def move_legacy_states(conn: aiosqlite.Connection, keys: DataKeys) -> int:
    """Move the rows of drafts, survey_state and staff_state into dialogs, re-sealed, then drop
    those tables. Runs inside the caller's transaction, so it happens whole or not at all;
    returns how many people were moved. Rows whose person's key is gone (an erased person's
    leftovers in a restored backup) cannot be read and are dropped with their table."""
    tables = {
        row[0]
        for row in await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type='table'")
    }
    legacy = [(table, dialog) for table, dialog in LEGACY if table in tables]
    if not legacy:
        return 0
    states: dict[str, tuple[DialogState, str, bytes | None]] = {}
    for table, dialog in legacy:
        tagged = table == "drafts"
        columns = "person_id, state, updated_at" + (", programme_tag" if tagged else "")
        for row in await conn.execute_fetchall(f"SELECT {columns} FROM {table}"):  # noqa: S608
            person_id, sealed, updated_at = row[0], row[1], row[2]
            try:
                key = await keys.get(person_id)
                data = key.open(table, "state", person_id, sealed)
            except UnknownPerson:
                continue
            state, latest, tag = states.get(person_id, (DialogState(), updated_at, None))
            state.put(dialog, data.decode())
            states[person_id] = (state, max(latest, updated_at), row[3] if tagged else tag)
    for person_id, (state, updated_at, tag) in states.items():
        key = await keys.get(person_id)
        await conn.execute(
            "INSERT INTO dialogs (person_id, state, updated_at, form, programme_tag)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                person_id,
                key.seal(TABLE, COLUMN, person_id, state.to_bytes()),
                updated_at,
                int(state.has_form),
                tag,
            ),
        )
    for table, _ in legacy:
        await conn.execute(f"DROP TABLE {table}")
    log.info("storage.dialogs_moved people=%d", len(states))
    return len(states)
