"""Reading a chat as a member sees it, and waiting for what the bot does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .state import CallbackAnswer, CallbackQueryRecord, Chat, StoredMessage
from .world import World

_TRANSCRIPT_LINES = 12


def transcript(world: World, chat: Chat, limit: int = _TRANSCRIPT_LINES) -> str:
    """The last messages of a chat, and the bot's recent failed requests to it, for errors."""
    lines = []
    for message in list(chat.messages.values())[-limit:]:
        who = "bot" if message.from_bot else message.sender.first_name
        flags = " [deleted]" if message.deleted else ""
        buttons = f" {message.button_texts}" if message.buttons else ""
        lines.append(f"  #{message.message_id} {who}{flags}: {message.content!r}{buttons}")
    failures = [
        f"  {r.method} -> {r.status} {r.description}"
        for r in world.requests
        if r.status not in (0, 200) and str(r.params.get("chat_id")) == str(chat.id)
    ][-5:]
    text = "\n".join(lines) or "  (no messages)"
    if failures:
        text += "\nfailed requests for this chat:\n" + "\n".join(failures)
    return text


async def wait_until(
    world: World,
    condition: Callable[[], Any],
    timeout: float,
    describe: Callable[[], str],
) -> Any:
    """Wait until `condition()` is truthy; AssertionError with `describe()` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(describe())
        await world.wait_changed(min(remaining, 0.05))


@dataclass
class Press:
    """A button press that was delivered to the bot as a callback query."""

    query: CallbackQueryRecord
    world: World

    @property
    def query_id(self) -> str:
        return self.query.id

    @property
    def data(self) -> str:
        return self.query.data

    @property
    def message(self) -> StoredMessage:
        return self.query.message

    @property
    def answer(self) -> CallbackAnswer | None:
        return self.query.answer

    async def answered(self, timeout: float = 5.0) -> CallbackAnswer:
        """Wait until the bot answered this press."""
        await wait_until(
            self.world,
            lambda: self.query.answer,
            timeout,
            lambda: (
                f"callback query {self.query.id} ({self.data!r}) was not answered "
                f"within {timeout}s"
            ),
        )
        assert self.query.answer is not None
        return self.query.answer


class ChatView:
    """Reading a chat the way a member sees it, and waiting for what the bot sends."""

    def __init__(self, world: World, chat: Chat) -> None:
        self.world = world
        self.chat = chat
        self._seen = 0  # how many of chat.shown_by_bot were consumed by next_message

    @property
    def chat_id(self) -> int:
        return self.chat.id

    @property
    def messages(self) -> list[StoredMessage]:
        """Messages currently in the chat (edits applied, deletions gone), oldest first."""
        return self.chat.live_messages()

    @property
    def bot_messages(self) -> list[StoredMessage]:
        return [m for m in self.messages if m.from_bot]

    @property
    def last_bot_message(self) -> StoredMessage | None:
        bot_messages = self.bot_messages
        return bot_messages[-1] if bot_messages else None

    @property
    def chat_actions(self) -> list[str]:
        return self.chat.chat_actions

    def transcript(self) -> str:
        return transcript(self.world, self.chat)

    def skip_sent(self) -> None:
        """Mark everything the bot showed so far as consumed."""
        self._seen = len(self.chat.shown_by_bot)

    async def next_message(self, timeout: float = 5.0) -> StoredMessage:
        """The next bot message in this chat not yet returned by next_message/wait_for: a new
        message, or one whose text an edit changed (a press answered in place)."""
        sent = self.chat.shown_by_bot
        await wait_until(
            self.world,
            lambda: len(sent) > self._seen,
            timeout,
            lambda: (
                f"no new bot message in chat {self.chat.id} within {timeout}s; "
                f"transcript:\n{self.transcript()}"
            ),
        )
        self._seen += 1
        return sent[self._seen - 1]

    async def wait_for(
        self,
        predicate: Callable[[StoredMessage], bool],
        timeout: float = 5.0,
    ) -> StoredMessage:
        """The first new bot message matching `predicate`; messages before it are consumed.
        A message whose text an edit changed counts as new again (see next_message)."""
        sent = self.chat.shown_by_bot

        def found() -> StoredMessage | None:
            while self._seen < len(sent):
                self._seen += 1
                if predicate(sent[self._seen - 1]):
                    return sent[self._seen - 1]
            return None

        return await wait_until(
            self.world,
            found,
            timeout,
            lambda: (
                f"no matching bot message in chat {self.chat.id} within {timeout}s; "
                f"transcript:\n{self.transcript()}"
            ),
        )

    async def expect_silence(self, within: float = 0.2) -> None:
        """Assert no unread bot message here (see next_message) after `within` seconds."""
        await asyncio.sleep(within)
        new = self.chat.shown_by_bot[self._seen :]
        assert not new, f"expected no bot message in chat {self.chat.id}, got {new}"
