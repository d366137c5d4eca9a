"""Round trips through every repository, and the unit of work's commit/rollback."""

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import storage.referrals
from storage import KeyRing, Person, StorageError, Store, UnknownPerson
from storage.db import migrations
from tests.unit.storage_fixtures import T0


class Boom(Exception):
    pass


async def test_open_sets_pragmas_and_migrates(tmp_path: Path, master: bytes) -> None:
    path = tmp_path / "peerdoor.db"
    s = await Store.open(path, KeyRing(master))
    await s.close()
    s = await Store.open(path, KeyRing(master))  # reopening applies nothing twice
    try:
        conn = s._conn
        values = {}
        for pragma in ("journal_mode", "synchronous", "foreign_keys", "secure_delete"):
            values[pragma] = next(iter(await conn.execute_fetchall(f"PRAGMA {pragma}")))[0]
        assert values == {
            "journal_mode": "wal",
            "synchronous": 2,
            "foreign_keys": 1,
            "secure_delete": 1,
        }
        version = next(iter(await conn.execute_fetchall("PRAGMA user_version")))[0]
        assert version == len(migrations()) >= 1
        secrets = await conn.execute_fetchall("SELECT count(*) FROM secrets")
        assert next(iter(secrets))[0] == 1
    finally:
        await s.close()


async def test_people_round_trip(store: Store) -> None:
    async with store.unit() as u:
        assert await u.people.find(123) is None
        person = await u.people.create(123, T0)
    assert len(person.id) == 32
    assert person.created_at == T0
    async with store.unit() as u:
        found = await u.people.find(123)
        assert found == person
        assert await u.people.telegram_id(person) == 123
        assert await u.people.find(124) is None
        assert await u.people.settings(person) is None
        await u.people.save_settings(person, b'{"lang": "sv"}', T0)
    async with store.unit() as u:
        assert await u.people.settings(person) == b'{"lang": "sv"}'


async def test_person_ids_are_random_not_derived(tmp_path: Path, master: bytes) -> None:
    ids = []
    for name in ("a.db", "b.db"):
        s = await Store.open(tmp_path / name, KeyRing(master))
        try:
            async with s.unit() as u:
                ids.append((await u.people.create(555, T0)).id)
        finally:
            await s.close()
    assert ids[0] != ids[1]


async def test_create_twice_is_refused(store: Store) -> None:
    async with store.unit() as u:
        await u.people.create(7, T0)
        with pytest.raises(ValueError):
            await u.people.create(7, T0)
    async with store.unit() as u:
        rows = await store._conn.execute_fetchall("SELECT count(*) FROM person_keys")
        assert next(iter(rows))[0] == 1


async def test_large_telegram_ids_and_timezones(store: Store) -> None:
    stockholm = timezone(timedelta(hours=1))
    async with store.unit() as u:
        person = await u.people.create(2**53 + 1, datetime(2025, 3, 1, 10, 30, tzinfo=stockholm))
    assert person.created_at == T0
    assert person.created_at.utcoffset() == timedelta(0)
    async with store.unit() as u:
        assert await u.people.telegram_id(person) == 2**53 + 1


async def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        async with store.unit() as u:
            await u.people.create(1, datetime(2025, 1, 1))


async def test_draft_round_trip(store: Store) -> None:
    async with store.unit() as u:
        person = await u.people.create(1, T0)
        assert await u.drafts.load(person) is None
        await u.drafts.save(person, b'{"step": 1}', T0)
        assert await u.drafts.load(person) == b'{"step": 1}'
        await u.drafts.save(person, b'{"step": 2}' * 1000, T0)
    async with store.unit() as u:
        assert await u.drafts.load(person) == b'{"step": 2}' * 1000
        rows = await store._conn.execute_fetchall("SELECT count(*) FROM dialogs")
        assert next(iter(rows))[0] == 1
        await u.drafts.delete(person)
    async with store.unit() as u:
        assert await u.drafts.load(person) is None
        await u.drafts.delete(person)  # deleting nothing is fine


async def test_referral_round_trip(store: Store) -> None:
    async with store.unit() as u:
        person = await u.people.create(1, T0)
        first = await u.referrals.create(person, "hiv-peer", b'{"a": 1}', False, T0)
        # A person has one live referral at most: the first is over before the second.
        deferred = await u.referrals.set_status(first, "deferred", T0)
        second = await u.referrals.create(
            person, "diabetes", b'{"b": 2}', True, T0 + timedelta(hours=1)
        )
    assert first.status == "submitted"
    assert first.person_id == person.id
    assert first.submitted_at == first.updated_at == T0
    assert second.urgent
    assert not first.urgent
    first = deferred  # as it is stored now
    async with store.unit() as u:
        assert await u.referrals.for_person(person) == [second, first]
        assert await u.referrals.answers(first) == b'{"a": 1}'
        assert await u.referrals.programme_id(first) == "hiv-peer"
        assert await u.referrals.programme_id(second) == "diabetes"
        assert await u.referrals.by_reference(first.reference) == first
        assert await u.referrals.by_reference(first.reference.lower()) == first
        assert await u.referrals.by_reference(f"  {first.reference.lower()} ") == first
        assert await u.referrals.by_reference("PD-000000") is None
        other = await u.people.create(2, T0)
        assert await u.referrals.for_person(other) == []


async def test_reference_format() -> None:
    alphabet = set(storage.referrals.CROCKFORD)
    assert not alphabet & set("ILOU")
    refs = {storage.referrals.new_reference() for _ in range(200)}
    assert len(refs) > 190
    for ref in refs:
        assert ref.startswith("PD-")
        assert len(ref) == 9
        assert set(ref[3:]) <= alphabet


async def test_reference_lookup_forgives_confusable_letters(store: Store) -> None:
    async with store.unit() as u:
        person = await u.people.create(1, T0)
        ref = await u.referrals.create(person, "p", b"", False, T0)
        typed = ref.reference.lower().replace("0", "o").replace("1", "l")
        assert await u.referrals.by_reference(typed) == ref


async def test_reference_collision_draws_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = iter(["PD-AAAAAA", "PD-AAAAAA", "PD-AAAAAA", "PD-BBBBBB"])
    monkeypatch.setattr(storage.referrals, "new_reference", lambda: next(codes))
    async with store.unit() as u:
        person = await u.people.create(1, T0)
        first = await u.referrals.create(person, "p", b"1", False, T0)
        await u.referrals.set_status(first, "deferred", T0)  # one live referral at most
        second = await u.referrals.create(person, "p", b"2", False, T0)
    assert (first.reference, second.reference) == ("PD-AAAAAA", "PD-BBBBBB")
    async with store.unit() as u:
        assert await u.referrals.answers(second) == b"2"


async def test_queue_is_urgent_first_then_oldest(store: Store) -> None:
    async with store.unit() as u:
        a, b, c, d, e = [await u.people.create(i, T0) for i in range(1, 6)]  # one live each
        old = await u.referrals.create(a, "hiv", b"", False, T0)
        new_urgent = await u.referrals.create(b, "hiv", b"", True, T0 + timedelta(days=2))
        newer = await u.referrals.create(c, "diab", b"", False, T0 + timedelta(days=1))
        old_urgent = await u.referrals.create(d, "diab", b"", True, T0 + timedelta(days=1))
        done = await u.referrals.create(e, "hiv", b"", True, T0 - timedelta(days=9))
        done = await u.referrals.set_status(done, "closed", T0)
    async with store.unit() as u:
        queue = await u.referrals.queue()
        assert [r.id for r in queue] == [old_urgent.id, new_urgent.id, old.id, newer.id]
        assert [r.id for r in await u.referrals.queue(programme_id="hiv")] == [
            new_urgent.id,
            old.id,
        ]
        assert [r.id for r in await u.referrals.queue("closed")] == [done.id]
        assert (await u.referrals.by_reference(done.reference)) == done
        plan = await store._conn.execute_fetchall(
            "EXPLAIN QUERY PLAN SELECT id FROM referrals WHERE status = ?"
            " ORDER BY urgent DESC, submitted_at",
            ("submitted",),
        )
        details = " ".join(str(row[-1]) for row in plan)
        assert "referrals_queue" in details
        assert "TEMP B-TREE" not in details


async def test_claim_once(store: Store) -> None:
    """An update is applied by one transaction; asked again inside that same transaction (the
    router claims it, then the use case it calls), the claim gives the same answer."""
    async with store.unit() as u:
        assert await u.updates.claim(1001, T0)
        assert await u.updates.claim(1001, T0)
        assert await u.updates.claim(1002, T0)
    async with store.unit() as u:
        assert not await u.updates.claim(1001, T0)
        assert not await u.updates.claim(1001, T0)


async def test_claim_survives_reopen(tmp_path: Path, master: bytes) -> None:
    path = tmp_path / "peerdoor.db"
    s = await Store.open(path, KeyRing(master))
    try:
        async with s.unit() as u:
            assert await u.updates.claim(77, T0)
    finally:
        await s.close()
    s = await Store.open(path, KeyRing(master))
    try:
        async with s.unit() as u:
            assert not await u.updates.claim(77, T0)
            assert await u.updates.claim(78, T0)
    finally:
        await s.close()


async def test_prune(store: Store) -> None:
    async with store.unit() as u:
        for i in range(5):
            await u.updates.claim(i, T0 + timedelta(minutes=i))
    async with store.unit() as u:
        assert await u.updates.prune(T0 + timedelta(minutes=3)) == 3
        assert await u.updates.prune(T0 + timedelta(minutes=3)) == 0
    async with store.unit() as u:
        assert await u.updates.claim(0, T0)  # forgotten
        assert not await u.updates.claim(4, T0)


async def test_unit_rolls_back_on_exception(store: Store) -> None:
    async with store.unit() as u:
        keeper = await u.people.create(1, T0)
    created: list[Person] = []

    async def failing_unit() -> None:
        async with store.unit() as u:
            person = await u.people.create(2, T0)
            created.append(person)
            await u.drafts.save(person, b"draft", T0)
            await u.drafts.save(keeper, b"draft", T0)
            await u.referrals.create(person, "p", b"a", False, T0)
            assert await u.updates.claim(5, T0)
            raise Boom

    with pytest.raises(Boom):
        await failing_unit()
    async with store.unit() as u:
        assert await u.people.find(2) is None
        assert await u.drafts.load(keeper) is None
        assert await u.updates.claim(5, T0)
        counts = {}
        for table in ("people", "person_keys", "dialogs", "referrals"):
            rows = await store._conn.execute_fetchall(f"SELECT count(*) FROM {table}")
            counts[table] = next(iter(rows))[0]
    assert counts == {"people": 1, "person_keys": 1, "dialogs": 0, "referrals": 0}
    assert created[0].id not in store._cache


async def test_unit_commits_on_normal_exit(tmp_path: Path, master: bytes) -> None:
    path = tmp_path / "peerdoor.db"
    s = await Store.open(path, KeyRing(master))
    try:
        async with s.unit() as u:
            person = await u.people.create(9, T0)
            await u.drafts.save(person, b"kept", T0)
    finally:
        await s.close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("SELECT count(*) FROM dialogs").fetchone() == (1,)
    finally:
        raw.close()


async def test_sqlite_errors_become_storage_errors(store: Store) -> None:
    with pytest.raises(StorageError, match="no such table"):
        async with store.unit():
            await store._conn.execute("SELECT * FROM nowhere")
    async with store.unit() as u:  # the store still works afterwards
        await u.people.create(1, T0)


async def test_closed_store_refuses_work(store: Store) -> None:
    await store.close()
    with pytest.raises(StorageError, match="closed"):
        async with store.unit():
            pass


async def test_erase_removes_everything_of_theirs(store: Store) -> None:
    async with store.unit() as u:
        gone = await u.people.create(1, T0)
        stays = await u.people.create(2, T0)
        for p in (gone, stays):
            await u.drafts.save(p, b"d", T0)
            await u.people.save_settings(p, b"s", T0)
            await u.referrals.create(p, "p", b"a", False, T0)
    async with store.unit() as u:
        assert gone.id in store._cache
        await u.people.erase(gone)
    assert gone.id not in store._cache
    async with store.unit() as u:
        assert await u.people.find(1) is None
        with pytest.raises(UnknownPerson):
            await u.drafts.save(gone, b"again", T0)
        assert await u.referrals.for_person(gone) == []
        for table, column in [
            ("people", "id"),
            ("person_keys", "person_id"),
            ("dialogs", "person_id"),
            ("referrals", "person_id"),
        ]:
            rows = await store._conn.execute_fetchall(f"SELECT {column} FROM {table}")
            assert [r[0] for r in rows] == [stays.id]
        assert await u.drafts.load(stays) == b"d"


async def test_key_cache_is_bounded(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store._cache, "_size", 3)
    async with store.unit() as u:
        people = [await u.people.create(i, T0) for i in range(5)]
    assert len(store._cache) == 3
    async with store.unit() as u:  # evicted keys are unwrapped again from the table
        for i, p in enumerate(people):
            await u.drafts.save(p, str(i).encode(), T0)
    async with store.unit() as u:
        assert [await u.drafts.load(p) for p in people] == [b"0", b"1", b"2", b"3", b"4"]


async def test_person_from_another_store_is_unknown(store: Store) -> None:
    stranger = Person("0" * 32, T0)
    async with store.unit() as u:
        with pytest.raises(UnknownPerson):
            await u.people.settings(stranger)
