"""The one router: each update is one write transaction, whatever it passes through."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import BotFiles, drain, in_process

APPLIED = re.compile(r"update\.applied route=(\w+) transactions=(\d+)")


def applied(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int]]:
    found = [APPLIED.search(r.getMessage()) for r in caplog.records]
    return [(m.group(1), int(m.group(2))) for m in found if m]


async def draft_of(bot: Runtime, telegram_id: int) -> bytes:
    async with bot.store.unit() as uow:
        person = await uow.people.find(telegram_id)
        assert person is not None
        raw = await uow.drafts.load(person)
    assert raw is not None
    return raw


async def test_a_press_a_typed_answer_and_a_command_each_make_one_write_transaction(
    bot: Runtime, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="peerdoor.router")
    robin = emulator.user(5101, "Robin", language_code="en")
    await robin.send("/start hiv")
    await robin.next_message()  # the welcome and the privacy notice, one message
    await robin.press("Yes, I agree")  # consent: the person and their draft are created
    first = await robin.next_message()
    assert first.text.startswith("Good to know"), first.text
    await robin.press("Continue")  # a press on the form
    name = await robin.wait_for(lambda m: "call you" in m.text)
    await robin.send("Robin")  # a typed answer
    await robin.wait_for(lambda m: m.message_id > name.message_id)
    await robin.send("/privacy")  # a command that reads and answers
    await robin.wait_for(lambda m: "check-ins" in m.text.lower())
    await robin.send("/back")  # a command the form applies
    await robin.wait_for(lambda m: "call you" in m.text)

    routes = applied(caplog)
    assert [route for route, _ in routes] == [
        "start",
        "press",
        "press",
        "typed",
        "privacy",
        "command",
    ]
    assert all(count == 1 for _, count in routes), routes


async def test_an_update_delivered_twice_is_applied_once(
    bot: Runtime, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="peerdoor.router")
    sam = emulator.user(5102, "Sam", language_code="en")
    await sam.send("/start hiv")
    await sam.next_message()  # the welcome and the privacy notice, one message
    await sam.press("Yes, I agree")
    await sam.next_message()
    await sam.press("Continue")
    name = await sam.wait_for(lambda m: "call you" in m.text)
    await sam.send("Sam")
    after = await sam.wait_for(lambda m: m.message_id > name.message_id)
    before = await draft_of(bot, 5102)
    emulator.requeue_last(1)  # Telegram sends the typed answer again
    await sam.wait_for(lambda m: m.text.startswith("Welcome back"))
    again = await sam.next_message()
    assert again.text == after.text  # shown where they are, nothing applied twice
    assert await draft_of(bot, 5102) == before
    counts = [count for _, count in applied(caplog)]
    assert len(counts) == 5 and set(counts) == {1}, counts


async def test_a_coordinators_claim_and_typed_note_each_make_one_write_transaction(
    tmp_path: Path, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    person = emulator.user(5103, "Pat")
    cora = emulator.user(CORA, "Cora")
    async with in_process(files, emulator) as bot:
        await cora.send("/start")  # a private chat with the bot, for the details
        reference = await refer(person, None, files.config())
        await group_notice(group, reference)
        caplog.clear()
        caplog.set_level(logging.DEBUG, logger="peerdoor.router")
        await cora.press("Claim", chat=group)  # a coordinator's press
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        await cora.press("Add a note", message=details)
        await cora.wait_for(lambda m: "Type the note" in m.text)
        await cora.send("Called, will ring back")  # a coordinator's typed note
        await cora.wait_for(lambda m: "Note added" in m.text)
        routes = applied(caplog)
        async with bot.store.unit() as uow:
            referral = await uow.referrals.by_reference(reference)
            assert referral is not None
            entries = await uow.thread.list(referral)
    assert [route for route, _ in routes] == ["press", "press", "typed"], routes
    assert all(count == 1 for _, count in routes), routes
    assert [e.kind for e in entries] == ["note"]


async def test_a_coordinators_press_delivered_twice_is_applied_once(
    tmp_path: Path, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    person = emulator.user(5104, "Pat")
    cora = emulator.user(CORA, "Cora")
    async with in_process(files, emulator) as bot:
        await cora.send("/start")  # a private chat with the bot, for the details
        reference = await refer(person, None, files.config())
        await group_notice(group, reference)
        await cora.press("Claim", chat=group)
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        await cora.press("Add a note", message=details)
        asked = await cora.wait_for(lambda m: "Type the note" in m.text)
        await cora.send("Left a voicemail")
        added = await cora.wait_for(lambda m: "Note added" in m.text)
        emulator.requeue_last(1)  # Telegram sends the typed note again
        await drain(bot, emulator)
        async with bot.store.unit() as uow:
            referral = await uow.referrals.by_reference(reference)
            assert referral is not None
            entries = await uow.thread.list(referral)
    assert [e.kind for e in entries] == ["note"]  # kept once
    later_ones = [m for m in cora.bot_messages if m.message_id > added.message_id]
    assert later_ones == [], [m.text for m in later_ones]
    assert asked.message_id < added.message_id
