"""What a use case answers with, and who it answers: plain data, no Telegram."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from conversations.prompts import Prompt

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class File:
    """A file to send after the messages (for example the person's own copy of their data)."""

    data: bytes
    filename: str
    caption: str = ""


@dataclass
class Reply:
    """What the router sends once the update's transaction committed: new messages, an edit
    of the pressed message, a short notice for the press, files."""

    prompts: list[Prompt] = field(default_factory=list)
    notice: str | None = None
    replace: Prompt | None = None
    keep_buttons: bool = False
    protect: bool = False  # personal data for a coordinator: Telegram blocks forwarding it
    clear_chat: bool = False  # quick exit: delete the messages of this conversation
    files: list[File] = field(default_factory=list)


@dataclass(frozen=True)
class Sender:
    """Who wrote, as Telegram told us. Kept in memory only."""

    telegram_id: int
    language_code: str | None
