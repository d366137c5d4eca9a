"""What the bot says: prompts with buttons, written as Telegram HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    """An inline button. `data` is short and never carries what a person said."""

    label: str
    data: str


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Prompt:
    """One message to send. `text` is Telegram HTML: every piece of outside text is escaped."""

    text: str
    buttons: Keyboard = field(default_factory=tuple)


def esc(text: str) -> str:
    """Escape text for Telegram's HTML parse mode."""
    return html.escape(text, quote=False)


def bold(text: str) -> str:
    return f"<b>{esc(text)}</b>"


def italic(text: str) -> str:
    return f"<i>{esc(text)}</i>"


def rows(buttons: list[Button], per_row: int) -> Keyboard:
    """Lay buttons out `per_row` to a row."""
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
