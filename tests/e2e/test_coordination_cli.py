"""The operator's commands: `peerdoor audit verify` against an intact and a tampered trail, and
`peerdoor invite coordinator` codes redeemed with /join."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import (
    CORA,
    DIABETES_GROUP_ID,
    GROUP_ID,
    group_notice,
    refer,
    write_config,
)
from tests.e2e.harness import HIV_PLAN, ROOT, BotFiles, drained, in_process


async def peerdoor(
    files: BotFiles, emulator: BotApiEmulator, *args: str, **env: str
) -> tuple[int | None, str, str]:
    """Run `peerdoor ARGS` as the operator would; returns (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.ops.cli",
        *args,
        env={**files.env(emulator), **env},
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode, out.decode(), err.decode()


async def test_audit_verify_then_tampering_is_named(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5901, "Robin")
    cora = emulator.user(CORA, "Cora")
    async with in_process(files, emulator):
        await cora.send("/start")
        reference = await refer(robin, HIV_PLAN, files.config())
        await group_notice(group, reference)
        await cora.press("Claim", chat=group)
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        await cora.press("Contacted", message=details)
        await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)
        await cora.press("Close")
        await cora.wait_for(lambda m: f"{reference} is now closed" in m.text)
        await drained(emulator)

        code, out, err = await peerdoor(files, emulator, "audit", "verify")  # while running
        assert (code, err) == (0, ""), err
        assert re.fullmatch(r"audit trail intact: \d+ entries\n", out), out

    with contextlib.closing(sqlite3.connect(files.database)) as db:
        rows = db.execute(
            "SELECT seq, action FROM audit_log WHERE reference = ? ORDER BY seq", (reference,)
        ).fetchall()
    assert [a for _, a in rows][:3] == ["claim", "status:contacted", "status:closed"]
    claim_seq, contacted_seq = rows[0][0], rows[1][0]

    # A copy with an entry deleted, as someone covering their tracks would.
    copy = tmp_path / "copy"
    shutil.copytree(files.data_dir, copy)
    with contextlib.closing(sqlite3.connect(copy / "peerdoor.db")) as db:
        db.execute("DROP TRIGGER audit_log_no_delete")
        db.execute("DELETE FROM audit_log WHERE seq = ?", (contacted_seq,))
        db.commit()
    code, out, err = await peerdoor(
        files, emulator, "audit", "verify", PEERDOOR_DATA_DIR=str(copy)
    )
    assert code == 1, (out, err)
    assert f"BROKEN at entry {contacted_seq}" in err
    assert f"entry {contacted_seq} is missing" in err

    # The original, with an entry rewritten: who claimed it, or what they did.
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("UPDATE audit_log SET action = 'refused:claim' WHERE seq = ?", (claim_seq,))
        db.commit()
    code, out, err = await peerdoor(files, emulator, "audit", "verify")
    assert code == 1, (out, err)
    assert f"audit trail BROKEN at entry {claim_seq}: entry {claim_seq} does not match" in err
    assert "intact" not in out


@pytest.fixture
async def service(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator):
        yield files


async def test_an_invite_makes_a_coordinator_of_one_programme_once(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    emulator.group(DIABETES_GROUP_ID, "Diabetes coordinators")
    robin = emulator.user(5902, "Robin")
    reference = await refer(robin, HIV_PLAN, service.config())
    await group_notice(group, reference)

    code, out, err = await peerdoor(
        service, emulator, "invite", "coordinator", "--programme", "diabetes"
    )
    assert code == 0, err
    match = re.search(r"/join (\S+)", out)
    assert match is not None, out
    invite = match.group(1)
    assert "coordinator of diabetes" in out

    dana = emulator.user(7301, "Dana")
    await dana.send("/queue")  # before: nobody
    assert (await dana.wait_for(lambda m: True)).text == (
        "Sorry, this is only for the service's coordinators."
    )
    await dana.send(f"/join {invite}")
    welcome = await dana.wait_for(lambda m: True)
    assert welcome.text.startswith("Welcome. You are now a coordinator for")
    assert "Side by Side" not in welcome.text  # the HIV programme's name

    await dana.send("/queue")
    queue = await dana.wait_for(lambda m: True)
    assert queue.text == "Open referrals: none."  # diabetes has none; HIV is not shown
    await dana.send(f"/referral {reference}")
    refused = await dana.wait_for(lambda m: True)
    assert refused.text == f"No referral {reference} in your programmes."
    claim = await dana.press_data(f"r:claim:{reference}", chat=group)
    await claim.answered()

    # The code works once: not again for Dana, not for anyone else.
    eve = emulator.user(7302, "Eve")
    await eve.send(f"/join {invite}")
    assert (await eve.wait_for(lambda m: True)).text.startswith("That code does not work")
    await eve.send("/queue")
    assert (await eve.wait_for(lambda m: True)).text == (
        "Sorry, this is only for the service's coordinators."
    )
    await dana.send(f"/join {invite}")
    assert (await dana.wait_for(lambda m: True)).text.startswith("That code does not work")
    await dana.send("/join NOT-A-CODE")
    assert (await dana.wait_for(lambda m: True)).text.startswith("That code does not work")

    store = await service.open_store()
    try:
        async with store.unit() as uow:
            referral = await uow.referrals.by_reference(reference)
            dana_person = await uow.people.find(7301)
            eve_person = await uow.people.find(7302)
            assert dana_person is not None
            assert await uow.roles.has(dana_person, "coordinator", "diabetes")
            assert not await uow.roles.has(dana_person, "coordinator", "hiv")
            actions = [e.action for e in await uow.audit.entries(limit=500)]
    finally:
        await store.close()
    assert referral is not None and referral.holder_id is None
    assert eve_person is None  # a refused code leaves nothing behind
    assert actions.count("invite:coordinator") == 1
    assert actions.count("join:coordinator") == 1
    # Eve's refusal and Dana's first; Dana's second the same day is not written again.
    assert actions.count("join_refused") == 2
    assert "refused:claim" in actions and "refused:view" in actions
