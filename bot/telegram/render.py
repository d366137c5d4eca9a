"""Turning prompts into Telegram messages that fit Telegram's limits."""

from __future__ import annotations

import re
from typing import Any

from telegram.constants import MessageLimit

from conversations.prompts import Keyboard

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
_TOKEN = re.compile(r"<(/?)([a-z-]+)[^>]*>|&[#a-z0-9]+;|[^<&]", re.IGNORECASE | re.DOTALL)


def markup(buttons: Keyboard) -> dict[str, Any] | None:
    """The Bot API's InlineKeyboardMarkup for these buttons, as JSON (None: no keyboard)."""
    if not buttons:
        return None
    return {
        "inline_keyboard": [
            [{"text": b.label, "callback_data": b.data} for b in row] for row in buttons
        ]
    }


def split_html(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split Telegram HTML into chunks of at most `limit` characters.

    Prefers line breaks; never cuts inside a tag or an entity; closes tags open at a cut and
    reopens them in the next chunk. The raw length is never shorter than what Telegram counts
    after parsing entities, so raw length is a safe measure.
    """
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    open_tags: list[tuple[str, str]] = []  # (name, the opening tag as written)
    last_break = -1  # index in `current` just after the last newline, with its tag stack
    break_tags: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(text):
        piece = match.group(0)
        closing = "".join(f"</{name}>" for name, _ in reversed(open_tags))
        if len(current) + len(piece) + len(closing) > limit - 16:
            if last_break > 0:
                head, tail = current[:last_break], current[last_break:]
                chunks.append(head + "".join(f"</{n}>" for n, _ in reversed(break_tags)))
                current = "".join(t for _, t in break_tags) + tail
            else:
                chunks.append(current + closing)
                current = "".join(t for _, t in open_tags)
            last_break, break_tags = -1, []
        current += piece
        if match.group(2):
            name = match.group(2).lower()
            if match.group(1):
                if open_tags and open_tags[-1][0] == name:
                    open_tags.pop()
            else:
                open_tags.append((name, piece))
        elif piece == "\n":
            last_break, break_tags = len(current), list(open_tags)
    if current.strip():
        chunks.append(current)
    return [c.strip("\n") for c in chunks if c.strip()]
