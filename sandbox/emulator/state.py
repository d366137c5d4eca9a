"""What the emulated Telegram remembers: people, chats, messages, callback queries."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Button(NamedTuple):
    """An inline button as a person sees it: its label and its callback data (or URL)."""

    text: str
    data: str | None


@dataclass
class Document:
    """A file the bot sent (or a person sent): name, type and the bytes themselves."""

    file_id: str
    file_unique_id: str
    filename: str | None
    mime_type: str | None
    data: bytes

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.filename is not None:
            body["file_name"] = self.filename
        if self.mime_type is not None:
            body["mime_type"] = self.mime_type
        return body


@dataclass
class UserProfile:
    """A Telegram account (a person, or the bot itself)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "is_bot": self.is_bot,
            "first_name": self.first_name,
        }
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        return body


@dataclass
class Chat:
    """A private chat with a person, or a group the bot is in."""

    id: int
    type: str  # "private", "group" or "supergroup"
    title: str | None = None
    username: str | None = None
    person: UserProfile | None = None  # the other side of a private chat
    exists: bool = False  # a private chat exists once the person wrote to the bot
    blocked: bool = False  # the person blocked the bot, or the bot left/was removed
    seen_in_groups: bool = False  # the bot saw this person in a group
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    sent_by_bot: list[StoredMessage] = field(default_factory=list)  # in send order
    # What the person saw appear, in order: every message the bot sent, and a message again
    # each time an edit changed its text (a press answered by the next screen in its place).
    shown_by_bot: list[StoredMessage] = field(default_factory=list)
    chat_actions: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_message_id(self) -> int:
        return next(self._ids)

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.person is not None:
            body.update(
                {
                    k: v
                    for k, v in self.person.to_api().items()
                    if k in ("first_name", "last_name", "username")
                }
            )
        if self.title is not None:
            body["title"] = self.title
        if self.username is not None and self.person is None:
            body["username"] = self.username
        return body

    def live_messages(self) -> list[StoredMessage]:
        """Messages not deleted, oldest first."""
        return [m for m in self.messages.values() if not m.deleted]


@dataclass(eq=False)
class StoredMessage:
    """One message in a chat, as it currently stands (edits applied)."""

    message_id: int
    chat: Chat
    sender: UserProfile
    from_bot: bool
    date: int
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    document: Document | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # photo, sticker, ... as API dicts
    protect_content: bool = False
    disable_notification: bool = False
    parse_mode: str | None = None
    source_text: str | None = None  # text/caption as the bot sent it, before parsing
    reply_to: StoredMessage | None = None
    edit_date: int | None = None
    edits: list[str | None] = field(default_factory=list)  # earlier texts, oldest first
    deleted: bool = False
    params: dict[str, Any] = field(default_factory=dict)  # the request that created it

    @property
    def buttons(self) -> list[list[Button]]:
        """Inline keyboard rows as `Button(text, data)`; data is callback_data or url."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            [Button(b.get("text", ""), b.get("callback_data", b.get("url"))) for b in row]
            for row in rows
        ]

    @property
    def button_texts(self) -> list[str]:
        """All inline button labels, row by row."""
        return [b.text for row in self.buttons for b in row]

    @property
    def keyboard(self) -> list[list[str]]:
        """Reply-keyboard rows (the buttons under the input field), as label texts."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [[b if isinstance(b, str) else b.get("text", "") for b in row] for row in rows]

    @property
    def content(self) -> str:
        """Text, or caption, or an empty string: what a reader would read."""
        return self.text if self.text is not None else (self.caption or "")

    def to_api(self, *, with_reply: bool = True) -> dict[str, Any]:
        """The Bot API `Message` object."""
        body: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender.to_api(),
            "chat": self.chat.to_api(),
            "date": self.date,
        }
        if self.text is not None:
            body["text"] = self.text
            if self.entities:
                body["entities"] = self.entities
        if self.caption is not None:
            body["caption"] = self.caption
            if self.caption_entities:
                body["caption_entities"] = self.caption_entities
        if self.document is not None:
            body["document"] = self.document.to_api()
        body.update(self.extra)
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            body["reply_markup"] = self.reply_markup
        if self.protect_content:
            body["has_protected_content"] = True
        if self.edit_date is not None:
            body["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None and not self.reply_to.deleted:
            body["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        return body

    def __repr__(self) -> str:
        who = "bot" if self.from_bot else self.sender.first_name
        gone = " deleted" if self.deleted else ""
        return f"<Message {self.message_id} in {self.chat.id} by {who}{gone}: {self.content!r}>"


@dataclass
class CallbackAnswer:
    """What the bot answered to a button press."""

    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass
class CallbackQueryRecord:
    """A button press that the bot may answer once, while it is fresh."""

    id: str
    user: UserProfile
    message: StoredMessage
    data: str
    created_at: float
    answer: CallbackAnswer | None = None


@dataclass
class RecordedRequest:
    """One request the bot made, with the answer it got."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 0
    description: str | None = None
    fault: str | None = None  # set when an injected fault answered

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class TooManyRequests:
    """A 429 the emulator gave, for "no 429 happened" assertions."""

    method: str
    chat_id: int | str | None
    retry_after: int
    at: float
    injected: bool = False
    limit: str = ""  # which flood limit: "overall", "group" or "private chat" ("" if injected)
