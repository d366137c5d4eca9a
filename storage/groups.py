"""Peer support groups: the groups, who runs them, each person's place (invited, member, waiting,
declined, left), the meetings of the schedule and who came.

A group's details (what it is called, where or how it meets, its schedule) are sealed under the
service secret; capacity and status are plain, so places are counted without opening anything.
A person's place is keyed by their id and goes with them when they are erased (every row
cascades from `people`); how facilitators see them is sealed under their own key.

Every change of a place is one UPDATE guarded by the status it expects, so a double tap or two
coordinators at once decide once. The waiting list is the ``waiting`` places in the order they
were queued.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.crypto import LookupKeys, UnreadableRecord
from storage.db import from_text, to_text
from storage.keys import DataKey, DataKeys
from storage.models import Person, Referral
from storage.referrals import CROCKFORD
from storage.vault import SERVICE, Vault

GROUP_OWNER = "~groups"  # in associated data only; no person id can look like this
LIVE_PLACES = ("invited", "asked", "member", "waiting")
TAKEN = ("invited", "member")  # a place held: the waiting list is not counted


@dataclass(frozen=True)
class Group:
    id: str
    details: bytes  # opened; the service layer reads it (JSON)
    capacity: int
    status: str
    config: bool  # defined by the operator's config
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class GroupPlace:
    group_id: str
    person_id: str
    referral_id: str | None
    status: str
    reminders: bool
    queued_at: datetime
    changed_at: datetime


@dataclass(frozen=True)
class Counts:
    taken: int  # invited and members
    waiting: int


@dataclass(frozen=True)
class Meeting:
    id: int
    group_id: str
    slot: datetime
    starts_at: datetime
    state: str
    changed_at: datetime


def new_group_id() -> str:
    return "".join(secrets.choice(CROCKFORD) for _ in range(8))


_GROUP = "id, details, capacity, status, config_tag IS NOT NULL, created_at, updated_at"
_PLACE = "group_id, person_id, referral_id, status, reminders, queued_at, changed_at"
_MEETING = "id, group_id, slot, starts_at, state, changed_at"


def _place(row: Sequence[Any]) -> GroupPlace:
    gid, pid, rid, status, reminders, queued, changed = row
    return GroupPlace(
        gid, pid, rid, status, bool(reminders), from_text(queued), from_text(changed)
    )


def _meeting(row: Sequence[Any]) -> Meeting:
    mid, gid, slot, starts, state, changed = row
    return Meeting(int(mid), gid, from_text(slot), from_text(starts), state, from_text(changed))


class GroupRepo:
    def __init__(
        self, conn: aiosqlite.Connection, keys: DataKeys, lookup: LookupKeys, vault: Vault
    ) -> None:
        self._conn = conn
        self._keys = keys
        self._lookup = lookup
        self._vault = vault

    async def _key(self, *, create: bool) -> DataKey:
        secret = await (self._vault.get(SERVICE) if create else self._vault.find(SERVICE))
        if secret is None:
            raise UnreadableRecord("the service key is missing from the secrets table")
        return DataKey(GROUP_OWNER, 1, AESGCM(secret))

    async def _group(self, row: Sequence[Any]) -> Group:
        gid, sealed, capacity, status, config, created, updated = row
        key = await self._key(create=False)
        return Group(
            gid,
            key.open("groups", "details", gid, sealed),
            int(capacity),
            status,
            bool(config),
            from_text(created),
            from_text(updated),
        )

    # --- groups ---------------------------------------------------------------------------

    async def create(
        self,
        programme_id: str,
        details: bytes,
        capacity: int,
        now: datetime,
        *,
        created_by: Person | None = None,
        config_id: str | None = None,
    ) -> Group:
        key = await self._key(create=True)
        tag = self._lookup.group(programme_id, config_id) if config_id is not None else None
        for _ in range(10):
            gid = new_group_id()
            try:
                await self._conn.execute(
                    "INSERT INTO groups (id, programme_tag, config_tag, details, capacity,"
                    " created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        gid,
                        self._lookup.programme(programme_id),
                        tag,
                        key.seal("groups", "details", gid, details),
                        capacity,
                        created_by.id if created_by else None,
                        to_text(now),
                        to_text(now),
                    ),
                )
            except sqlite3.IntegrityError as e:
                if "groups.id" in str(e):
                    continue  # a collision on the short id: draw again
                raise
            found = await self.get(gid)
            assert found is not None
            return found
        raise RuntimeError("no free group id after 10 tries")

    async def get(self, group_id: str) -> Group | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_GROUP} FROM groups WHERE id = ?",  # noqa: S608
                (group_id,),
            )
        )
        return await self._group(rows[0]) if rows else None

    async def from_config(self, programme_id: str, config_id: str) -> Group | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_GROUP} FROM groups WHERE config_tag = ?",  # noqa: S608
                (self._lookup.group(programme_id, config_id),),
            )
        )
        return await self._group(rows[0]) if rows else None

    async def of_programme(self, programme_id: str, *, closed: bool = False) -> list[Group]:
        """The programme's groups, oldest first; closed ones only when asked for."""
        where = "" if closed else " AND status != 'closed'"
        rows = await self._conn.execute_fetchall(
            f"SELECT {_GROUP} FROM groups WHERE programme_tag = ?{where} ORDER BY created_at, id",  # noqa: S608
            (self._lookup.programme(programme_id),),
        )
        return [await self._group(r) for r in rows]

    async def update(self, group_id: str, details: bytes, capacity: int, now: datetime) -> bool:
        key = await self._key(create=True)
        async with self._conn.execute(
            "UPDATE groups SET details = ?, capacity = ?, updated_at = ? WHERE id = ?",
            (key.seal("groups", "details", group_id, details), capacity, to_text(now), group_id),
        ) as cursor:
            return cursor.rowcount == 1

    async def set_status(self, group_id: str, status: str, now: datetime) -> bool:
        """Open, pause or close; False if it was so already (or is closed: closing is final)."""
        async with self._conn.execute(
            "UPDATE groups SET status = ?, updated_at = ? WHERE id = ? AND status != ?"
            " AND status != 'closed'",
            (status, to_text(now), group_id, status),
        ) as cursor:
            return cursor.rowcount == 1

    async def set_facilitators(self, group_id: str, people: Sequence[Person]) -> None:
        await self._conn.execute("DELETE FROM group_facilitators WHERE group_id = ?", (group_id,))
        await self._conn.executemany(
            "INSERT INTO group_facilitators (group_id, person_id) VALUES (?, ?)",
            [(group_id, p.id) for p in people],
        )

    async def facilitators(self, group_id: str) -> list[str]:
        rows = await self._conn.execute_fetchall(
            "SELECT person_id FROM group_facilitators WHERE group_id = ? ORDER BY person_id",
            (group_id,),
        )
        return [r[0] for r in rows]

    async def facilitating(self, person_id: str) -> list[str]:
        rows = await self._conn.execute_fetchall(
            "SELECT group_id FROM group_facilitators WHERE person_id = ? ORDER BY group_id",
            (person_id,),
        )
        return [r[0] for r in rows]

    # --- places -----------------------------------------------------------------------------

    async def counts(self, group_id: str) -> Counts:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT COALESCE(SUM(status IN ('invited', 'member')), 0),"
                " COALESCE(SUM(status = 'waiting'), 0) FROM group_places WHERE group_id = ?",
                (group_id,),
            )
        )
        return Counts(int(rows[0][0]), int(rows[0][1]))

    async def place(self, group_id: str, person_id: str) -> GroupPlace | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_PLACE} FROM group_places WHERE group_id = ? AND person_id = ?",  # noqa: S608
                (group_id, person_id),
            )
        )
        return _place(rows[0]) if rows else None

    async def places_of(self, person_id: str) -> list[GroupPlace]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {_PLACE} FROM group_places WHERE person_id = ? ORDER BY queued_at, group_id",  # noqa: S608
            (person_id,),
        )
        return [_place(r) for r in rows]

    async def offer(
        self,
        group: Group,
        person_id: str,
        referral: Referral | None,
        status: str,
        now: datetime,
    ) -> bool:
        """Invite the person (``invited``: a place is held for them), ask whether they would
        join the waiting list of a full group (``asked``), or put them on it (``waiting``). A
        person who declined or left before may be offered again; one with a live place is not:
        False."""
        assert status in ("invited", "asked", "waiting")
        async with self._conn.execute(
            "INSERT INTO group_places (group_id, person_id, referral_id, status, queued_at,"
            " changed_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (group_id, person_id) DO UPDATE SET status = excluded.status,"
            " referral_id = excluded.referral_id, queued_at = excluded.queued_at,"
            " changed_at = excluded.changed_at"
            " WHERE group_places.status IN ('declined', 'left')",
            (
                group.id,
                person_id,
                referral.id if referral else None,
                status,
                to_text(now),
                to_text(now),
            ),
        ) as cursor:
            return cursor.rowcount == 1

    async def move(
        self, group_id: str, person_id: str, before: Sequence[str], after: str, now: datetime
    ) -> bool:
        """One decision on a place, guarded: it changes only from one of ``before``."""
        marks = ", ".join("?" for _ in before)
        async with self._conn.execute(
            "UPDATE group_places SET status = ?, changed_at = ?"  # noqa: S608
            f" WHERE group_id = ? AND person_id = ? AND status IN ({marks})",
            (after, to_text(now), group_id, person_id, *before),
        ) as cursor:
            return cursor.rowcount == 1

    async def choose(self, group_id: str, person_id: str, shown_as: str, reminders: bool) -> None:
        """How facilitators see the member (sealed under the member's key), and reminders."""
        key = await self._keys.get(person_id)
        sealed = key.seal("group_places", "shown_as", f"{group_id}|{person_id}", shown_as.encode())
        await self._conn.execute(
            "UPDATE group_places SET shown_as = ?, reminders = ?"
            " WHERE group_id = ? AND person_id = ?",
            (sealed, int(reminders), group_id, person_id),
        )

    async def set_reminders(self, group_id: str, person_id: str, on: bool) -> bool:
        async with self._conn.execute(
            "UPDATE group_places SET reminders = ? WHERE group_id = ? AND person_id = ?",
            (int(on), group_id, person_id),
        ) as cursor:
            return cursor.rowcount == 1

    async def shown_as(self, group_id: str, person_id: str) -> str | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT shown_as FROM group_places WHERE group_id = ? AND person_id = ?",
                (group_id, person_id),
            )
        )
        if not rows or rows[0][0] is None:
            return None
        key = await self._keys.get(person_id)
        return key.open("group_places", "shown_as", f"{group_id}|{person_id}", rows[0][0]).decode()

    async def places_of_group(self, group_id: str) -> list[GroupPlace]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {_PLACE} FROM group_places WHERE group_id = ? ORDER BY queued_at, person_id",  # noqa: S608
            (group_id,),
        )
        return [_place(r) for r in rows]

    async def waiting(self, group_id: str) -> list[str]:
        """The waiting list, first in line first."""
        rows = await self._conn.execute_fetchall(
            "SELECT person_id FROM group_places WHERE group_id = ? AND status = 'waiting'"
            " ORDER BY queued_at, person_id",
            (group_id,),
        )
        return [r[0] for r in rows]

    async def members(self, group_id: str) -> list[GroupPlace]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {_PLACE} FROM group_places WHERE group_id = ? AND status = 'member'"  # noqa: S608
            " ORDER BY queued_at, person_id",
            (group_id,),
        )
        return [_place(r) for r in rows]

    # --- meetings ---------------------------------------------------------------------------

    async def meeting(self, group_id: str, slot: datetime, now: datetime) -> Meeting:
        """The meeting standing for this slot of the schedule, made the first time it is asked
        for (at most one per slot)."""
        await self._conn.execute(
            "INSERT INTO group_meetings (group_id, slot, starts_at, changed_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (group_id, slot) DO NOTHING",
            (group_id, to_text(slot), to_text(slot), to_text(now)),
        )
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_MEETING} FROM group_meetings WHERE group_id = ? AND slot = ?",  # noqa: S608
                (group_id, to_text(slot)),
            )
        )
        return _meeting(rows[0])

    async def get_meeting(self, meeting_id: int) -> Meeting | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_MEETING} FROM group_meetings WHERE id = ?",  # noqa: S608
                (meeting_id,),
            )
        )
        return _meeting(rows[0]) if rows else None

    async def meetings(self, group_id: str) -> list[Meeting]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {_MEETING} FROM group_meetings WHERE group_id = ? ORDER BY slot",  # noqa: S608
            (group_id,),
        )
        return [_meeting(r) for r in rows]

    async def change_meeting(
        self, meeting_id: int, state: str, now: datetime, starts_at: datetime | None = None
    ) -> bool:
        """Move (with a new time), cancel or mark held; a cancelled or held meeting stays so."""
        assert state in ("moved", "cancelled", "held")
        assert (state == "moved") == (starts_at is not None)
        async with self._conn.execute(
            "UPDATE group_meetings SET state = ?, starts_at = COALESCE(?, starts_at),"
            " changed_at = ? WHERE id = ? AND state IN ('planned', 'moved')",
            (state, to_text(starts_at) if starts_at else None, to_text(now), meeting_id),
        ) as cursor:
            return cursor.rowcount == 1

    async def answer(self, meeting_id: int, person_id: str, answer: str) -> None:
        assert answer in ("coming", "not_coming")
        await self._conn.execute(
            "INSERT INTO group_attendance (meeting_id, person_id, answer) VALUES (?, ?, ?)"
            " ON CONFLICT (meeting_id, person_id) DO UPDATE SET answer = excluded.answer",
            (meeting_id, person_id, answer),
        )

    async def mark(self, meeting_id: int, person_id: str, came: bool) -> None:
        await self._conn.execute(
            "INSERT INTO group_attendance (meeting_id, person_id, came) VALUES (?, ?, ?)"
            " ON CONFLICT (meeting_id, person_id) DO UPDATE SET came = excluded.came",
            (meeting_id, person_id, int(came)),
        )

    async def attendance(self, meeting_id: int) -> dict[str, tuple[str | None, bool | None]]:
        """Each member's answer and whether they came, by person id."""
        rows = await self._conn.execute_fetchall(
            "SELECT person_id, answer, came FROM group_attendance WHERE meeting_id = ?",
            (meeting_id,),
        )
        return {r[0]: (r[1], None if r[2] is None else bool(r[2])) for r in rows}

    async def figures(
        self, programme_id: str, start: datetime | None, end: datetime
    ) -> GroupFigures:
        return await figures(self._conn, self._lookup.programme(programme_id), start, end)

    async def missed_in_a_row(self, group_id: str, person_id: str) -> int:
        """How many of the group's latest held meetings in a row the member did not come to
        (a meeting nobody marked them at counts as missed; one they came to ends the run)."""
        rows = await self._conn.execute_fetchall(
            "SELECT a.came FROM group_meetings m LEFT JOIN group_attendance a"
            " ON a.meeting_id = m.id AND a.person_id = ?"
            " WHERE m.group_id = ? AND m.state = 'held' ORDER BY m.starts_at DESC",
            (person_id, group_id),
        )
        missed = 0
        for (came,) in rows:
            if came == 1:
                break
            missed += 1
        return missed


@dataclass(frozen=True)
class GroupFigures:
    """Counts for reports: no person, no group name."""

    running: int  # open groups
    meetings_held: int
    attended: int  # members marked as having come, over those meetings
    members: int  # members now
    waiting: int  # on waiting lists now
    left: int  # places given up (left) in the period


async def figures(
    conn: aiosqlite.Connection,
    programme_tag: bytes,
    start: datetime | None,
    end: datetime,
) -> GroupFigures:
    """The programme's group counts: meetings (and attendance) held in [start, end), places now,
    places left in the period."""
    since = to_text(start) if start else ""
    until = to_text(end)
    running = await conn.execute_fetchall(
        "SELECT COUNT(*) FROM groups WHERE programme_tag = ? AND status = 'open'", (programme_tag,)
    )
    held = await conn.execute_fetchall(
        "SELECT COUNT(*), COALESCE(SUM((SELECT COUNT(*) FROM group_attendance a"
        " WHERE a.meeting_id = m.id AND a.came = 1)), 0)"
        " FROM group_meetings m JOIN groups g ON g.id = m.group_id"
        " WHERE g.programme_tag = ? AND m.state = 'held' AND m.starts_at >= ? AND m.starts_at < ?",
        (programme_tag, since, until),
    )
    places = await conn.execute_fetchall(
        "SELECT COALESCE(SUM(p.status = 'member'), 0), COALESCE(SUM(p.status = 'waiting'), 0),"
        " COALESCE(SUM(p.status = 'left' AND p.changed_at >= ? AND p.changed_at < ?), 0)"
        " FROM group_places p JOIN groups g ON g.id = p.group_id WHERE g.programme_tag = ?",
        (since, until, programme_tag),
    )
    (n_running,) = next(iter(running))
    n_held, n_attended = next(iter(held))
    members, waiting, left = next(iter(places))
    return GroupFigures(
        int(n_running), int(n_held), int(n_attended), int(members), int(waiting), int(left)
    )
