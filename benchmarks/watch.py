"""Per-chat, event-driven observation of what the bot sends to the emulator.

`ScriptedUser.wait_for` re-checks on the emulator's *global* change event, so with N people
waiting every request wakes all N of them: O(N) work per request, which makes the driver the
bottleneck long before the bot at N=1000. Here the emulator's request log is swapped for a list
that files each request under the chat it addresses and wakes only that chat's one waiter.

Timestamps are the emulator's own: `RecordedRequest.at` (emulator clock, taken when the
request reached the emulator, before it is carried out) and `emu.clock.now()` taken by a person
just before an update is queued. Both read the same monotonic clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sandbox.emulator import BotApiEmulator, RecordedRequest

T = TypeVar("T")

#: Requests that show the person something in their chat: the ones a "reply" is made of.
#: answerCallbackQuery only stops the button's spinner and sendChatAction shows "typing…".
VISIBLE_PREFIXES = ("send", "edit", "copy", "forward")
INVISIBLE = frozenset({"sendchataction"})


def is_visible(method: str) -> bool:
    lowered = method.lower()
    return lowered.startswith(VISIBLE_PREFIXES) and lowered not in INVISIBLE


@dataclass
class ChatLog:
    """The bot's requests addressed to one chat, and a wake-up for the one coroutine waiting."""

    requests: list[RecordedRequest] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def first_visible_since(self, start: float) -> RecordedRequest | None:
        return next((r for r in self.since(start) if is_visible(r.method)), None)

    def last_visible_since(self, start: float) -> RecordedRequest | None:
        visible = [r for r in self.since(start) if is_visible(r.method)]
        return visible[-1] if visible else None

    def since(self, start: float) -> list[RecordedRequest]:
        found: list[RecordedRequest] = []
        for record in reversed(self.requests):
            if record.at < start:
                break
            found.append(record)
        found.reverse()
        return found

    async def wait(self, condition: Callable[[], T | None], timeout: float) -> T:
        """Wait until `condition()` is truthy; TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while True:
                result = condition()
                if result:
                    return result
                self.changed.clear()
                await self.changed.wait()


class RequestLog(list[RecordedRequest]):
    """Drop-in for `World.requests`: still the full list, plus per-chat filing."""

    def __init__(self, emulator: BotApiEmulator, existing: list[RecordedRequest]) -> None:
        super().__init__(existing)
        self._emulator = emulator
        self.chats: dict[int, ChatLog] = {}
        self.total_by_method: dict[str, int] = {}

    def chat(self, chat_id: int) -> ChatLog:
        log = self.chats.get(chat_id)
        if log is None:
            log = self.chats[chat_id] = ChatLog()
        return log

    def append(self, record: RecordedRequest) -> None:
        super().append(record)
        self.total_by_method[record.method] = self.total_by_method.get(record.method, 0) + 1
        chat_id = self._chat_of(record.method, record.params)
        if chat_id is not None:
            log = self.chat(chat_id)
            log.requests.append(record)
            # The emulator carries the request out synchronously right after logging it, so
            # by the time the woken coroutine runs, the chat already shows the result.
            log.changed.set()

    def _chat_of(self, method: str, params: dict[str, Any]) -> int | None:
        raw = params.get("chat_id")
        if raw is None and method.lower() == "answercallbackquery":
            query = self._emulator.world.callback_queries.get(str(params.get("callback_query_id")))
            return query.user.id if query is not None else None
        try:
            return int(str(raw))
        except ValueError:
            return None


def install(emulator: BotApiEmulator) -> RequestLog:
    """Swap the emulator's request list for a `RequestLog` (idempotent)."""
    world = emulator.world
    if isinstance(world.requests, RequestLog):
        return world.requests
    log = RequestLog(emulator, world.requests)
    world.requests = log
    return log
