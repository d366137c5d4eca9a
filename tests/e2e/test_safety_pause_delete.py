"""/pause holds back every message from us; /delete tells the holder "withdrawn" only, and
reaches database backups taken before it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator
from storage import KeyRing, Store, UnknownPerson, keystore_path
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import HIV_PLAN, BotFiles, drained, in_process


@pytest.fixture
async def service(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator):
        yield files


async def test_pause_holds_messages_until_resumed(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    rae = emulator.user(5701, "Rae")
    reference = await refer(rae, HIV_PLAN, service.config())
    await group_notice(group, reference)
    await rae.send("/pause")
    await rae.wait_for(lambda m: m.text.startswith("Pause messages from us?"))
    await rae.press("For 1 day")
    await rae.wait_for(lambda m: "We will not send you anything until" in m.text)

    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    await cora.press("Claim", chat=group)
    await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Write to them")
    await cora.wait_for(lambda m: "Type your message" in m.text)
    await cora.send("Hello from the team")
    await cora.wait_for(lambda m: "Sent to" in m.text)
    await drained(emulator)
    assert not any(
        "picked up" in m.text or "Hello from the team" in m.text for m in rae.bot_messages
    ), "nothing may arrive while paused"
    with sqlite3.connect(service.database) as db:
        waiting = db.execute(
            "SELECT count(*) FROM outbox WHERE state = 'pending' AND kind IN ('news', "
            "'to_referrer')"
        ).fetchone()[0]
    assert waiting == 2

    await rae.send("/pause")
    await rae.wait_for(lambda m: "Messages are paused until" in m.text)
    await rae.press("Start messages again now")

    def arrived(text: str) -> bool:
        return any(text in m.text for m in rae.bot_messages)

    # the confirmation and the released messages may arrive in either order
    await emulator.wait_until(
        lambda: all(
            arrived(t)
            for t in (
                "Messages from us can arrive again",
                "picked up your form",
                "Hello from the team",
            )
        ),
        what="confirmation and released messages",
    )


async def test_delete_tells_the_holder_withdrawn_without_content(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    lou = emulator.user(5702, "Lou")
    reference = await refer(lou, HIV_PLAN, service.config())
    await group_notice(group, reference)
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    await cora.press("Claim", chat=group)
    await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await lou.send("/delete")
    await lou.wait_for(lambda m: m.text.startswith("Delete everything?"))
    await lou.press("Yes, delete everything")
    await lou.wait_for(lambda m: "Everything we held about you is deleted" in m.text)
    notice = await cora.wait_for(lambda m: "withdrawn" in m.text)
    assert reference in notice.text
    assert "Robin" not in notice.text
    store = await service.open_store()
    try:
        report = await store.verify_audit()
        async with store.unit() as uow:
            actions = [e.action for e in await uow.audit.entries(reference=reference)]
            assert await uow.referrals.by_reference(reference) is None
    finally:
        await store.close()
    assert report.ok
    assert "erased" in actions


async def test_delete_makes_a_backup_taken_before_unreadable_for_that_person_only(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """`peerdoor backup`, then /delete: the backup, opened with the master key and the erasure
    key store as they are after the erasure, reads everyone but the person who deleted."""
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    keystore = keystore_path(files.database)
    target = tmp_path / "backups" / "before-delete.db"
    target.parent.mkdir()
    async with in_process(files, emulator):
        group = emulator.group(GROUP_ID, "Coordinators")
        lou, kit = emulator.user(5711, "Lou"), emulator.user(5712, "Kit")
        lou_ref = await refer(lou, {**HIV_PLAN, "name": "Lou Canary"}, files.config())
        kit_ref = await refer(kit, {**HIV_PLAN, "name": "Kit Canary"}, files.config())
        await group_notice(group, kit_ref)
        store = await files.open_store()
        try:
            async with store.unit() as uow:
                found = await uow.people.find(5711)
                assert found is not None
                lou_id = found.id
        finally:
            await store.close()
        with sqlite3.connect(keystore) as conn:
            (secret,) = conn.execute(
                "SELECT secret FROM erasure_secrets WHERE person_id = ?", (lou_id,)
            ).fetchone()

        made = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot.ops.cli", "backup", str(target)],
            cwd=tmp_path,
            env=files.env(emulator),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert made.returncode == 0, made.stderr
        assert str(keystore) in made.stdout and "latest copy" in made.stdout
        assert sorted(p.name for p in target.parent.iterdir()) == [target.name], "no key store"

        await lou.send("/delete")
        await lou.wait_for(lambda m: m.text.startswith("Delete everything?"))
        await lou.press("Yes, delete everything")
        await lou.wait_for(lambda m: "Everything we held about you is deleted" in m.text)
        live = b"".join(
            p.read_bytes()
            for p in (keystore, Path(f"{keystore}-wal"), Path(f"{keystore}-shm"))
            if p.exists()
        )
        assert secret not in live, "the erasure secret is gone from the key store and its WAL"

    with sqlite3.connect(target) as conn:  # the backup still holds Lou's rows and wrapped key
        assert conn.execute(
            "SELECT count(*) FROM person_keys WHERE person_id = ?", (lou_id,)
        ).fetchone() == (1,)
    assert secret not in target.read_bytes()
    copy = await Store.open(target, KeyRing(files.key), keystore=keystore)
    try:
        async with copy.unit() as uow:
            assert await uow.people.find(5711) is None  # the key store no longer knows the id
            gone = await uow.referrals.by_reference(lou_ref)
            assert gone is not None, "the row is in the backup..."
            with pytest.raises(UnknownPerson):
                await uow.referrals.answers(gone)  # ...and cannot be read
            kept = await uow.referrals.by_reference(kit_ref)
            assert kept is not None
            assert json.loads(await uow.referrals.answers(kept))["name"] == "Kit Canary"
            kit_person = await uow.people.find(5712)
            assert kit_person is not None
            assert await uow.people.telegram_id(kit_person) == 5712
    finally:
        await copy.close()
