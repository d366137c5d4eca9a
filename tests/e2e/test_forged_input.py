"""Forged buttons and odd commands: a kind answer, no crash, no line of their own in the log and
nothing of their text in the audit trail (which is stored as plaintext)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import CORA, refer, write_config
from tests.e2e.harness import HIV_PLAN, BotFiles, in_process

EXPIRED = "This button has expired. Please use the newest message."
NOT_A_COORDINATOR = "Sorry, this is only for the service's coordinators."
MALLORY = 7777  # a Telegram user with no role at all


@pytest.fixture
async def service(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator):
        yield files


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "update.failed" in r.getMessage()]


async def test_forged_page_numbers_get_a_kind_answer(
    service: BotFiles, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="peerdoor")
    robin = emulator.user(5611, "Robin")
    cora = emulator.user(CORA, "Cora")
    reference = await refer(robin, HIV_PLAN, service.config())
    await cora.send("/queue")
    first = await cora.wait_for(lambda m: reference in m.text)
    assert "page 1 of 1" in first.text

    # 50 digits overflowed SQLite's integers; "²" passes str.isdigit but not int().
    for data in ("q:all:" + "9" * 50, "q:all:²", "q:mine:" + "1" * 40, "q:any:0", "q:all:-1"):
        press = await cora.press_data(data, message=first)
        assert (await press.answered()).text == EXPIRED, data
    # A page past the end (a stale button after referrals were closed): the last page.
    far = await cora.press_data("q:all:999999", message=first)
    await far.answered()
    last = await cora.wait_for(lambda m: m.message_id > first.message_id)
    assert "page 1 of 1" in last.text and reference in last.text
    assert failures(caplog) == []


async def test_forged_values_write_no_log_line_and_no_audit_text(
    service: BotFiles, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    mallory = emulator.user(MALLORY, "Mallory")
    await mallory.send("/start")
    await mallory.wait_for(lambda m: True)
    injected = "x\n2026-12-02 CRITICAL peerdoor FORGEDLINE"  # no ":" (the separator)
    press = await mallory.press_data(f"r:{injected}:PD-AAAAAA")
    assert (await press.answered()).text == NOT_A_COORDINATOR
    await mallory.wait_for(lambda m: m.text == NOT_A_COORDINATOR)
    await mallory.send("/referral DIAGNOSEDTODAY")
    await mallory.wait_for(lambda m: m.text == NOT_A_COORDINATOR)

    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if "\n" in m] == []
    assert "casework.refused action=unknown" in messages
    assert "casework.refused action=view" in messages
    store = await service.open_store()
    try:
        async with store.unit() as uow:
            entries = await uow.audit.entries(limit=1000)
    finally:
        await store.close()
    refused = [(e.action, e.reference) for e in entries if e.action.startswith("refused:")]
    assert refused == [("refused:unknown", "PD-AAAAAA"), ("refused:view", None)]
    on_disk = service.raw_bytes()
    for text in (b"FORGEDLINE", b"DIAGNOSEDTODAY"):
        assert text not in on_disk
    assert failures(caplog) == []
