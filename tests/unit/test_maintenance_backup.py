"""`peerdoor backup PATH`: a consistent, private copy that never overwrites and holds no key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.errors import SetupError
from bot.ops import maintenance
from bot.ops.keys import encode_key
from bot.settings import Settings
from storage import KeyRing, Store, UnknownPerson, keystore_path
from storage.crypto import key_id_of
from tests.unit.storage_fixtures import T0, opened, raw


async def test_backup_is_private_complete_and_keyless(tmp_path: Path) -> None:
    key = KeyRing.generate()
    settings = Settings(data_dir=tmp_path / "data", master_key=encode_key(key))  # type: ignore[arg-type]
    settings.data_dir.mkdir()
    async with opened(settings.database, KeyRing(key)) as store:
        async with store.unit() as u:
            person = await u.people.create(42, T0)
            await u.drafts.save(person, b"in the backup", T0)
            await u.audit.record(person, "seeded", T0)
        # taken while the store is open, with the latest commit still in the WAL
        made = maintenance.backup(settings, tmp_path / "copy.db")
    assert made.size == made.path.stat().st_size > 0
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
    assert made.key_id == key_id_of(key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db", "data"], "one file, no WAL"
    body = made.path.read_bytes()
    assert key not in body and encode_key(key).encode() not in body
    with raw(made.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert not (tmp_path / "copy.erasure-keys").exists(), "the key store is not in the backup"
    # opened with the key material as it is now: the master key and the live key store
    copy = await Store.open(made.path, KeyRing(key), keystore=keystore_path(settings.database))
    try:
        async with copy.unit() as u:
            found = await u.people.find(42)
            assert found is not None
            assert await u.drafts.load(found) == b"in the backup"
        assert (await copy.verify_audit()).ok
    finally:
        await copy.close()

    with pytest.raises(SetupError, match="never overwrites"):
        maintenance.backup(settings, made.path)
    with pytest.raises(SetupError, match="cannot write"):
        maintenance.backup(settings, tmp_path / "missing" / "copy.db")
    assert not (tmp_path / "missing").exists()
    empty = Settings(data_dir=tmp_path / "nothing")
    with pytest.raises(SetupError, match="no database"):
        maintenance.backup(empty, tmp_path / "other.db")
    assert not (tmp_path / "other.db").exists()


async def test_key_store_copy_replaces_the_previous_one(tmp_path: Path) -> None:
    """`peerdoor backup-keys PATH`: only the latest copy is kept, whole, mode 0600."""
    key = KeyRing.generate()
    settings = Settings(data_dir=tmp_path / "data", master_key=encode_key(key))  # type: ignore[arg-type]
    settings.data_dir.mkdir()
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    target = keys_dir / "peerdoor.erasure-keys"
    with pytest.raises(SetupError, match="no erasure key store"):
        maintenance.backup_keys(settings, target)
    async with opened(settings.database, KeyRing(key)) as store:
        async with store.unit() as u:
            ada = await u.people.create(1, T0)
            await u.people.create(2, T0)
        database = maintenance.backup(settings, tmp_path / "copy.db")
        first = maintenance.backup_keys(settings, target)
        assert first.keystore == keystore_path(settings.database)
        with raw(target) as conn:
            assert conn.execute("SELECT count(*) FROM erasure_secrets").fetchone() == (2,)
            (secret,) = conn.execute(
                "SELECT secret FROM erasure_secrets WHERE person_id = ?", (ada.id,)
            ).fetchone()
        async with store.unit() as u:
            await u.people.erase(ada)
        maintenance.backup_keys(settings, target)  # again: replaces the copy
    assert sorted(p.name for p in keys_dir.iterdir()) == [target.name], "no temp file, no WAL"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert secret not in target.read_bytes(), "the erased person's secret is not in the copy"
    # The database backup and the latest key store copy restore everyone but the erased.
    async with opened(database.path, KeyRing(key), target) as restored, restored.unit() as u:
        assert await u.people.find(2) is not None
        assert await u.people.find(1) is None
        with pytest.raises(UnknownPerson):
            await u.people.telegram_id(ada)
    with pytest.raises(SetupError, match="the key store itself"):
        maintenance.backup_keys(settings, keystore_path(settings.database))
