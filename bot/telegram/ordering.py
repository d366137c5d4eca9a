"""Updates from different people run concurrently; updates from one person run in order.

Fairness (issue #16, finding 5): an update waits for its person's turn *before* it takes one of
the shared slots. PTB's own semaphore is taken first (BaseUpdateProcessor.process_update), so
with it bounded, 300 texts from one person held all 256 slots while waiting for each other and
the next person's first update queued behind them. Here PTB's bound is only nominal; the real
one (``max_concurrent_updates``) is taken inside, once the person's earlier updates are done: a
person has at most one update in the slots, so one person's burst delays nobody else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

#: PTB's semaphore, taken before the person's lock: never the limit (see the module doc).
_NOMINAL = 1 << 30


class PerPersonUpdateProcessor(BaseUpdateProcessor):
    """One lock per chat (kept only while in use), so a person's answers apply in order; then
    one of ``max_concurrent_updates`` slots shared by everyone."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(_NOMINAL)
        if max_concurrent_updates < 1:
            raise ValueError("max_concurrent_updates must be a positive integer")
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _key(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return 0
