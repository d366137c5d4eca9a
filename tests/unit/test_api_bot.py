"""ApiBot.call (bot/telegram/calls.py): a Bot API call answered as JSON, on PTB's own path."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden

from bot.telegram.calls import ApiBot, UpdatesRequest, api, slim
from bot.telegram.pacing import PrivateChatRateLimiter
from bot.telegram.render import markup
from conversations.prompts import Button
from sandbox.emulator import BotApiEmulator


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


class Recording(PrivateChatRateLimiter):
    """The shipped limiter, noting each request it is asked to let through."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, object]] = []

    async def process_request(self, callback: Any, args: Any, kwargs: dict[str, Any],
                              endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Any:  # fmt: skip
        self.seen.append((endpoint, data.get("chat_id")))
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )


async def test_calls_go_through_the_rate_limiter() -> None:
    """Every call asks the limiter first, with its chat (what the pacing is keyed on); the
    pacing itself is tested in test_pacing.py."""
    limiter = Recording()
    async with BotApiEmulator() as emu:
        await emu.user(1001, "Alice").send("hi")
        async with ApiBot(emu.token, base_url=emu.api_url, rate_limiter=limiter) as bot:
            sent = await bot.call("sendMessage", {"chat_id": 1001, "text": "one"})
            await bot.call(
                "editMessageText",
                {"chat_id": 1001, "message_id": sent["message_id"], "text": "two"},
            )
    assert ("sendMessage", 1001) in limiter.seen
    assert ("editMessageText", 1001) in limiter.seen
    assert emu.user(1001).bot_messages[-1].content == "two"


def test_only_the_bot_build_application_makes_is_accepted() -> None:
    with pytest.raises(TypeError, match="build_application"):
        api(Bot("123456:TEST-token"))
    bot = ApiBot("123456:TEST-token")
    assert api(bot) is bot


async def test_updates_come_with_only_the_id_date_and_chat_of_a_pressed_message() -> None:
    async with BotApiEmulator() as emu:
        alice = emu.user(1001, "Alice")
        await alice.send("hi")
        async with ApiBot(emu.token, base_url=emu.api_url) as bot:
            buttons = ((Button("Yes, go on", "y"),),)
            text = {"text": "<b>Ready?</b>", "parse_mode": "HTML", "reply_markup": markup(buttons)}
            await bot.call("sendMessage", {"chat_id": 1001} | text)
        await alice.press("Yes, go on")
        request = UpdatesRequest(connection_pool_size=1)
        async with ApiBot(emu.token, base_url=emu.api_url, get_updates_request=request) as bot:
            typed, pressed = await bot.get_updates(timeout=0)
    assert typed.message is not None and typed.message.text == "hi"  # a message: untouched
    query = pressed.callback_query
    assert query is not None and query.data == "y"
    message = query.message
    assert message is not None and message.is_accessible
    shown = alice.bot_messages[-1]
    assert message.message_id == shown.message_id
    assert pressed.effective_chat is not None and pressed.effective_chat.id == 1001
    assert message.text is None and message.reply_markup is None and not message.entities


def test_slim_keeps_the_id_date_and_chat_of_a_pressed_message_only() -> None:
    chat = {"id": 7, "type": "private"}
    keyboard = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    bold = [{"type": "bold", "offset": 0, "length": 6}]
    pressed = {"message_id": 3, "date": 5, "chat": chat, "text": "Health: HIV",
               "entities": bold, "reply_markup": keyboard}  # fmt: skip
    update = {"update_id": 1, "callback_query": {"id": "9", "data": "a", "message": pressed}}
    assert slim(update)["callback_query"] == {
        "id": "9", "data": "a", "message": {"message_id": 3, "date": 5, "chat": chat}
    }  # fmt: skip
    typed = {"update_id": 2, "message": {"message_id": 4, "date": 5, "chat": chat, "text": "x"}}
    assert slim(dict(typed)) == typed
