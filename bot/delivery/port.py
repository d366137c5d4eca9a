"""What delivery needs from a messenger, in its own words: the port the Telegram adapter fills.

Delivery renders outbox rows into prompts and hands them to a ``Messenger``; it never imports
the Telegram library. The adapter (bot.telegram.messenger) sends them and turns Telegram's
failures into the exceptions below, which the delivery worker understands: blocked, try again
later, rejected, timed out, network. And the moment a request goes on the wire, for rows that
must never be sent twice: the worker sets an ``OnWire`` hook around its send (``sending``) and
the adapter calls it (``on_wire``) just before the first request leaves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from conversations.prompts import Prompt


@dataclass(frozen=True)
class Document:
    """A file sent with a prompt as its caption (a meeting's .ics)."""

    data: bytes
    filename: str


class Messenger(Protocol):
    async def send(
        self,
        chat_id: int,
        prompt: Prompt,
        *,
        protect: bool = False,
        silent: bool = False,
        document: Document | None = None,
    ) -> int:
        """Send one prompt (split when too long; with ``document``, as its caption) and return
        the id of the message carrying the buttons. ``protect``: no forwarding or saving;
        ``silent``: no notification sound. Raises the errors below."""
        ...


class SendFailed(Exception):
    """The messenger could not deliver; ``code`` is the short code kept on the outbox row."""

    code = "failed"


class Blocked(SendFailed):
    """The recipient blocked the bot (or never started it): sending again will not help."""

    code = "blocked"


class RetryLater(SendFailed):
    """Flood control: nothing may be sent for ``seconds``."""

    code = "flood"

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Rejected(SendFailed):
    """The request was refused as it stands (a bad chat, a bad message): never retried.
    ``reason`` is the messenger's short reason, which never quotes message content."""

    code = "rejected"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unreachable(SendFailed):
    """A network failure: worth trying again. ``timed_out``: the request may have arrived."""

    def __init__(self, code: str, *, timed_out: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.timed_out = timed_out


# -- the moment a request goes on the wire ----------------------------------------------------

Hook = Callable[[], Awaitable[None]]


@dataclass
class OnWire:
    """One send: the hook to run before its first request, and whether it ran."""

    hook: Hook
    ran: bool = False


_current: ContextVar[OnWire | None] = ContextVar("peerdoor_on_wire", default=None)


@contextlib.contextmanager
def sending(wire: OnWire | None) -> Iterator[None]:
    """Within this block, ``wire.hook`` is awaited once, right before the first request leaves
    (nothing happens with None)."""
    token = _current.set(wire)
    try:
        yield
    finally:
        _current.reset(token)


async def on_wire() -> None:
    """Called by the messenger right before a request leaves: runs the hook of the send in
    hand, the first time only."""
    wire = _current.get()
    if wire is not None and not wire.ran:
        wire.ran = True
        await wire.hook()


def current_wire() -> OnWire | None:
    """The hook of the send in hand, if any (for tests that play the messenger)."""
    return _current.get()
