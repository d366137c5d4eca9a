"""The queue of updates waiting for the bot, with getUpdates' offset semantics."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

# What an empty `allowed_updates` list means: everything but these three.
_OPT_IN_ONLY = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def update_kind(update: dict[str, Any]) -> str:
    """The update's type: "message", "callback_query", ..."""
    return next(key for key in update if key != "update_id")


class UpdateQueue:
    """Unconfirmed updates, oldest first; getUpdates' `offset` confirms and drops them."""

    def __init__(self, notify: Callable[[], None]) -> None:
        self._notify = notify
        self._ids = itertools.count(1)
        self.pending: list[dict[str, Any]] = []
        self.redeliveries: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []  # every update ever queued
        self.suppressed: list[dict[str, Any]] = []  # filtered out by allowed_updates
        self.allowed_updates: list[str] = []  # [] = Telegram's default selection
        self.delivered_up_to = 0  # highest update_id handed to the bot

    def allows(self, kind: str) -> bool:
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in _OPT_IN_ONLY

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (unless allowed_updates excludes its kind); returns it."""
        update = {"update_id": next(self._ids), kind: payload}
        self.history.append(update)
        if self.allows(kind):
            self.pending.append(update)
            self._notify()
        else:
            self.suppressed.append(update)
        return update

    def confirm(self, offset: int) -> None:
        """Forget updates older than `offset`; a negative offset keeps the last -offset."""
        before = len(self.pending)
        if offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        elif offset < 0:
            self.pending = self.pending[offset:]
        if len(self.pending) != before:
            self._notify()  # a wait for the bot to take its updates looks again now

    def take(self, limit: int) -> list[dict[str, Any]]:
        """What getUpdates answers now: redeliveries first, then pending updates."""
        batch = self.redeliveries[:limit]
        del self.redeliveries[:limit]
        batch += self.pending[: limit - len(batch)]
        for update in batch:
            self.delivered_up_to = max(self.delivered_up_to, update["update_id"])
        return batch

    def has_ready(self) -> bool:
        return bool(self.redeliveries or self.pending)

    def drop_pending(self) -> None:
        self.pending.clear()
        self.redeliveries.clear()

    def redeliver(self, update_id: int) -> dict[str, Any]:
        """Deliver the update with this id once more, with the same update_id."""
        for update in self.history:
            if update["update_id"] == update_id:
                self.redeliveries.append(update)
                self._notify()
                return update
        raise KeyError(f"no update with update_id {update_id}")

    def requeue_last(self, count: int = 1) -> list[dict[str, Any]]:
        """Deliver the last `count` updates once more (Telegram's at-least-once delivery)."""
        updates = self.history[-count:]
        self.redeliveries.extend(updates)
        self._notify()
        return updates
