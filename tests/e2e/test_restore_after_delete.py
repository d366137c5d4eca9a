"""The restore procedure (docs/run/restore.md), end to end, after someone used /delete.

`peerdoor backup` while the bot runs; the person deletes everything; the bot stops; the backup
file is put back as documented (the database's -wal and -shm removed, the copy at
data/peerdoor.db, the erasure key store kept); the bot starts. The deleted person's rows came
back with the copy, among them a check-in that falls due: deliveries still flow (a new
referral's group notice arrives), the deleted person's rows are gone, and when they write
again they are a new person.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import CHOICES_KEY, HIV_PLAN, BotFiles, consent, in_process

pytestmark = pytest.mark.slow

CHECKINS = {**HIV_PLAN, CHOICES_KEY: ["Short check-in messages"]}


def peerdoor(files: BotFiles, emulator: BotApiEmulator, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot.ops.cli", *args],
        cwd=files.root,
        env=files.env(emulator),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_the_restore_procedure_after_a_delete(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    # the first waiting check-in (7 days after a form is sent) is pending in the backup; the bot
    # is started again 8 days later (an injected clock): it is due
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    data = files.data_dir
    backup = tmp_path / "backups" / "peerdoor-before.db"
    backup.parent.mkdir()
    group = emulator.group(GROUP_ID, "Coordinators")
    ada, cy = emulator.user(7101, "Ada"), emulator.user(7102, "Cy")

    async with in_process(files, emulator):
        ada_ref = await refer(ada, CHECKINS, files.config())
        await group_notice(group, ada_ref)
        await asyncio.to_thread(peerdoor, files, emulator, "backup", str(backup))
        await ada.send("/delete")
        await ada.wait_for(lambda m: m.text.startswith("Delete everything?"))
        await ada.press("Yes, delete everything")
        await ada.wait_for(lambda m: "Everything we held about you is deleted" in m.text)
        with sqlite3.connect(files.database) as db:
            old_ids = {r[0] for r in db.execute("SELECT id FROM people")}
    before = len(ada.bot_messages)
    with sqlite3.connect(backup) as db:
        (due,) = db.execute(
            "SELECT due_at FROM outbox WHERE kind = 'checkin' AND state = 'pending'"
        ).fetchone()
        (ada_id,) = db.execute(
            "SELECT person_id FROM referrals WHERE reference = ?", (ada_ref,)
        ).fetchone()
    assert ada_id not in old_ids, "she is gone from the live database"

    # The restore, as documented: the bot is stopped (above); -wal and -shm go; the copy is put
    # at data/peerdoor.db; the erasure key store stays as it is.
    for leftover in ("peerdoor.db-wal", "peerdoor.db-shm"):
        (data / leftover).unlink(missing_ok=True)
    shutil.copyfile(backup, files.database)
    checked = await asyncio.to_thread(peerdoor, files, emulator, "check-config")
    assert "erasure: 1 people deleted before a restore are back" in checked, checked

    def later() -> datetime:
        return datetime.now(UTC) + timedelta(days=8)

    restarted = Runtime(
        files.settings(emulator), files.config(), files.key, emulator.token, later, 1
    )
    async with restarted as runtime:
        assert later() > datetime.fromisoformat(due), "her check-in is due"
        # a new referral's group notice is queued behind it
        cy_ref = await refer(cy, HIV_PLAN, files.config())
        await group_notice(group, cy_ref)  # deliveries flow

        async with runtime.store.unit() as uow:
            assert await uow.referrals.by_reference(ada_ref) is None, "her rows are removed"
            assert await uow.people.get(ada_id) is None
            assert await uow.people.find(7101) is None

        # She writes again: a new person, asked for consent as anyone new is.
        await consent(ada)
        async with runtime.store.unit() as uow:
            again = await uow.people.find(7101)
            assert again is not None and again.id != ada_id
            assert await uow.people.telegram_id(again) == 7101
        await runtime.worker.drain()
        now = later().isoformat(timespec="microseconds")
    assert not [m for m in ada.bot_messages[before:] if "checking in" in (m.text or "")]
    with sqlite3.connect(files.database) as db:
        stuck = db.execute(
            "SELECT kind, state FROM outbox WHERE state = 'parked'"
            " OR (state = 'pending' AND due_at <= ?)",
            (now,),
        ).fetchall()
    assert stuck == [], "nothing due is left behind, nothing parked"
