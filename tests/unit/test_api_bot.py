"""ApiBot.call (bot/telegram/calls.py): a Bot API call answered as JSON, on PTB's own path."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden

from bot.telegram.calls import ApiBot, api
from bot.telegram.pacing import PrivateChatRateLimiter
from bot.telegram.render import markup
from conversations.prompts import Button
from sandbox.emulator import BotApiEmulator, Bucket, RateLimits


async def test_a_call_is_answered_with_the_json_telegram_sent() -> None:
    async with BotApiEmulator() as emu:
        alice = emu.user(1001, "Alice")
        await alice.send("hi")
        async with ApiBot(emu.token, base_url=emu.api_url) as bot:
            buttons = ((Button("Yes", "y"), Button("No", "n")),)
            sent = await bot.call(
                "sendMessage",
                {"chat_id": 1001, "text": "<b>Ready?</b>", "parse_mode": "HTML",
                 "reply_markup": markup(buttons), "protect_content": None},
            )  # fmt: skip
            assert isinstance(sent, dict) and isinstance(sent["message_id"], int)
            assert sent["text"] == "Ready?"
            edited = await bot.call(
                "editMessageText",
                {"chat_id": 1001, "message_id": sent["message_id"], "text": "Thanks"},
            )
            assert edited["text"] == "Thanks" and "reply_markup" not in edited
        shown = alice.bot_messages[-1]
        assert shown.message_id == sent["message_id"] and shown.content == "Thanks"
        assert not shown.buttons  # an edit without reply_markup took the keyboard away
        first = emu.requests_for("sendMessage")[0]
        assert "protect_content" not in first.params  # None is left out, as PTB does


async def test_telegram_errors_come_as_ptb_errors() -> None:
    async with BotApiEmulator() as emu:
        await emu.user(1001, "Alice").send("hi")
        async with ApiBot(emu.token, base_url=emu.api_url) as bot:
            with pytest.raises(BadRequest, match="parse entities"):
                await bot.call(
                    "sendMessage", {"chat_id": 1001, "text": "<b>open", "parse_mode": "HTML"}
                )
            emu.user(1001).block()
            with pytest.raises(Forbidden):
                await bot.call("sendMessage", {"chat_id": 1001, "text": "hello"})


async def test_calls_go_through_the_rate_limiter() -> None:
    # one chat's bucket of 3 at Telegram's pace scaled 20x: unpaced, 8 at once would get 429s
    limits = RateLimits(overall=None, per_private_chat=Bucket(20.0, 3), count_edits=True)
    limiter = PrivateChatRateLimiter(private_burst=2, private_period=0.05, max_retries=0)
    async with BotApiEmulator(rate_limits=limits) as emu:
        await emu.user(1001, "Alice").send("hi")
        async with ApiBot(emu.token, base_url=emu.api_url, rate_limiter=limiter) as bot:
            await asyncio.gather(
                *(bot.call("sendMessage", {"chat_id": 1001, "text": f"m{i}"}) for i in range(8))
            )
        assert emu.too_many_requests == []
        assert len(emu.user(1001).bot_messages) == 8


def test_only_the_bot_build_application_makes_is_accepted() -> None:
    with pytest.raises(TypeError, match="build_application"):
        api(Bot("123456:TEST-token"))
    bot = ApiBot("123456:TEST-token")
    assert api(bot) is bot
