"""Crash safety: the bot process dies at chosen points, each proven to have interrupted work in
flight, then restarts; nothing acknowledged is lost and nothing is done twice that may not be.

Each kill uses a crash point (storage/crashpoints.py): the process is started with
PEERDOOR_CRASH_AT=<point>, exits there at once (``os._exit``, like a SIGKILL: no clean-up), and
`BotProcess.crashed` proves it died at that point (its exit status and the point in its log).
The test then checks, on disk and in the chats, that the work the point sits in the middle of
was really half done, before restarting and checking the outcome:

- between commit and send: a sent form is committed, nobody has been told;
- mid-batch of the outbox, between send and mark: the second of four due group notices went
  out and is not marked (the first is sent and marked, two are not yet sent);
- mid-erasure: /delete committed, the erasure secret still `erasing`;
- mid-rotation: `rotate-key` re-wrapped the database, the key file not yet replaced.

A restore from a backup is an operator's file copy with the bot stopped (README), with no
process of ours to interrupt; it is covered by the restore tests, not here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.delivery.kinds import NOTICE
from bot.ops.keys import read_key_file, write_key_file
from sandbox.emulator import BotApiEmulator, ScriptedGroup, ScriptedUser
from storage import KeyRing, Store
from storage.crashpoints import CRASH_STATUS
from storage.crypto import key_id_of
from storage.keystore import keystore_path
from tests.e2e.coordination import GROUP_ID, write_config
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, BotProcess, consent, fill_form
from tests.e2e.resilience import held, integrity, missing_answers, outbox_notices

pytestmark = pytest.mark.slow

NO_LIMITS = {"PEERDOOR_RATE_LIMIT": "false"}


def references(person: ScriptedUser | ScriptedGroup) -> list[str]:
    """Every reference the bot showed in this chat, once per message."""
    return [r for m in person.chat.sent_by_bot for r in REFERENCE.findall(m.text or "")]


def service(tmp_path: Path, emulator: BotApiEmulator) -> tuple[BotFiles, BotProcess]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    return files, BotProcess(files, emulator)


async def stop_cleanly(bot: BotProcess) -> str:
    """SIGTERM: the delivery worker finishes what it has in hand; nothing is sent after."""
    assert await bot.stop() == 0, bot.log.read_text()[-3000:]
    log = bot.log.read_text(errors="replace")[bot.started_at :]
    assert "update.failed" not in log and "Traceback" not in log, log[-3000:]
    return log


async def test_killed_between_commit_and_send(tmp_path: Path) -> None:
    async with BotApiEmulator(rate_limits=False) as emulator:
        files, bot = service(tmp_path, emulator)
        programme = files.config().programme("hiv")
        assert programme is not None
        group = emulator.group(GROUP_ID, "Coordinators")
        robin = emulator.user(8001, "Robin")
        await bot.start(PEERDOOR_CRASH_AT="intake.submitted", **NO_LIMITS)
        await consent(robin)
        await fill_form(robin, programme, HIV_PLAN)
        await robin.press("Send my form")
        await bot.crashed("intake.submitted")

        # In flight: the referral and its group notice are on disk; nobody was told.
        store = await files.open_store()
        try:
            holding = await held(store, robin.id)
        finally:
            await store.close()
        assert len(holding.referrals) == 1 and holding.draft is None
        reference = holding.referrals[0][0]
        assert outbox_notices(files.database) == {reference: ["pending"]}
        assert references(robin) == [] and references(group) == []

        await bot.start(**NO_LIMITS)
        await group.wait_for(lambda m: reference in (m.text or ""), timeout=20)
        await robin.send("/start")
        await robin.wait_for(lambda m: reference in (m.text or ""))
        await stop_cleanly(bot)

    store = await files.open_store()
    try:
        holding = await held(store, robin.id)
    finally:
        await store.close()
    assert [r for r, _ in holding.referrals] == [reference]
    assert missing_answers(programme, holding, {**HIV_PLAN}) == []
    assert set(references(robin)) == {reference}
    assert references(group) == [reference]  # told once, and nothing is left to send
    assert outbox_notices(files.database) == {reference: ["sent"]}
    assert integrity(files.database) == "ok"


async def seed_referrals(files: BotFiles, count: int) -> list[str]:
    """`count` sent forms whose group notices are due, written while no bot runs (as the
    intake writes them: the referral and its notice in one transaction)."""
    now = datetime.now(UTC)
    store = await files.open_store()
    made = []
    try:
        for i in range(count):
            async with store.unit() as uow:
                person = await uow.people.create(8100 + i, now)
                answers = json.dumps({"name": f"Robin {i}"}).encode()
                referral = await uow.referrals.create(person, "hiv", answers, False, now)
                await uow.outbox.add(NOTICE, referral=referral, due_at=now, now=now)
                made.append(referral.reference)
    finally:
        await store.close()
    return made


async def test_killed_mid_batch_between_send_and_mark(tmp_path: Path) -> None:
    async with BotApiEmulator(rate_limits=False) as emulator:
        files, bot = service(tmp_path, emulator)
        files.data_dir.mkdir(parents=True, exist_ok=True)
        group = emulator.group(GROUP_ID, "Coordinators")
        made = await seed_referrals(files, 4)  # one batch: all four are due at start

        await bot.start(ready=False, PEERDOOR_CRASH_AT="delivery.sent:2", **NO_LIMITS)
        await bot.crashed("delivery.sent")

        # In flight: two notices went out; the first is marked, the second is not, the last
        # two were never sent.
        first, second = references(group)
        states = outbox_notices(files.database)
        assert states[first] == ["sent"] and states[second] == ["pending"], states
        assert sorted(s for r, s in states.items() if r not in (first, second)) == [
            ["pending"],
            ["pending"],
        ]

        await bot.start(**NO_LIMITS)
        await emulator.wait_until(
            lambda: set(references(group)) == set(made), timeout=20, what="every notice"
        )
        await stop_cleanly(bot)

    # Each notice once; the one sent but not marked when the process died, twice (notices
    # are harmless twice, README); every row sent, so nothing more will come.
    told = Counter(references(group))
    assert told == {r: 2 if r == second else 1 for r in made}, told
    assert outbox_notices(files.database) == {r: ["sent"] for r in made}


async def test_killed_mid_erasure(tmp_path: Path) -> None:
    async with BotApiEmulator(rate_limits=False) as emulator:
        files, bot = service(tmp_path, emulator)
        programme = files.config().programme("hiv")
        assert programme is not None
        robin, ada = emulator.user(8201, "Robin"), emulator.user(8202, "Ada")
        await bot.start(PEERDOOR_CRASH_AT="erasure.committed", **NO_LIMITS)
        for person in (robin, ada):
            await consent(person)
            await fill_form(person, programme, HIV_PLAN)
            await person.press("Send my form")
            await person.wait_for(lambda m: REFERENCE.search(m.text or "") is not None)
        store = await files.open_store()
        try:
            async with store.unit() as uow:
                found = await uow.people.find(robin.id)
                assert found is not None
                robin_key = found.id
        finally:
            await store.close()
        await robin.send("/delete")
        ask = await robin.wait_for(lambda m: "Yes, delete everything" in m.button_texts)
        await robin.press("Yes, delete everything", message=ask)
        await bot.crashed("erasure.committed")

        # In flight: Robin is gone from the database, his erasure secret not yet destroyed.
        assert secret_states(files) == {robin_key: "erasing", **others(files, robin_key)}
        assert "erasing" not in others(files, robin_key).values()

        await bot.start(**NO_LIMITS)
        await robin.send("/start")
        await robin.wait_for(lambda m: "Yes, I agree" in m.button_texts)  # a new person
        await ada.send("/start")
        await ada.wait_for(lambda m: REFERENCE.search(m.text or "") is not None)
        await stop_cleanly(bot)

    assert robin_key not in secret_states(files), "the erasure finished at the next start"
    store = await files.open_store()
    try:
        assert (await held(store, robin.id)).referrals == []
        assert len((await held(store, ada.id)).referrals) == 1
    finally:
        await store.close()


def secret_states(files: BotFiles) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(keystore_path(files.database))) as db:
        return dict(db.execute("SELECT person_id, state FROM erasure_secrets").fetchall())


def others(files: BotFiles, person_id: str) -> dict[str, str]:
    return {p: s for p, s in secret_states(files).items() if p != person_id}


async def test_killed_mid_rotation(tmp_path: Path) -> None:
    async with BotApiEmulator(rate_limits=False) as emulator:
        files, bot = service(tmp_path, emulator)
        files.data_dir.mkdir(parents=True, exist_ok=True)
        (reference,) = await seed_referrals(files, 1)
        key_file = files.root / "peerdoor.key"
        write_key_file(key_file, files.key)
        use_file = {"PEERDOOR_MASTER_KEY": "", "PEERDOOR_KEY_FILE": str(key_file)}
        old = files.key

        rotating = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot.ops.cli", "rotate-key"],
            cwd=files.root,
            env={
                **files.env(emulator),
                **use_file,
                "PEERDOOR_CRASH_AT": "rotation.rewrapped",
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert rotating.returncode == CRASH_STATUS, rotating.stderr
        assert "crash_point.hit point=rotation.rewrapped" in rotating.stderr

        # In flight: the database is under the new key; the key file still holds the old one.
        upcoming = key_file.with_name("peerdoor.key.next")
        new = read_key_file(upcoming)
        assert read_key_file(key_file) == old != new
        with contextlib.closing(sqlite3.connect(files.database)) as db:
            used = {r[0] for r in db.execute("SELECT key_id FROM person_keys")}
        assert used == {key_id_of(new)}

        # The next start finishes the rotation; everything reads under the new key.
        group = emulator.group(GROUP_ID, "Coordinators")  # there before the bot sends to it
        await bot.start(**use_file, **NO_LIMITS)
        await group.wait_for(lambda m: reference in (m.text or ""), timeout=20)
        log = await stop_cleanly(bot)
    assert "key.rotation_resuming" in log
    assert read_key_file(key_file) == new and not upcoming.exists()
    store = await Store.open(files.database, KeyRing(new))
    try:
        async with store.unit() as uow:
            referral = await uow.referrals.by_reference(reference)
            assert referral is not None
            assert json.loads(await uow.referrals.answers(referral)) == {"name": "Robin 0"}
    finally:
        await store.close()
