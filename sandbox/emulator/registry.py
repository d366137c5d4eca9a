"""The table of emulated Bot API methods (names are case-insensitive, as on Telegram)."""

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


def find_method(name: str) -> Handler | None:
    # Importing registers the handlers; done here so registry has no import cycle.
    from . import methods_bot, methods_messages  # noqa: F401

    return METHODS.get(name.lower())
