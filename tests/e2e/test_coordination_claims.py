"""Claiming a referral: one winner when two coordinators press at once, take-over, unassign."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator, ScriptedGroup, StoredMessage
from storage import Referral
from tests.e2e.coordination import COLE, CORA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import HIV_PLAN, BotFiles, drained, in_process

TAKEN = "Someone else claimed it first."
NOT_HELD = "You do not hold this referral. Take it over first."


@pytest.fixture
async def service(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator):
        yield files


async def referral(files: BotFiles, reference: str) -> tuple[Referral, list[str]]:
    """The referral as stored now, and its audit actions in order."""
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            found = await uow.referrals.by_reference(reference)
            actions = [e.action for e in await uow.audit.entries(reference=reference, limit=500)]
            assert found is not None
            return found, actions
    finally:
        await store.close()


async def person_id(files: BotFiles, telegram_id: int) -> str:
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            person = await uow.people.find(telegram_id)
            assert person is not None
            return person.id
    finally:
        await store.close()


def notices_of(group: ScriptedGroup, reference: str) -> list[StoredMessage]:
    return [m for m in group.bot_messages if reference in m.text]


def is_details(reference: str) -> object:
    return lambda m: m.text.startswith(f"Referral {reference}")


async def test_two_coordinators_press_claim_at_the_same_moment(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5501, "Robin")
    cora, cole = emulator.user(CORA, "Cora"), emulator.user(COLE, "Cole")
    await cora.send("/start")
    await cole.send("/start")
    reference = await refer(robin, HIV_PLAN, service.config())
    await group_notice(group, reference)
    notice = group.last_bot_message
    assert notice is not None

    # Both presses are queued before the bot's next getUpdates: no await in between yields.
    cora_press = await cora.press("Claim", chat=group, message=notice)
    cole_press = await cole.press("Claim", chat=group, message=notice)
    answers = {CORA: await cora_press.answered(), COLE: await cole_press.answered()}
    await emulator.wait_until(lambda: "claimed by" in notice.text, what="group edited")
    await drained(emulator)

    got_details = {
        who.id: [m for m in who.bot_messages if m.text.startswith(f"Referral {reference}")]
        for who in (cora, cole)
    }
    winners = [who for who, details in got_details.items() if details]
    assert len(winners) == 1, got_details
    winner = winners[0]
    loser = COLE if winner == CORA else CORA
    assert len(got_details[winner]) == 1
    assert got_details[winner][0].protect_content
    assert "Lawson Unit" in got_details[winner][0].text
    assert answers[loser].text == TAKEN
    assert answers[winner].text != TAKEN
    loser_texts = " ".join(m.text for m in emulator.user(loser).bot_messages)
    assert "Robin" not in loser_texts and "Lawson Unit" not in loser_texts

    winner_name = "Cora" if winner == CORA else "Cole"
    assert notice.text.count("claimed by") == 1
    assert f"claimed by {winner_name}" in notice.text
    assert not notice.buttons  # the Claim button is gone
    assert len(notices_of(group, reference)) == 1

    stored, actions = await referral(service, reference)
    assert stored.status == "claimed"
    assert stored.holder_id == await person_id(service, winner)
    assert actions.count("claim") == 1
    assert actions.count("refused:claim") == 1
    news = [m for m in robin.bot_messages if "picked up your form" in m.text]
    assert len(news) == 1


async def test_a_double_tap_on_claim_sends_the_details_once(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5502, "Robin")
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    reference = await refer(robin, HIV_PLAN, service.config())
    await group_notice(group, reference)
    notice = group.last_bot_message
    assert notice is not None

    first = await cora.press("Claim", chat=group, message=notice)
    second = await cora.press("Claim", chat=group, message=notice)
    await first.answered()
    await second.answered()
    await cora.wait_for(is_details(reference))  # type: ignore[arg-type]
    await drained(emulator)

    details = [m for m in cora.bot_messages if m.text.startswith(f"Referral {reference}")]
    assert len(details) == 1
    assert notice.text.count("claimed by Cora") == 1
    assert len([m for m in robin.bot_messages if "picked up your form" in m.text]) == 1
    _, actions = await referral(service, reference)
    assert actions.count("claim") == 1


async def test_take_over_then_unassign_puts_it_back_in_the_group(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5503, "Robin")
    cora, cole = emulator.user(CORA, "Cora"), emulator.user(COLE, "Cole")
    await cora.send("/start")
    await cole.send("/start")
    reference = await refer(robin, HIV_PLAN, service.config())
    await group_notice(group, reference)
    await cora.press("Claim", chat=group)
    await cora.wait_for(is_details(reference))  # type: ignore[arg-type]

    # Cole opens it: a summary without personal details, and a Take over button.
    await cole.send(f"/referral {reference}")
    summary = await cole.wait_for(lambda m: reference in m.text)
    assert "claimed by someone else" in summary.text
    assert "Robin" not in summary.text and "Lawson Unit" not in summary.text
    assert summary.button_texts == ["Take over"]
    await cole.press("Take over", message=summary)
    cole_details = await cole.wait_for(is_details(reference))  # type: ignore[arg-type]
    await emulator.wait_until(
        lambda: any(f"You hold {reference} now" in m.text for m in cole.bot_messages),
        what="take-over confirmed",
    )
    assert cole_details.protect_content
    assert "Lawson Unit" in cole_details.text

    stored, actions = await referral(service, reference)
    assert stored.holder_id == await person_id(service, COLE)
    assert actions[-1] == "take"

    # Cora's old buttons no longer work for her.
    cora_details = [m for m in cora.bot_messages if m.text.startswith(f"Referral {reference}")]
    stale = await cora.press("Contacted", message=cora_details[-1])
    assert (await stale.answered()).text == NOT_HELD
    stored, actions = await referral(service, reference)
    assert stored.status == "claimed"
    assert stored.contacted_at is None
    assert actions[-1] == "refused:contacted"

    before = len(notices_of(group, reference))
    await cole.press("Unassign", message=cole_details)
    await cole.wait_for(lambda m: f"{reference} is back in the queue" in m.text)
    stored, actions = await referral(service, reference)
    assert stored.holder_id is None
    assert stored.status == "submitted"
    assert actions[-1] == "unassign"

    # A fresh notice with a Claim button (the group gets at most one message every 3 s, as
    # Telegram allows 20 a minute); Cora claims it again from there.
    await group_notice(group, reference, timeout=10)
    assert len(notices_of(group, reference)) == before + 1
    await cora.press("Claim", chat=group)
    await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    stored, _ = await referral(service, reference)
    assert stored.holder_id == await person_id(service, CORA)
    # The referrer heard "picked up" once: a re-claim is not news.
    await drained(emulator)
    assert len([m for m in robin.bot_messages if "picked up your form" in m.text]) == 1
