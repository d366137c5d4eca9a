"""Finding the handler of a Bot API method: importing the method modules registers them."""

from __future__ import annotations

from . import methods_bot, methods_messages  # noqa: F401  (their @api_method fills METHODS)
from .registry import METHODS, Handler


def find_method(name: str) -> Handler | None:
    return METHODS.get(name.lower())
