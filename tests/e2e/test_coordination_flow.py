"""From a sent form to a closed referral, through the coordinators' group and private chats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import HIV_PLAN, BotFiles, in_process


@pytest.fixture
async def service(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator):
        yield files


async def test_claim_work_and_close(service: BotFiles, emulator: BotApiEmulator) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5501, "Robin")
    reference = await refer(robin, HIV_PLAN, service.config())

    await group_notice(group, reference)
    notice = group.last_bot_message
    assert notice is not None
    assert "Robin" not in notice.text
    assert "Brighton" not in notice.text

    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")  # coordinators have a private chat with the bot
    await cora.press("Claim", chat=group)
    await emulator.wait_until(lambda: "claimed by Cora" in notice.text, what="group edited")
    details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    assert details.protect_content
    assert "Robin" in details.text
    assert "Lawson Unit" in details.text
    news = await robin.wait_for(lambda m: "picked up your form" in m.text)
    assert news.text.startswith("Hello, we have some news for you.")

    await cora.press("Contacted", message=details)
    await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)

    await cora.press("Write to them")
    await cora.wait_for(lambda m: "Type your message" in m.text)
    await cora.send("Hi Robin, this is the team. When suits you?")
    await cora.wait_for(lambda m: "Sent to the person" in m.text)
    relayed = await robin.wait_for(lambda m: "When suits you?" in m.text)
    assert relayed.text.startswith("You have a new message.")
    await robin.send("Tuesday evening is good")
    await robin.wait_for(lambda m: "passed your message on" in m.text)
    to_cora = await cora.wait_for(lambda m: "Tuesday evening is good" in m.text)
    assert to_cora.protect_content
    assert reference in to_cora.text

    await cora.send(f"/referral {reference}")
    again = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Defer", message=again)
    await cora.wait_for(lambda m: "which services" in m.text)
    await cora.press("Housing advice", contains=True)
    await emulator.wait_until(
        lambda: any(
            "☑ Housing advice" in t for t in (cora.last_bot_message or again).button_texts
        ),
        what="resource ticked",
    )
    await cora.press("Send and defer")
    deferred = await robin.wait_for(lambda m: "not a no" in m.text)
    assert "Housing advice" in deferred.text
    assert "0808 800 4444" in deferred.text
    await cora.wait_for(lambda m: f"{reference} is now deferred" in m.text)
    await cora.press("Close")
    await robin.wait_for(lambda m: "now closed" in m.text)
    await robin.send("/status")
    status = await robin.wait_for(lambda m: reference in m.text)
    assert "closed" in status.text

    store = await service.open_store()
    try:
        report = await store.verify_audit()
        async with store.unit() as uow:
            actions = [e.action for e in await uow.audit.entries(reference=reference)]
    finally:
        await store.close()
    assert report.ok, report
    assert actions[:3] == ["claim", "status:contacted", "message"]
    assert "status:closed" in actions
