"""What an attacker holding the database files (or a backup) can and cannot learn."""

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage import (
    KeyRing,
    Person,
    Store,
    UnknownPerson,
    UnreadableRecord,
    WrongMasterKey,
    keystore_path,
    unpad,
)
from storage.backup import backup_database
from storage.crypto import LookupKeys, associated_data, combine_keys, unseal
from storage.keys import KEY_VERSION, data_key_context, wrap_context
from tests.unit.storage_fixtures import opened

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
TELEGRAM_ID = 987654321012
CANARIES = [b"CANARY-ZEBRA-42", b"Quentin Marmaduke", b"hiv-peer-canary"]


def forbidden(telegram_id: int = TELEGRAM_ID) -> list[bytes]:
    return [
        *CANARIES,
        *(c.decode().encode("utf-16-le") for c in CANARIES),
        str(telegram_id).encode(),
        telegram_id.to_bytes(8, "little"),
        telegram_id.to_bytes(8, "big"),
    ]


def files_of(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def raw_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in files_of(path))


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


async def fill_with_canaries(store: Store, telegram_id: int = TELEGRAM_ID) -> Person:
    async with store.unit() as u:
        person = await u.people.create(telegram_id, T0)
        await u.people.save_settings(person, b'{"name": "Quentin Marmaduke"}', T0)
        await u.drafts.save(person, b'{"q1": "CANARY-ZEBRA-42", "name": "Quentin Marmaduke"}', T0)
        await u.referrals.create(
            person, "hiv-peer-canary", b'{"story": "CANARY-ZEBRA-42"}', True, T0
        )
    return person


def test_forbidden_list_catches_a_leak() -> None:
    """The canary check itself can fail: a plaintext copy would be found."""
    blob = b"xx" + TELEGRAM_ID.to_bytes(8, "little") + b"yy"
    assert any(f in blob for f in forbidden())


async def test_canary_strings_never_reach_the_files(tmp_path: Path) -> None:
    path = tmp_path / "peerdoor.db"
    store = await Store.open(path, KeyRing(KeyRing.generate()))
    try:
        await fill_with_canaries(store)
        # while open, the WAL and shared-memory index hold the recent pages
        assert [p.name for p in files_of(path)] == [
            "peerdoor.db",
            "peerdoor.db-wal",
            "peerdoor.db-shm",
        ]
        live = raw_bytes(path)
        assert [f for f in forbidden() if f in live] == []
    finally:
        await store.close()
    on_disk = raw_bytes(path)
    assert len(on_disk) > 0
    assert [f for f in forbidden() if f in on_disk] == []


async def test_deleted_draft_leaves_no_ciphertext_behind(tmp_path: Path) -> None:
    """secure_delete: the sealed bytes of a deleted draft are overwritten, not just unlinked."""
    path = tmp_path / "peerdoor.db"
    master = KeyRing.generate()
    store = await Store.open(path, KeyRing(master))
    try:
        person = await fill_with_canaries(store)
        async with store.unit() as u:
            rows = await store._conn.execute_fetchall("SELECT state FROM dialogs")
            sealed_draft = bytes(next(iter(rows))[0])
            await u.drafts.delete(person)
    finally:
        await store.close()
    on_disk = raw_bytes(path)
    assert [f for f in forbidden() if f in on_disk] == []
    assert sealed_draft[:24] not in on_disk
    assert sealed_draft[-24:] not in on_disk


async def test_telegram_id_is_looked_up_by_keyed_hash(tmp_path: Path) -> None:
    """Two databases (different lookup secrets) give the same Telegram id different tags, and
    the tags live in the erasure key store, not in the database."""
    tags = []
    for name in ("a.db", "b.db"):
        path = tmp_path / name
        store = await Store.open(path, KeyRing(KeyRing.generate()))
        try:
            await fill_with_canaries(store)
        finally:
            await store.close()
        with raw(keystore_path(path)) as conn:
            tags.append(conn.execute("SELECT lookup FROM lookups").fetchone()[0])
        with raw(path) as conn:
            columns = [r[1] for r in conn.execute("PRAGMA table_info(people)")]
        assert columns == ["id", "telegram_id", "settings", "created_at", "updated_at"]
        assert tags[-1] not in raw_bytes(path)
    assert tags[0] != tags[1]
    assert all(len(t) == 32 for t in tags)


async def test_programme_tag_is_keyed_and_id_sealed(tmp_path: Path) -> None:
    path = tmp_path / "peerdoor.db"
    store = await Store.open(path, KeyRing(KeyRing.generate()))
    try:
        person = await fill_with_canaries(store)
        async with store.unit() as u:  # one live referral at most: each is over before the next
            for programme in ("hiv-peer-canary", "other"):
                for earlier in await u.referrals.for_person(person):
                    await u.referrals.set_status(earlier, "deferred", T0)
                await u.referrals.create(person, programme, b"{}", False, T0)
    finally:
        await store.close()
    with raw(path) as conn:
        tags = [r[0] for r in conn.execute("SELECT programme_tag FROM referrals ORDER BY rowid")]
        sealed = [r[0] for r in conn.execute("SELECT programme_id FROM referrals ORDER BY rowid")]
    assert tags[0] == tags[1] != tags[2]  # filterable by equality...
    assert sealed[0] != sealed[1]  # ...while the sealed id is randomised


async def test_ciphertext_moved_to_another_row_or_column_fails(tmp_path: Path) -> None:
    path = tmp_path / "peerdoor.db"
    master = KeyRing.generate()
    store = await Store.open(path, KeyRing(master))
    try:
        async with store.unit() as u:
            alice = await u.people.create(1, T0)
            bob = await u.people.create(2, T0)
            await u.drafts.save(alice, b"alice's draft", T0)
            await u.drafts.save(bob, b"bob's draft", T0)
            await u.people.save_settings(alice, b"alice's settings", T0)
            r1 = await u.referrals.create(alice, "p1", b"answers one", False, T0)
            await u.referrals.set_status(r1, "deferred", T0)  # one live referral at most
            r2 = await u.referrals.create(alice, "p2", b"answers two", False, T0)
    finally:
        await store.close()

    with raw(path) as conn:
        # same person, another referral row
        conn.execute(
            "UPDATE referrals SET answers = (SELECT answers FROM referrals WHERE id = ?)"
            " WHERE id = ?",
            (r1.id, r2.id),
        )
        # same row, another column
        conn.execute(
            "UPDATE referrals SET programme_id = answers WHERE id = ?",
            (r1.id,),
        )
        # same person, another table/column
        conn.execute(
            "UPDATE people SET settings = (SELECT state FROM dialogs WHERE person_id = ?)"
            " WHERE id = ?",
            (alice.id, alice.id),
        )

    store = await Store.open(path, KeyRing(master))
    try:
        async with store.unit() as u:
            with pytest.raises(UnreadableRecord):
                await u.referrals.answers(r2)
            assert await u.referrals.answers(r1) == b"answers one"  # the original still opens
            with pytest.raises(UnreadableRecord):
                await u.referrals.programme_id(r1)
            with pytest.raises(UnreadableRecord):
                await u.people.settings(alice)
            assert await u.drafts.load(alice) == b"alice's draft"
    finally:
        await store.close()

    with raw(path) as conn:  # another person's row, even with the same data key
        conn.execute(
            "UPDATE dialogs SET state = (SELECT state FROM dialogs WHERE person_id = ?)"
            " WHERE person_id = ?",
            (alice.id, bob.id),
        )
    store = await Store.open(path, KeyRing(master))
    try:
        async with store.unit() as u:
            with pytest.raises(UnreadableRecord):
                await u.drafts.load(bob)
    finally:
        await store.close()


async def test_wrapped_keys_cannot_be_swapped_between_people(tmp_path: Path) -> None:
    path = tmp_path / "peerdoor.db"
    master = KeyRing.generate()
    store = await Store.open(path, KeyRing(master))
    try:
        async with store.unit() as u:
            alice = await u.people.create(1, T0)
            await u.people.create(2, T0)
    finally:
        await store.close()
    with raw(path) as conn:
        conn.execute(
            "UPDATE person_keys SET wrapped = (SELECT wrapped FROM person_keys WHERE person_id"
            " != ?) WHERE person_id = ?",
            (alice.id, alice.id),
        )
    store = await Store.open(path, KeyRing(master))
    try:
        async with store.unit() as u:
            with pytest.raises(WrongMasterKey):
                await u.people.find(1)
    finally:
        await store.close()


@pytest.mark.parametrize("empty", [True, False])
async def test_wrong_master_key_changes_nothing(tmp_path: Path, empty: bool) -> None:
    path = tmp_path / "peerdoor.db"
    store = await Store.open(path, KeyRing(KeyRing.generate()))
    try:
        if not empty:
            await fill_with_canaries(store)
    finally:
        await store.close()
    before = path.read_bytes()
    files_before = listing(tmp_path)

    with pytest.raises(WrongMasterKey):
        await Store.open(path, KeyRing(KeyRing.generate()))

    assert path.read_bytes() == before
    assert listing(tmp_path) == files_before


async def test_wrong_key_with_forged_key_id_is_refused(tmp_path: Path) -> None:
    """Same key_id but the unwrap fails: still WrongMasterKey, file untouched."""
    path = tmp_path / "peerdoor.db"
    store = await Store.open(path, KeyRing(KeyRing.generate()))
    await store.close()
    other = KeyRing(KeyRing.generate())
    with raw(path) as conn:
        conn.execute("UPDATE secrets SET key_id = ?", (other.key_id,))
    before = path.read_bytes()
    with pytest.raises(WrongMasterKey):
        await Store.open(path, other)
    assert path.read_bytes() == before


def erasure_secret(keystore: Path, person_id: str) -> bytes:
    with raw(keystore) as conn:
        row = conn.execute(
            "SELECT secret FROM erasure_secrets WHERE person_id = ?", (person_id,)
        ).fetchone()
    return bytes(row[0])


async def test_erase_against_a_backup_taken_before(tmp_path: Path) -> None:
    """Crypto-shredding reaches database backups taken before the erasure.

    - live database and key store: the erased person's rows, wrapped key and erasure secret are
      gone, byte for byte;
    - a backup taken before (``peerdoor backup``: the database only), opened with the key
      material that exists after the erasure (the same master key, the live key store): the
      erased person cannot be read, not even with their wrapped key unwrapped by hand, while
      everyone else can;
    - why the key store is backed up keeping only the latest copy: a copy of it from before the
      erasure would bring the person back;
    - after rotating the master key and destroying the old one, the backup is beyond use
      altogether while the live database stays readable.
    """
    live, backup = tmp_path / "live.db", tmp_path / "backup.db"
    keystore = keystore_path(live)
    old_master = KeyRing.generate()
    store = await Store.open(live, KeyRing(old_master))
    try:
        assert store.keystore_path == keystore == tmp_path / "live.erasure-keys"
        gone = await fill_with_canaries(store, telegram_id=111)
        stays = await fill_with_canaries(store, telegram_id=222)
        backup_database(live, backup)  # while open, as `peerdoor backup` does
    finally:
        await store.close()
    assert files_of(live) == [live]  # closed cleanly: one file is the whole database
    old_keystore = tmp_path / "keystore-before.copy"
    shutil.copyfile(keystore, old_keystore)  # what NOT to keep: an older key store copy
    with raw(live) as conn:
        wrapped_key = conn.execute(
            "SELECT wrapped FROM person_keys WHERE person_id = ?", (gone.id,)
        ).fetchone()[0]
        sealed_rows = [
            row[0]
            for row in conn.execute(
                "SELECT answers FROM referrals WHERE person_id = ?", (gone.id,)
            )
        ]
        sealed_draft = conn.execute(
            "SELECT state FROM dialogs WHERE person_id = ?", (gone.id,)
        ).fetchone()[0]
    secret = erasure_secret(keystore, gone.id)
    assert secret in raw_bytes(keystore)

    store = await Store.open(live, KeyRing(old_master))
    try:
        async with store.unit() as u:
            person = await u.people.find(111)
            assert person == gone
            await u.people.erase(person)
        # straight after the commit, before close: both WALs were checkpointed and truncated
        on_disk = raw_bytes(live)
        assert wrapped_key not in on_disk
        assert all(s[:24] not in on_disk for s in sealed_rows)
        assert secret not in raw_bytes(keystore)
        async with store.unit() as u:
            assert await u.people.find(111) is None
            survivor = await u.people.find(222)
            assert survivor == stays
            assert await u.referrals.answers((await u.referrals.for_person(stays))[0])
    finally:
        await store.close()
    assert wrapped_key not in raw_bytes(live)
    assert secret not in raw_bytes(keystore)

    # The backup still holds the erased person's rows and wrapped key...
    with raw(backup) as conn:
        assert conn.execute(
            "SELECT wrapped FROM person_keys WHERE person_id = ?", (gone.id,)
        ).fetchone() == (wrapped_key,)
    # ...but with today's master key and key store only the survivor can be read.
    store = await Store.open(backup, KeyRing(old_master), keystore=keystore)
    try:
        async with store.unit() as u:
            assert await u.people.find(111) is None  # the key store no longer knows the id
            with pytest.raises(UnknownPerson, match="erasure secret is gone"):
                await u.drafts.load(gone)
            with pytest.raises(UnknownPerson):
                await u.people.telegram_id(gone)
            (lost,) = await u.referrals.for_person(gone)  # the row is there: no one can read it
            with pytest.raises(UnknownPerson):
                await u.referrals.answers(lost)
            survivor = await u.people.find(222)
            assert survivor == stays
            assert await u.people.telegram_id(survivor) == 222
            assert b"CANARY-ZEBRA-42" in (await u.drafts.load(survivor) or b"")
            (referral,) = await u.referrals.for_person(survivor)
            assert b"CANARY-ZEBRA-42" in await u.referrals.answers(referral)
    finally:
        await store.close()
    # By hand: the unwrapped half alone is not the data key (nor is any key derived from it
    # without the erasure secret).
    half = KeyRing(old_master).unwrap(
        KeyRing(old_master).key_id, wrapped_key, wrap_context(gone.id, KEY_VERSION)
    )
    ad = associated_data("dialogs", "state", gone.id, gone.id, KEY_VERSION)
    for candidate in (half, combine_keys(half, bytes(32), data_key_context(gone.id, 2))):
        with pytest.raises(UnreadableRecord):
            unseal(AESGCM(candidate), sealed_draft, ad)
    assert b"CANARY-ZEBRA-42" in unpad(
        AESGCM(combine_keys(half, secret, data_key_context(gone.id, 2))).decrypt(
            sealed_draft[:12], sealed_draft[12:], ad
        )
    ), "the check above is meaningful: both halves do open it"

    # A key store copy from before the erasure would bring them back: keep only the latest.
    again = tmp_path / "backup-again.db"
    shutil.copyfile(backup, again)
    store = await Store.open(again, KeyRing(old_master), keystore=old_keystore)
    try:
        async with store.unit() as u:
            assert await u.people.find(111) == gone
    finally:
        await store.close()

    # Rows copied back from the backup into the live database, wrapped key included: nothing.
    with raw(live) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("ATTACH DATABASE ? AS old", (str(backup),))
        for table, column in (
            ("people", "id"),
            ("person_keys", "person_id"),
            ("dialogs", "person_id"),
            ("referrals", "person_id"),
        ):
            conn.execute(
                f"INSERT INTO main.{table} SELECT * FROM old.{table} WHERE {column} = ?",
                (gone.id,),
            )
        conn.execute("DETACH DATABASE old")
    store = await Store.open(live, KeyRing(old_master))
    try:
        async with store.unit() as u:
            assert await u.people.find(111) is None
            with pytest.raises(UnknownPerson):
                await u.drafts.load(gone)
        assert await store.leftovers() == [gone.id]
        assert await store.remove_leftovers() == 1  # clean the leftovers up again
        async with store.unit() as u:
            assert await u.people.find(111) is None
    finally:
        await store.close()

    # Rotate the master key; once the old one is destroyed the backup is beyond use.
    new_master = KeyRing.generate()
    store = await Store.open(live, KeyRing(new_master, retired=[old_master]))
    try:
        assert await store.rotate() == 2  # one person key and the lookup secret
        assert await store.rotate() == 0
    finally:
        await store.close()
    store = await Store.open(live, KeyRing(new_master))
    try:
        async with store.unit() as u:
            survivor = await u.people.find(222)
            assert survivor is not None
            assert await u.people.telegram_id(survivor) == 222
            assert b"CANARY-ZEBRA-42" in (await u.drafts.load(survivor) or b"")
    finally:
        await store.close()
    with pytest.raises(WrongMasterKey):
        await Store.open(backup, KeyRing(new_master), keystore=keystore)


def attacker_tag(backup: Path, master: bytes, telegram_id: int) -> bytes:
    """What someone holding a backup and today's master key computes to test a Telegram id."""
    with raw(backup) as conn:
        key_id, wrapped = conn.execute(
            "SELECT key_id, wrapped FROM secrets WHERE name = 'lookup'"
        ).fetchone()
    secret = KeyRing(master).unwrap(key_id, wrapped, b"secrets|lookup")
    return LookupKeys(secret).telegram(telegram_id)


async def test_a_backup_from_before_delete_does_not_say_who_was_known(tmp_path: Path) -> None:
    """A backup taken before /delete, opened with the key material that exists after it (the
    master key, the live erasure key store), reveals neither that the Telegram id was ever
    known nor anything about them; everyone else reads normally."""
    live, backup = tmp_path / "live.db", tmp_path / "backup.db"
    keystore, master = keystore_path(live), KeyRing.generate()
    async with opened(live, KeyRing(master)) as store:
        gone = await fill_with_canaries(store, telegram_id=111)
        await fill_with_canaries(store, telegram_id=222)
        async with store.unit() as u:
            (referral,) = await u.referrals.for_person(gone)
        backup_database(live, backup)
        tag = attacker_tag(backup, master, 111)
        assert tag in raw_bytes(keystore), "the check can fail: the tag is there before"
        async with store.unit() as u:
            person = await u.people.find(111)
            assert person is not None
            await u.people.erase(person)

    # Membership: the tag the attacker computes is in no file they hold.
    assert tag not in raw_bytes(backup)
    assert tag not in raw_bytes(keystore)
    assert attacker_tag(backup, master, 222) in raw_bytes(keystore)
    # Anything about them: no way from the id to a row. Opened as a restore would, the store
    # does not know the id, cannot open the person's rows, and removes them.
    async with opened(backup, KeyRing(master), keystore) as copy:
        async with copy.unit() as u:
            assert await u.people.find(111) is None
            with pytest.raises(UnknownPerson):
                await u.people.telegram_id(gone)
            survivor = await u.people.find(222)
            assert survivor is not None and await u.people.telegram_id(survivor) == 222
            (theirs,) = await u.referrals.for_person(survivor)
            assert b"CANARY-ZEBRA-42" in await u.referrals.answers(theirs)
        assert await copy.leftovers() == [gone.id]
        assert await copy.remove_leftovers() == 1
        async with copy.unit() as u:
            assert await u.referrals.by_reference(referral.reference) is None
            assert await u.people.get(gone.id) is None
    assert referral.reference.encode() not in raw_bytes(backup)
