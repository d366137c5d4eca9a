"""`peerdoor rotate-key`: crash safety at every step, a running store, env mode, wrong keys."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from pathlib import Path

import pytest

from bot.errors import SetupError
from bot.ops import maintenance
from bot.ops.cli import example_config
from bot.ops.keys import encode_key, next_key_path, read_key_file, write_key_file
from bot.settings import Settings
from storage import KeyRing, MasterKeyChanged, Person, Store, WrongMasterKey
from storage.backup import master_key_id
from storage.crypto import key_id_of
from tests.unit.storage_fixtures import T0, raw
from tests.unit.test_cli import one_line_exit_2, peerdoor


class Crash(BaseException):
    """Stands in for the process dying at this point (not caught by `except Exception`)."""


def file_settings(root: Path) -> Settings:
    return Settings(data_dir=root / "data", key_file=root / "peerdoor.key", master_key=None)


async def seeded(settings: Settings, key: bytes, n: int = 3) -> list[Person]:
    settings.data_dir.mkdir(exist_ok=True)
    store = await Store.open(settings.database, KeyRing(key))
    try:
        async with store.unit() as u:
            people = [await u.people.create(1000 + i, T0) for i in range(n)]
            for i, person in enumerate(people):
                await u.drafts.save(person, f"draft-{i}".encode(), T0)
                await u.referrals.create(person, "hiv", f"answers-{i}".encode(), False, T0)
            await u.audit.record(None, "seeded", T0)
    finally:
        await store.close()
    return people


async def readable(settings: Settings, key: bytes, people: list[Person]) -> None:
    store = await Store.open(settings.database, KeyRing(key))
    try:
        async with store.unit() as u:
            for i, person in enumerate(people):
                assert await u.people.telegram_id(person) == 1000 + i
                assert await u.drafts.load(person) == f"draft-{i}".encode()
                (referral,) = await u.referrals.for_person(person)
                assert await u.referrals.answers(referral) == f"answers-{i}".encode()
        assert (await store.verify_audit()).ok
    finally:
        await store.close()
    with raw(settings.database) as conn:
        ids = {
            r[0]
            for r in conn.execute(
                "SELECT key_id FROM person_keys UNION SELECT key_id FROM secrets"
            )
        }
    assert ids == {key_id_of(key)}, "everything is wrapped under exactly one master key"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_rotate_with_a_key_file(tmp_path: Path) -> None:
    settings = file_settings(tmp_path)
    old = KeyRing.generate()
    write_key_file(settings.key_file, old)
    people = await seeded(settings, old)

    done = await maintenance.rotate_key(settings, lambda _: pytest.fail("no announce with a file"))

    new = read_key_file(settings.key_file)
    assert new != old
    assert (done.old_id, done.new_id) == (key_id_of(old), key_id_of(new))
    assert done.rewrapped == 3 + 2  # three data keys, the lookup and audit secrets
    assert done.retired == tmp_path / f"peerdoor.key.retired-{key_id_of(old)}"
    assert read_key_file(done.retired) == old
    assert mode(settings.key_file) == mode(done.retired) == 0o600
    assert not next_key_path(settings.key_file).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["data", "peerdoor.key", done.retired.name]
    )
    await readable(settings, new, people)
    with pytest.raises(WrongMasterKey):
        await Store.open(settings.database, KeyRing(old))


def _crash_when(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the rotation die at one point."""
    if name == "writing_next":  # inside step 1, after the temp file was written
        real_replace = os.replace

        def replace(src: str | Path, dst: str | Path) -> None:
            if str(dst).endswith(".next"):
                raise Crash
            real_replace(src, dst)

        monkeypatch.setattr(os, "replace", replace)
    elif name == "before_retired":  # after step 1
        monkeypatch.setattr(maintenance, "keep_retired_key", _raise)
    elif name == "mid_rewrap":  # inside step 3's transaction, after some rows were updated
        import storage.store

        calls = {"n": 0}
        real = storage.store.wrap_context

        def wrap_context(person_id: str, version: int) -> bytes:
            calls["n"] += 1
            if calls["n"] == 2:
                raise Crash
            return real(person_id, version)

        monkeypatch.setattr(storage.store, "wrap_context", wrap_context)
    elif name == "before_rename":  # after step 3 committed
        real_replace = os.replace

        def replace(src: str | Path, dst: str | Path) -> None:
            if str(src).endswith(".next"):
                raise Crash
            real_replace(src, dst)

        monkeypatch.setattr(os, "replace", replace)


def _raise(*_: object) -> None:
    raise Crash


@pytest.mark.parametrize(
    "point", ["writing_next", "before_retired", "mid_rewrap", "before_rename"]
)
async def test_a_crash_anywhere_is_finished_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    settings = file_settings(tmp_path)
    old = KeyRing.generate()
    write_key_file(settings.key_file, old)
    people = await seeded(settings, old)
    with monkeypatch.context() as patched:
        _crash_when(point, patched)
        with pytest.raises(Crash):
            await maintenance.rotate_key(settings, lambda _: None)

    upcoming = next_key_path(settings.key_file)
    assert read_key_file(settings.key_file) == old, "the key file is replaced last"
    under = master_key_id(settings.database)
    if point == "writing_next":
        assert not upcoming.exists()
        assert under == key_id_of(old)
    else:
        new = read_key_file(upcoming)
        committed = point == "before_rename"
        assert under == key_id_of(new if committed else old)

    # The next start (run, or any command) finishes the job, and readers get one right key.
    key = await maintenance.ready_master_key(settings, verify=True)
    assert not upcoming.exists()
    assert read_key_file(settings.key_file) == key
    await readable(settings, key, people)
    if point != "writing_next":
        assert key == new
        retired = tmp_path / f"peerdoor.key.retired-{key_id_of(old)}"
        assert read_key_file(retired) == old
    # A temp file left by a crash inside step 1 is cleared by the next rotation.
    (tmp_path / "peerdoor.key.next.tmp-0badf00d").write_text("half a key")
    done = await maintenance.rotate_key(settings, lambda _: None)
    assert not list(tmp_path.glob("*.tmp-*"))
    await readable(settings, read_key_file(settings.key_file), people)
    assert done.rewrapped == 5


async def test_rotate_key_finishes_an_interrupted_rotation_instead_of_starting_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = file_settings(tmp_path)
    old = KeyRing.generate()
    write_key_file(settings.key_file, old)
    people = await seeded(settings, old)
    with monkeypatch.context() as patched:
        _crash_when("before_rename", patched)
        with pytest.raises(Crash):
            await maintenance.rotate_key(settings, lambda _: None)
    new = read_key_file(next_key_path(settings.key_file))
    done = await maintenance.rotate_key(settings, lambda _: None)
    assert done.resumed
    assert done.rewrapped == 0  # the database was already under the new key
    assert read_key_file(settings.key_file) == new
    await readable(settings, new, people)


async def test_a_running_store_follows_the_rotation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = file_settings(tmp_path)
    old = KeyRing.generate()
    write_key_file(settings.key_file, old)
    people = await seeded(settings, old)
    running = await Store.open(settings.database, KeyRing(old))
    running.reload_keys_with(maintenance.key_reloader(settings))
    try:
        async with running.unit() as u:  # warms the caches with the old key in use
            assert await u.drafts.load(people[0]) == b"draft-0"
        await maintenance.rotate_key(settings, lambda _: None)
        new = read_key_file(settings.key_file)
        with caplog.at_level(logging.INFO, "peerdoor"):
            async with running.unit() as u:
                newcomer = await u.people.create(2000, T0)
                assert await u.drafts.load(people[1]) == b"draft-1"  # key not cached before
                await u.drafts.save(newcomer, b"fresh", T0)
        assert running.key_id == key_id_of(new)
        assert "key.reloaded" in caplog.text
    finally:
        await running.close()
    with raw(settings.database) as conn:
        (wrapped_under,) = conn.execute(
            "SELECT key_id FROM person_keys WHERE person_id = ?", (newcomer.id,)
        ).fetchone()
    assert wrapped_under == key_id_of(new), "nothing new is wrapped under the retired key"
    await readable(settings, new, people)


async def test_a_running_store_that_cannot_find_the_new_key_writes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = file_settings(tmp_path)
    old = KeyRing.generate()
    write_key_file(settings.key_file, old)
    await seeded(settings, old)
    env_settings = Settings(
        data_dir=settings.data_dir,
        master_key=encode_key(old),  # type: ignore[arg-type]
    )
    running = await Store.open(settings.database, KeyRing(old))
    bare = await Store.open(settings.database, KeyRing(old))
    running.reload_keys_with(maintenance.key_reloader(env_settings))
    try:
        shown: list[bytes] = []
        await maintenance.rotate_key(env_settings, shown.append)
        before = hashlib.sha256(settings.database.read_bytes()).digest()
        with caplog.at_level(logging.INFO, "peerdoor"):
            for store in (running, bare, running):
                with pytest.raises(MasterKeyChanged, match="restart it with the new master key"):
                    async with store.unit() as u:
                        await u.people.create(3000, T0)
        assert caplog.text.count("key.rotated_elsewhere") == 1  # said once, not per update
        assert hashlib.sha256(settings.database.read_bytes()).digest() == before
    finally:
        await running.close()
        await bare.close()
    store = await Store.open(settings.database, KeyRing(shown[0]))
    try:
        async with store.unit() as u:
            assert await u.people.find(3000) is None
    finally:
        await store.close()


async def test_rotate_with_the_key_in_the_environment(tmp_path: Path) -> None:
    settings = file_settings(tmp_path)
    old = KeyRing.generate()
    env = Settings(
        data_dir=settings.data_dir,
        key_file=settings.key_file,
        master_key=encode_key(old),  # type: ignore[arg-type]
    )
    people = await seeded(env, old)
    shown: list[bytes] = []

    def announce(new: bytes) -> None:
        # shown before the database depends on it
        assert master_key_id(env.database) == key_id_of(old)
        shown.append(new)

    done = await maintenance.rotate_key(env, announce)
    (new,) = shown
    assert (done.new_id, done.retired) == (key_id_of(new), None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"], "no file is written"
    await readable(env, new, people)


async def test_nothing_to_rotate_without_a_database(tmp_path: Path) -> None:
    settings = file_settings(tmp_path)
    write_key_file(settings.key_file, KeyRing.generate())
    with pytest.raises(SetupError, match="no database"):
        await maintenance.rotate_key(settings, lambda _: None)


async def test_wrong_key_at_start_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    settings = file_settings(tmp_path)
    right = KeyRing.generate()
    await seeded(settings, right)
    (tmp_path / "peerdoor.toml").write_text(example_config())
    files = [settings.database, Path(f"{settings.database}-wal")]
    before = [p.read_bytes() if p.exists() else None for p in files]
    wrong = encode_key(KeyRing.generate())
    for command in (["run"], ["audit", "verify"], ["purge"], ["rotate-key"]):
        result = peerdoor(
            tmp_path,
            *command,
            PEERDOOR_TELEGRAM_TOKEN="123:abc",
            PEERDOOR_MASTER_KEY=wrong,
        )
        one_line_exit_2(result, "master key does not match", "rotate-key")
    after = [p.read_bytes() if p.exists() else None for p in files]
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "peerdoor.toml"]
