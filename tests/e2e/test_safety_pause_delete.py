"""/pause holds back every message from us; /delete tells the holder "withdrawn" only."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.coordination import CORA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import HIV_PLAN, BotFiles, in_process
from tests.emulator import BotApiEmulator


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
    await emulator.settle(quiet=0.3)
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
