"""The erasure key store: refused when missing or foreign, settled after crashes, legacy keys."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage import (
    KeyRing,
    KeyStoreMissing,
    StorageError,
    Store,
    UnknownPerson,
    WrongKeyStore,
    db,
    keystore_path,
)
from storage.backup import backup_database
from storage.crypto import new_data_key
from storage.keys import DataKey, DataKeys, wrap_context
from storage.keystore import KeyStore
from tests.unit.storage_fixtures import T0, before_index_move, opened, people, raw


def secrets_in(keystore: Path) -> dict[str, str]:
    """person_id -> state of every erasure secret in the file."""
    with raw(keystore) as conn:
        return dict(conn.execute("SELECT person_id, state FROM erasure_secrets").fetchall())


def versions(path: Path) -> dict[str, int]:
    with raw(path) as conn:
        return dict(conn.execute("SELECT person_id, version FROM person_keys").fetchall())


def digest(path: Path) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


def legacy_new(self: DataKeys, person_id: str, lookup: bytes) -> tuple[DataKey, str, bytes]:
    """DataKeys.new as it was before the key store (key version 1): the wrapped key is it."""
    raw_key = new_data_key()
    key = DataKey(person_id, 1, AESGCM(raw_key))
    key_id, wrapped = self._keyring.wrap(raw_key, wrap_context(person_id, 1))
    self._pending[person_id] = key
    self.lookups[person_id] = lookup
    return key, key_id, wrapped


async def test_a_missing_key_store_is_refused_when_people_need_it(tmp_path: Path) -> None:
    path, master = tmp_path / "peerdoor.db", KeyRing.generate()
    async with opened(path, KeyRing(master)) as store:
        await people(store, 1, 2)
    keystore = keystore_path(path)
    assert set(versions(path).values()) == {2}
    keystore.unlink()
    before = digest(path)
    with pytest.raises(KeyStoreMissing, match="erasure-keys is missing, but the database"):
        await Store.open(path, KeyRing(master))
    assert not keystore.exists(), "never a fresh one: everyone would be unreadable"
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["peerdoor.db"]


async def test_first_start_and_a_database_with_nobody_create_it(tmp_path: Path) -> None:
    path, master = tmp_path / "peerdoor.db", KeyRing.generate()
    async with opened(path, KeyRing(master)) as store:
        (ada,) = await people(store, 1)
        async with store.unit() as u:
            await u.people.erase(ada)
    keystore = keystore_path(path)
    assert keystore.exists() and secrets_in(keystore) == {}
    keystore.unlink()  # nobody needs it: a new one is made
    async with opened(path, KeyRing(master)) as store:
        await people(store, 2)
    assert len(secrets_in(keystore)) == 1


async def test_another_databases_key_store_is_refused(tmp_path: Path) -> None:
    master = KeyRing.generate()
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    async with opened(a, KeyRing(master)) as store:
        await people(store, 1)
    async with opened(b, KeyRing(master)) as store:
        await people(store, 1)
    with pytest.raises(WrongKeyStore, match="belongs to another database"):
        await Store.open(b, KeyRing(master), keystore=keystore_path(a))
    # an empty one (its database gone before anyone was stored) is taken over
    empty = tmp_path / "empty.db"
    async with opened(empty, KeyRing(master)):
        pass
    empty.unlink()
    async with opened(empty, KeyRing(master)) as store:
        await people(store, 1)


async def test_a_failed_unit_leaves_the_key_store_as_it_was(tmp_path: Path) -> None:
    path, master = tmp_path / "peerdoor.db", KeyRing.generate()
    keystore = keystore_path(path)
    async with opened(path, KeyRing(master)) as store:
        (ada,) = await people(store, 1)
        with pytest.raises(RuntimeError):  # noqa: PT012 - the unit fails after both
            async with store.unit() as u:
                await u.people.create(2, T0)
                await u.people.erase(ada)
                raise RuntimeError("boom")
        assert secrets_in(keystore) == {ada.id: "live"}
        async with store.unit() as u:  # created and erased at once: never written
            bob = await u.people.create(3, T0)
            await u.people.erase(bob)
        assert secrets_in(keystore) == {ada.id: "live"}
        async with store.unit() as u:
            found = await u.people.find(1)
            assert found == ada
            assert await u.people.telegram_id(found) == 1


async def test_no_leftovers_is_found_without_a_write_transaction(tmp_path: Path) -> None:
    """The daily purge looks for leftovers first; most days there are none, and finding that
    must not hold the write lock (every update waits on it) or read every id on the loop's
    thread: no unit of work is begun for it. A real leftover is still found and removed."""
    path = tmp_path / "peerdoor.db"
    async with opened(path, KeyRing(KeyRing.generate())) as store:
        ada, _bob = await people(store, 1, 2)
        begun = store.write_transactions
        assert await store.remove_leftovers() == 0
        assert store.write_transactions == begun
        with raw(keystore_path(path)) as conn:  # as a restored backup would leave her
            conn.execute("DELETE FROM lookups WHERE person_id = ?", (ada.id,))
        assert await store.remove_leftovers() == 1
        assert store.write_transactions > begun
        assert await store.leftovers() == []


async def test_when_the_database_cannot_be_read_aside_leftovers_are_looked_for_as_before(
    tmp_path: Path,
) -> None:
    """The lock-free look reads the database on a connection of its own; if that fails (the
    file moved, no permission), it says "maybe" and the exact look under the lock runs."""
    path = tmp_path / "peerdoor.db"
    async with opened(path, KeyRing(KeyRing.generate())) as store:
        ada, _bob = await people(store, 1, 2)
        with raw(keystore_path(path)) as conn:
            conn.execute("DELETE FROM lookups WHERE person_id = ?", (ada.id,))
        store._path = tmp_path / "elsewhere" / "peerdoor.db"  # not there
        begun = store.write_transactions
        assert await store.remove_leftovers() == 1
        assert store.write_transactions > begun


async def test_a_crash_between_the_two_commits_is_settled_at_the_next_open(
    tmp_path: Path,
) -> None:
    path, master = tmp_path / "peerdoor.db", KeyRing.generate()
    keystore = keystore_path(path)
    async with opened(path, KeyRing(master)) as store:
        ada, bob, cy = await people(store, 1, 2, 3)
    # as a crash would leave them: ada erased in the database but her secret only marked;
    # bob's erasure not committed; cy's creation committed but not yet settled; a secret of
    # someone whose creation never committed
    with raw(path) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM people WHERE id = ?", (ada.id,))
    with raw(keystore) as conn:
        conn.execute("UPDATE erasure_secrets SET state = 'erasing' WHERE person_id != ?", (cy.id,))
        conn.execute("UPDATE erasure_secrets SET state = 'new' WHERE person_id = ?", (cy.id,))
        conn.execute("INSERT INTO erasure_secrets VALUES ('nobody', zeroblob(32), 'new')")
    async with opened(path, KeyRing(master)) as store:
        # 'erasing' only goes forward: bob's erasure is finished, although it never committed
        assert secrets_in(keystore) == {cy.id: "live", "nobody": "new"}
        assert await store.leftovers() == [bob.id]
        assert await store.remove_leftovers() == 1
        assert await store.leftovers() == []
        async with store.unit() as u:
            assert await u.people.get(bob.id) is None
            assert await u.people.find(2) is None
            person = await u.people.find(3)
            assert person is not None
            assert await u.people.telegram_id(person) == 3


async def test_an_erasure_left_erasing_never_comes_back_with_a_backup(tmp_path: Path) -> None:
    """The erasing-then-backup order: the bot dies between the erasure's commit and destroying
    the secret; the backup from before is opened (as a restore would) with the key store."""
    path, master = tmp_path / "peerdoor.db", KeyRing.generate()
    keystore, backup = keystore_path(path), tmp_path / "before.db"
    async with opened(path, KeyRing(master)) as store:
        ada, bob = await people(store, 1, 2)
        async with store.unit() as u:
            await u.drafts.save(ada, b"ada's draft", T0)
        backup_database(path, backup)
        with pytest.MonkeyPatch.context() as crash:  # the process dies before the destroy
            crash.setattr(KeyStore, "destroy", _dies)
            with pytest.raises(SystemExit):
                async with store.unit() as u:
                    await u.people.erase(ada)
    assert secrets_in(keystore) == {ada.id: "erasing", bob.id: "live"}
    async with opened(backup, KeyRing(master), keystore) as copy:
        assert secrets_in(keystore) == {bob.id: "live"}, "never back to 'live'"
        async with copy.unit() as u:
            assert await u.people.find(1) is None
            with pytest.raises(UnknownPerson):
                await u.drafts.load(ada)
            found = await u.people.find(2)
            assert found == bob and await u.people.telegram_id(found) == 2
        assert await copy.leftovers() == [ada.id]
    async with opened(path, KeyRing(master)) as store, store.unit() as u:
        assert await u.people.find(1) is None


async def test_a_failed_erasure_commit_still_destroys_the_secret(tmp_path: Path) -> None:
    """The commit of an erasure fails after the secret was marked: forward, not back."""
    path, master = tmp_path / "peerdoor.db", KeyRing.generate()
    keystore = keystore_path(path)
    async with opened(path, KeyRing(master)) as store:
        (ada,) = await people(store, 1)
        real = store._conn.commit

        async def refuse() -> None:
            raise sqlite3.OperationalError("database or disk is full")

        store._conn.commit = refuse  # type: ignore[method-assign]
        with pytest.raises(StorageError, match="commit failed"):
            async with store.unit() as u:
                await u.people.erase(ada)
        store._conn.commit = real  # type: ignore[method-assign]
        assert secrets_in(keystore) == {}
        assert await store.leftovers() == [ada.id]
        assert await store.remove_leftovers() == 1
        async with store.unit() as u:
            assert await u.people.get(ada.id) is None and await u.people.find(1) is None


async def _dies(self: KeyStore, person_ids: object) -> None:
    raise SystemExit("killed between the erasure's commit and destroying the secret")


async def test_retention_purge_destroys_the_secret(tmp_path: Path) -> None:
    path, master = tmp_path / "peerdoor.db", KeyRing.generate()
    keystore = keystore_path(path)
    async with opened(path, KeyRing(master)) as store:
        (ada,) = await people(store, 1)
        async with store.unit() as u:
            await u.drafts.save(ada, b"old", T0, programme_id="hiv")
        with raw(keystore) as conn:
            secret = conn.execute("SELECT secret FROM erasure_secrets").fetchone()[0]
        async with store.unit() as u:
            purged = await u.retention.purge(
                drafts_before={"hiv": T0.replace(year=2026)},
                closed_before={"hiv": T0},
                draft_programme=lambda _: "hiv",
            )
        assert purged.people == 1
        assert secrets_in(keystore) == {}
        files = [keystore, Path(f"{keystore}-wal"), Path(f"{keystore}-shm")]
        assert all(secret not in p.read_bytes() for p in files if p.exists())


async def test_people_stored_before_the_key_store_keep_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key version 1: readable, rotatable and erasable; a backup keeps them (the limitation)."""
    path, master = tmp_path / "peerdoor.db", KeyRing.generate()
    keystore = keystore_path(path)
    with monkeypatch.context() as patched:
        patched.setattr(DataKeys, "new", legacy_new)
        async with opened(path, KeyRing(master)) as store:
            ada, bob = await people(store, 1, 2)
            async with store.unit() as u:
                await u.drafts.save(ada, b"ada's draft", T0)
    before_index_move(path, keystore)
    keystore.unlink()  # as an install from before the key store: no file yet
    assert set(versions(path).values()) == {1}
    backup = tmp_path / "before.db"
    async with opened(path, KeyRing(master)) as store:
        backup_database(path, backup)
        (cy,) = await people(store, 3)
        async with store.unit() as u:
            found = await u.people.find(1)
            assert found == ada
            assert await u.drafts.load(ada) == b"ada's draft"
            await u.people.erase(ada)
    assert versions(path) == {bob.id: 1, cy.id: 2}
    assert set(secrets_in(keystore)) == {cy.id}
    new_master = KeyRing.generate()
    async with opened(path, KeyRing(new_master, retired=[master])) as store:
        assert await store.rotate() == 3
    async with opened(path, KeyRing(new_master)) as store, store.unit() as u:
        for telegram_id in (2, 3):
            person = await u.people.find(telegram_id)
            assert person is not None and await u.people.telegram_id(person) == telegram_id
    # The limitation: a version-1 person erased since is still in a backup from before, until
    # the master key that backup opens with is destroyed.
    async with opened(backup, KeyRing(master), keystore) as store, store.unit() as u:
        assert await u.drafts.load(ada) == b"ada's draft"


async def test_a_restored_row_without_its_secret_is_unknown_not_a_crash(tmp_path: Path) -> None:
    path, master = tmp_path / "peerdoor.db", KeyRing.generate()
    async with opened(path, KeyRing(master)) as store:
        (ada,) = await people(store, 1)
    with raw(keystore_path(path)) as conn:
        conn.execute("DELETE FROM erasure_secrets")
    async with opened(path, KeyRing(master)) as store:
        async with store.unit() as u:
            with pytest.raises(UnknownPerson):
                await u.people.find(1)
            assert await u.people.get(ada.id) == ada  # no key needed
            await u.people.erase(ada)
        async with store.unit() as u:
            assert await u.people.find(1) is None


async def test_migration_0011_moves_the_index_and_leaves_erased_people_behind(
    tmp_path: Path,
) -> None:
    """A database as schema 7 held it (lookup tags in people.lookup), and a backup of it: the
    upgrade moves the tags to the key store; a pre-upgrade backup restored after an erasure
    does not bring the erased person's tag back."""
    path, master = tmp_path / "peerdoor.db", KeyRing.generate()
    keystore, backup = keystore_path(path), tmp_path / "before-upgrade.db"
    async with opened(path, KeyRing(master)) as store:
        ada, bob = await people(store, 1, 2)
        async with store.unit() as u:
            referral = await u.referrals.create(bob, "hiv", b'{"a": 1}', True, T0)
            queued = await u.outbox.add("note", due_at=T0, now=T0, referral=referral)
    before_index_move(path, keystore)
    with raw(path) as conn:
        tags = dict(conn.execute("SELECT id, lookup FROM people").fetchall())
    backup_database(path, backup)

    async with opened(path, KeyRing(master)) as store:
        with raw(path) as conn:
            assert "lookup" not in [r[1] for r in conn.execute("PRAGMA table_info(people)")]
            assert conn.execute("PRAGMA user_version").fetchone()[0] >= db.INDEX_MOVED
        with raw(keystore) as conn:
            assert dict(conn.execute("SELECT person_id, lookup FROM lookups")) == tags
        async with store.unit() as u:
            assert await u.people.find(1) == ada and await u.people.find(2) == bob
            assert await u.referrals.answers(referral) == b'{"a": 1}'
            item = await u.outbox.get(queued)
            assert item is not None and await u.outbox.payload(item) == b""
            assert await u.outbox.add("note", due_at=T0, now=T0) > queued
            await u.people.erase(ada)
    assert all(t not in b"".join(files_bytes(path)) for t in tags.values())

    # The backup from before the upgrade still holds the tags: that residue stays until the
    # master key it opens with is rotated away and destroyed (docs/run/backups.md).
    assert tags[ada.id] in b"".join(files_bytes(backup))
    async with opened(backup, KeyRing(master), keystore) as copy:  # a restore of it
        with raw(keystore) as conn:
            assert dict(conn.execute("SELECT person_id, lookup FROM lookups")) == {
                bob.id: tags[bob.id]
            }
        assert await copy.leftovers() == [ada.id]
        async with copy.unit() as u:
            assert await u.people.find(1) is None
            assert await u.people.find(2) == bob
            assert await u.referrals.answers(referral) == b'{"a": 1}'


def files_bytes(path: Path) -> list[bytes]:
    return [p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists()]
