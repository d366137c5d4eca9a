"""Operator safety through the real bot: key rotation while it runs, online backup, daily purge."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.ops.keys import encode_key, read_key_file, write_key_file
from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator, ScriptedUser
from storage import KeyRing, Store, keystore_path
from storage.backup import master_key_id
from storage.crypto import key_id_of
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, BotProcess, consent, fill_form

pytestmark = pytest.mark.slow


def peerdoor(
    files: BotFiles, emulator: BotApiEmulator, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.ops.cli", *args],
        cwd=files.root,
        env={**files.env(emulator), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def submit(person: ScriptedUser, files: BotFiles) -> str:
    await consent(person)
    programme = files.config().programme("hiv")
    assert programme is not None
    await fill_form(person, programme, HIV_PLAN)
    await person.press("Send my form")
    sent = await person.wait_for(lambda m: REFERENCE.search(m.text) is not None)
    found = REFERENCE.search(sent.text)
    assert found is not None
    return found.group(0)


async def start_draft(person: ScriptedUser) -> None:
    """Consent and answer question 1: a draft on disk, waiting at question 2."""
    await consent(person)
    await person.press("Continue")
    await person.wait_for(lambda m: m.text.startswith("Question 1 of"))
    await person.send("Noor")
    await person.wait_for(lambda m: m.text.startswith("Question 2 of"))


async def test_rotate_key_while_the_bot_runs_then_restart(
    files: BotFiles, emulator: BotApiEmulator
) -> None:
    key_file = files.root / "peerdoor.key"
    write_key_file(key_file, files.key)
    use_file = {"PEERDOOR_MASTER_KEY": "", "PEERDOOR_KEY_FILE": str(key_file)}
    old = files.key
    bot = BotProcess(files, emulator)
    await bot.start(**use_file)
    try:
        reference = await submit(emulator.user(6101, "Ada"), files)
        noor = emulator.user(6102, "Noor")
        await start_draft(noor)

        rotated = await asyncio.to_thread(peerdoor, files, emulator, "rotate-key", **use_file)
        assert rotated.returncode == 0, rotated.stderr
        new = read_key_file(key_file)
        retired = files.root / f"peerdoor.key.retired-{key_id_of(old)}"
        assert read_key_file(retired) == old
        assert str(retired.name) in rotated.stdout
        assert "destroy" in rotated.stdout.lower() and "backups" in rotated.stdout.lower()

        # The running bot carries on: Noor answers the next question, someone new starts.
        await noor.press("Only through this chat")
        await noor.wait_for(lambda m: m.text.startswith("Question 3 of"))
        await start_draft(emulator.user(6103, "Cy"))
        assert b"key.reloaded" in bot.log.read_bytes()
    finally:
        assert await bot.stop() == 0, bot.log.read_text()

    with sqlite3.connect(files.database) as conn:
        used = {
            r[0]
            for r in conn.execute(
                "SELECT key_id FROM person_keys UNION SELECT key_id FROM secrets"
            )
        }
    assert used == {key_id_of(new)}, "nothing was wrapped under the old key after the rotation"

    # Restart with the new key file: Noor is where she was; everything reads.
    await bot.start(**use_file)
    try:
        await noor.send("/start")
        where = await noor.wait_for(lambda m: bool(m.buttons) and "Question 3 of" in m.text)
        assert "How old are you?" in where.text
    finally:
        assert await bot.stop() == 0, bot.log.read_text()
    store = await Store.open(files.database, KeyRing(new))
    try:
        async with store.unit() as uow:
            referral = await uow.referrals.by_reference(reference)
            assert referral is not None
            assert json.loads(await uow.referrals.answers(referral))["name"] == "Robin"
            person = await uow.people.find(6102)
            assert person is not None
            assert b"Noor" in (await uow.drafts.load(person) or b"")
        assert (await store.verify_audit()).ok
    finally:
        await store.close()

    # The old key alone is refused with one line and exit 2, and nothing is written.
    before = hashlib.sha256(files.database.read_bytes()).digest()
    refused = await asyncio.to_thread(
        peerdoor, files, emulator, "run", PEERDOOR_MASTER_KEY=encode_key(old)
    )
    assert refused.returncode == 2, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "master key does not match" in refused.stderr
    assert hashlib.sha256(files.database.read_bytes()).digest() == before
    wal = Path(f"{files.database}-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "no write went to the WAL either"


async def test_backup_while_the_bot_writes(files: BotFiles, emulator: BotApiEmulator) -> None:
    bot = BotProcess(files, emulator)
    await bot.start()
    target = files.root / "backups" / "peerdoor-backup.db"
    target.parent.mkdir()
    try:
        invited = await asyncio.to_thread(
            peerdoor, files, emulator, "invite", "coordinator", "--programme", "hiv"
        )
        assert invited.returncode == 0, invited.stderr  # an audit entry
        first = await submit(emulator.user(6201, "Ada"), files)
        writers = [
            asyncio.create_task(submit(emulator.user(6202 + i, f"P{i}"), files)) for i in range(3)
        ]
        await asyncio.sleep(0.5)  # the forms are being filled in while the copy is taken
        made = await asyncio.to_thread(peerdoor, files, emulator, "backup", str(target))
        later = await asyncio.gather(*writers)
    finally:
        assert await bot.stop() == 0, bot.log.read_text()
    assert made.returncode == 0, made.stderr
    assert str(target) in made.stdout and "bytes" in made.stdout
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    body = target.read_bytes()
    assert files.key not in body and encode_key(files.key).encode() not in body
    assert master_key_id(target) == key_id_of(files.key)
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

    # opened with the key material as it is now: the master key and the live erasure key store
    copy = await Store.open(target, KeyRing(files.key), keystore=keystore_path(files.database))
    try:
        assert (await copy.verify_audit()).ok
        async with copy.unit() as uow:
            referral = await uow.referrals.by_reference(first)
            assert referral is not None
            assert json.loads(await uow.referrals.answers(referral))["name"] == "Robin"
            for reference in later:  # each one is in the copy whole, or not at all
                found = await uow.referrals.by_reference(reference)
                if found is not None:
                    assert json.loads(await uow.referrals.answers(found))["name"] == "Robin"
    finally:
        await copy.close()

    opened = target.read_bytes()  # (opening it with Store.open switched it to WAL mode)
    again = await asyncio.to_thread(peerdoor, files, emulator, "backup", str(target))
    assert again.returncode == 2 and "never overwrites" in again.stderr
    assert target.read_bytes() == opened


async def test_the_daily_purge_job_and_the_purge_command(
    files: BotFiles, emulator: BotApiEmulator
) -> None:
    now = [datetime(2025, 6, 1, 12, 0, tzinfo=UTC)]
    settings = files.settings(emulator)
    runtime = Runtime(
        settings, files.config(), files.key, emulator.token, clock=lambda: now[0], poll_timeout=1
    )
    async with runtime:
        (job,) = runtime.app.job_queue.get_jobs_by_name("retention_purge")  # type: ignore[union-attr]
        assert job.job.trigger.interval == timedelta(days=1)
        old, fresh = emulator.user(6301, "Old"), emulator.user(6302, "Fresh")
        await start_draft(old)
        now[0] += timedelta(days=20)
        await start_draft(fresh)
        now[0] += timedelta(days=11)  # old: 31 days untouched (hiv keeps drafts 30), fresh: 11
        await job.run(runtime.app)
        async with runtime.store.unit() as uow:
            assert await uow.people.find(6301) is None, "erased entirely: nothing else held"
            kept = await uow.people.find(6302)
            assert kept is not None and await uow.drafts.load(kept) is not None
            (entry,) = [e for e in await uow.audit.entries() if e.action == "retention_purge"]
            assert entry.detail == "drafts=1 referrals=0 people=1"
        # Old comes back: nothing is held, so the bot starts afresh.
        await old.send("/start")
        await old.wait_for(
            lambda m: any((b.data or "").startswith("c:y:") for r in m.buttons for b in r)
        )

    # `peerdoor purge` does the same from the command line (real clock) and prints counts.
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            kept = await uow.people.find(6302)
            assert kept is not None
            state = await uow.drafts.load(kept)
            assert state is not None
            await uow.drafts.save(kept, state, datetime.now(UTC) - timedelta(days=31))
    finally:
        await store.close()
    purged = await asyncio.to_thread(peerdoor, files, emulator, "purge")
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.startswith("purged: 1 unfinished forms, 0 closed referrals, 1 people")
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            assert await uow.people.find(6302) is None
    finally:
        await store.close()
