"""What the bot reads of Telegram's answers: Bot API calls answered as the JSON they came in, and
updates without the parts of a pressed message that nothing reads.

PTB turns the Message that every sendMessage and editMessageText returns into a tree of
TelegramObjects (the message, its chat, its sender, each button of its keyboard). The bot reads
one number of it, the message id, so that parsing was a tenth of the bot's CPU under load
(benchmarks/README.md, "Raw calls"). `ApiBot.call` makes the same request through the same path
(PTB's defaults, the rate limiter, the HTTP client and its errors) and returns the result as it
came. Only the adapter (bot.telegram) uses it; the requests are built from plain dicts
(`render.markup`), never from PTB's keyboard objects.

An update for a button press carries the whole pressed message: its text, entities and keyboard,
which PTB turns into objects too (a third of the update's parsing with an 8-button keyboard).
The bot reads the press's data and, of the pressed message, its id and chat (to edit it, and
PTB's `effective_chat`). `slim` keeps just those; `UpdatesRequest` (the getUpdates connection)
and the webhook apply it before PTB parses the update.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot
from telegram.ext import ExtBot

from bot.telegram.aiohttp_request import AiohttpRequest

JSON = dict[str, Any]

#: What the bot reads of a pressed message (`date` 0 marks one Telegram no longer shows).
PRESSED_KEPT = ("message_id", "date", "chat")


class ApiBot(ExtBot[Any]):
    """An ExtBot that can also make a call without building objects from its answer."""

    async def call(self, method: str, params: JSON) -> Any:
        """`method` (camelCase, as the Bot API names it) with `params`; the result as JSON.

        Raises what the typed methods raise (BadRequest, Forbidden, RetryAfter, …): both go
        through `_post`, where PTB drops None values, applies defaults and the rate limiter."""
        return await self._post(method, params)


def api(bot: Bot) -> ApiBot:
    """The application's bot as an ApiBot (build_application always makes one)."""
    if not isinstance(bot, ApiBot):
        raise TypeError(f"expected the bot built by build_application, got {type(bot).__name__}")
    return bot


def slim(update: JSON) -> JSON:
    """The update with only PRESSED_KEPT of a pressed message (in place; returned for ease)."""
    query = update.get("callback_query")
    if isinstance(query, dict):
        pressed = query.get("message")
        if isinstance(pressed, dict):
            query["message"] = {key: pressed[key] for key in PRESSED_KEPT if key in pressed}
    return update


class UpdatesRequest(AiohttpRequest):
    """The getUpdates connection: each update slimmed (`slim`) before PTB parses it."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSON:
        body: JSON = AiohttpRequest.parse_json_payload(payload)
        result = body.get("result")
        if isinstance(result, list):
            for update in result:
                if isinstance(update, dict):
                    slim(update)
        return body
