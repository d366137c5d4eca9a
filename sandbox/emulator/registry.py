"""The table of emulated Bot API methods (names are case-insensitive, as on Telegram), filled
by ``@api_method`` in methods_bot and methods_messages; looked up through bot_api.find_method."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .params import Params
from .world import World

Handler = Callable[[World, Params], Any]

METHODS: dict[str, Handler] = {}


def api_method(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for Bot API method `name`."""

    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = handler
        return handler

    return register
