"""The emulated Telegram: bot identity, people, chats, updates, and change notification."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .clock import Clock
from .errors import ApiError, bad_request
from .ratelimit import FloodControl, RateLimits
from .state import (
    CallbackQueryRecord,
    Chat,
    Document,
    RecordedRequest,
    StoredMessage,
    TooManyRequests,
    UserProfile,
)
from .updates import UpdateQueue


@dataclass
class Settings:
    """Behaviour switches that are not rate limits."""

    strict_html: bool = True  # reject a bare "&" (Telegram docs) rather than keep it
    callback_query_ttl: float = 60.0  # seconds a press can still be answered
    delete_window: float = 48 * 3600.0  # messages older than this can't be deleted
    bot_is_group_admin: bool = True  # may delete others' messages in groups


@dataclass
class BotProfile:
    """What getMe says, plus settings the bot stores on Telegram."""

    user: UserProfile
    commands: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    descriptions: dict[tuple[str, str], str] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    logged_out: bool = False


class World:
    """All state of the emulated Telegram, shared by the HTTP side and the scripting side."""

    def __init__(
        self,
        bot: UserProfile,
        *,
        clock: Clock,
        rate_limits: RateLimits,
        settings: Settings,
    ) -> None:
        self.bot = BotProfile(bot)
        self.clock = clock
        self.settings = settings
        self.flood = FloodControl(rate_limits, clock.now)
        self.users: dict[int, UserProfile] = {}
        self.chats: dict[int, Chat] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.files: dict[str, Document] = {}
        self.requests: list[RecordedRequest] = []
        self.too_many_requests: list[TooManyRequests] = []
        self.updates = UpdateQueue(self.notify)
        self._changed = asyncio.Event()
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)

    # -- change notification -------------------------------------------------------------

    def notify(self) -> None:
        """Wake everything waiting for a change (long polls, test waits)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_changed(self, within: float) -> bool:
        """Wait up to `within` seconds for the next change; False if none came."""
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), within)
        except TimeoutError:
            return False
        return True

    def now(self) -> int:
        return int(self.clock.now())

    # -- lookups -------------------------------------------------------------------------

    def chat_for_bot(self, chat_id: int | str, *, writing: bool = True) -> Chat:
        """The chat the bot addresses, or Telegram's error for an unknown/blocked one."""
        chat: Chat | None
        if isinstance(chat_id, str):
            name = chat_id.removeprefix("@").lower()
            chat = next(
                (c for c in self.chats.values() if (c.username or "").lower() == name), None
            )
        else:
            chat = self.chats.get(chat_id)
        if chat is not None and not chat.exists and chat.seen_in_groups:
            raise ApiError(403, errors.CANT_INITIATE)
        if chat is None or not chat.exists:
            raise bad_request(errors.CHAT_NOT_FOUND)
        if writing and chat.blocked:
            raise ApiError(403, _blocked_description(chat))
        return chat

    def new_file_id(self, prefix: str = "BQAC") -> tuple[str, str]:
        number = next(self._file_ids)
        return f"{prefix}emu{number:08d}", f"AgAD{number:06d}"

    def new_query_id(self) -> str:
        return str(4_200_000_000_000_000 + next(self._query_ids))

    # -- messages ------------------------------------------------------------------------

    def add_message(
        self, chat: Chat, sender: UserProfile, *, from_bot: bool, **fields: Any
    ) -> StoredMessage:
        message = StoredMessage(
            message_id=chat.next_message_id(),
            chat=chat,
            sender=sender,
            from_bot=from_bot,
            date=self.now(),
            **fields,
        )
        chat.messages[message.message_id] = message
        if from_bot:
            chat.sent_by_bot.append(message)
            chat.shown_by_bot.append(message)
        self.notify()
        return message

    def find_message(self, chat: Chat, message_id: int) -> StoredMessage | None:
        message = chat.messages.get(message_id)
        return None if message is None or message.deleted else message

    def all_bot_messages(self) -> list[StoredMessage]:
        return [m for chat in self.chats.values() for m in chat.sent_by_bot]

    def record_rate_limit(
        self,
        method: str,
        chat_id: int | str | None,
        retry_after: int,
        *,
        injected: bool,
        limit: str = "",
    ) -> None:
        self.too_many_requests.append(
            TooManyRequests(method, chat_id, retry_after, self.clock.now(), injected, limit)
        )

    def is_group(self, chat: Chat) -> bool:
        return chat.type != "private"

    def find_requests(self, method: str) -> list[RecordedRequest]:
        wanted = method.lower()
        return [r for r in self.requests if r.method.lower() == wanted]


def _blocked_description(chat: Chat) -> str:
    if chat.type == "private":
        return errors.BOT_BLOCKED
    if chat.type == "group":
        return errors.KICKED_FROM_GROUP
    return errors.KICKED_FROM_SUPERGROUP
