"""At most one live referral per person, held by the database (migration 0009), and a database
that already has two is repaired when it is migrated."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from storage import AlreadyLive, KeyRing, StorageError
from storage.db import migrations
from storage.referrals import LIVE
from tests.unit.storage_fixtures import T0, opened, raw


async def test_the_database_refuses_a_second_live_referral(tmp_path: Path) -> None:
    path, ring = tmp_path / "db.sqlite", KeyRing(KeyRing.generate())
    async with opened(path, ring) as store:
        async with store.unit() as u:
            person = await u.people.create(1, T0)
            first = await u.referrals.create(person, "hiv", b"{}", False, T0)
        for status in LIVE:
            async with store.unit() as u:
                await u.referrals.set_status(first, status, T0)
            with pytest.raises(AlreadyLive):
                async with store.unit() as u:
                    await u.referrals.create(person, "hiv", b"{}", False, T0 + timedelta(days=1))
        async with store.unit() as u:  # an outcome they may come back from: a new form is fine
            await u.referrals.set_status(first, "deferred", T0)
            second = await u.referrals.create(person, "hiv", b"{}", False, T0 + timedelta(days=2))
            assert (await u.referrals.live(person)) == second
        # Nor can an old one come back to life beside it, by any path.
        with pytest.raises(StorageError, match=r"UNIQUE constraint failed: referrals\.person_id"):
            async with store.unit() as u:
                await u.referrals.set_status(first, "submitted", T0)
        async with store.unit() as u:
            assert [r.id for r in await u.referrals.for_person(person)] == [second.id, first.id]
            other = await u.people.create(2, T0)  # someone else is not affected
            await u.referrals.create(other, "hiv", b"{}", False, T0)
    with raw(path) as conn, pytest.raises(sqlite3.IntegrityError):  # nor a hand-made row
        conn.execute(
            "INSERT INTO referrals (id, reference, person_id, programme_tag, programme_id,"
            " answers, status, urgent, submitted_at, updated_at)"
            " SELECT 'x', 'PD-XXXXXX', person_id, programme_tag, programme_id, answers,"
            " 'submitted', 0, submitted_at, updated_at FROM referrals WHERE id = ?",
            (second.id,),
        )


async def test_migrating_a_database_with_two_live_referrals_keeps_the_newest(
    tmp_path: Path,
) -> None:
    path, ring = tmp_path / "db.sqlite", KeyRing(KeyRing.generate())
    async with opened(path, ring) as store, store.unit() as u:
        person = await u.people.create(1, T0)
        older = await u.referrals.create(person, "hiv", b"{}", False, T0)
    with raw(path) as conn:  # as a database written before 0009 could be
        conn.execute("DROP INDEX referrals_one_live")
        conn.execute(
            "INSERT INTO referrals (id, reference, person_id, programme_tag, programme_id,"
            " answers, status, urgent, submitted_at, updated_at)"
            " SELECT 'newer', 'PD-NEWER0', person_id, programme_tag, programme_id, answers,"
            " 'claimed', 0, ?, updated_at FROM referrals WHERE id = ?",
            ((T0 + timedelta(days=1)).isoformat(timespec="microseconds"), older.id),
        )
        # the migration itself, as it runs on such a database (later ones are already applied)
        (migration,) = [m for m in migrations() if m.name.endswith("_one_live_referral.sql")]
        conn.executescript(migration.sql)
    async with opened(path, ring):
        pass
    with raw(path) as conn:
        rows = dict(conn.execute("SELECT id, status FROM referrals").fetchall())
        closed_at = conn.execute(
            "SELECT closed_at FROM referrals WHERE id = ?", (older.id,)
        ).fetchone()[0]
        indexes = [r[1] for r in conn.execute("PRAGMA index_list(referrals)")]
    assert rows == {older.id: "closed", "newer": "claimed"}
    assert closed_at is not None
    assert "referrals_one_live" in indexes
