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
    of the pressed message, a short notice for the press, files.

    ``in_place``: the answer to a press moves the person on to a next screen, so the first
    prompt takes the pressed message's place (edited in, with its buttons) instead of an edit
    that only drops the old buttons plus a new message: one Telegram call, not two. Edits do
    not notify. Ignored without a press, with ``replace``, ``keep_buttons``, ``protect`` or
    ``clear_chat``."""

    prompts: list[Prompt] = field(default_factory=list)
    notice: str | None = None
    replace: Prompt | None = None
    keep_buttons: bool = False
    protect: bool = False  # personal data for a coordinator: Telegram blocks forwarding it
    clear_chat: bool = False  # quick exit: delete the messages of this conversation
    files: list[File] = field(default_factory=list)
    in_place: bool = False


@dataclass(frozen=True)
class Sender:
    """Who wrote, as Telegram told us. Kept in memory only."""

    telegram_id: int
    language_code: str | None
