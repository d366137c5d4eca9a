"""The bot's own ExtBot: Bot API calls whose answers are used as the JSON they came in.

PTB turns the Message that every sendMessage and editMessageText returns into a tree of
TelegramObjects (the message, its chat, its sender, each button of its keyboard). The bot reads
one number of it, the message id, so that parsing was a tenth of the bot's CPU under load
(benchmarks/README.md, "Raw calls"). `ApiBot.call` makes the same request through the same path
(PTB's defaults, the rate limiter, the HTTP client and its errors) and returns the result as it
came. Only the adapter (bot.telegram) uses it; the requests are built from plain dicts
(`render.markup`), never from PTB's keyboard objects.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot
from telegram.ext import ExtBot

JSON = dict[str, Any]


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
