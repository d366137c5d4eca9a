"""The one router: each update is one write transaction, whatever it passes through."""

from __future__ import annotations

import logging
import re

import pytest

from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator

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
