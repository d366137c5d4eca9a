"""Scripted people and groups: what end-to-end tests use to talk to the bot."""

from __future__ import annotations

import re
from typing import Any

from .chatview import ChatView, Press
from .chatview import wait_until as wait_until  # re-exported: tests import it from here
from .state import CallbackAnswer, CallbackQueryRecord, Chat, Document, StoredMessage, UserProfile
from .world import World

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,})?")


def command_entities(text: str) -> list[dict[str, Any]]:
    """A leading /command gets a bot_command entity, as Telegram adds it."""
    match = _COMMAND.match(text)
    if match is None:
        return []
    end = match.end()
    if end < len(text) and not text[end].isspace():
        return []
    return [{"type": "bot_command", "offset": 0, "length": end}]


def member_update(
    world: World, chat: Chat, actor: UserProfile, *, removed: bool, old_member: bool = True
) -> None:
    """Queue the my_chat_member update for the bot being blocked/removed or restored."""
    bot = world.bot.user.to_api()
    member = {"status": "member", "user": bot}
    gone = {"status": "kicked", "user": bot, "until_date": 0}
    if chat.type != "private" and not old_member:
        gone = {"status": "left", "user": bot}
    payload = {
        "chat": chat.to_api(),
        "from": actor.to_api(),
        "date": world.now(),
        "old_chat_member": member if removed else gone,
        "new_chat_member": gone if removed else member,
    }
    world.updates.push("my_chat_member", payload)


class ScriptedGroup(ChatView):
    """A group or supergroup the bot is a member of."""

    @property
    def title(self) -> str:
        return self.chat.title or ""

    def remove_bot(self, by: ScriptedUser) -> None:
        """An admin removes the bot: sends get 403 "bot was kicked from the ... chat"."""
        if not self.chat.blocked:
            self.chat.blocked = True
            member_update(self.world, self.chat, by.profile, removed=True)

    def add_bot(self, by: ScriptedUser) -> None:
        """The bot is added (back) to the group."""
        if self.chat.blocked:
            self.chat.blocked = False
            member_update(self.world, self.chat, by.profile, removed=False, old_member=False)


class ScriptedUser(ChatView):
    """A person with a private chat with the bot (chat id == user id)."""

    def __init__(self, world: World, profile: UserProfile, chat: Chat) -> None:
        super().__init__(world, chat)
        self.profile = profile
        self.presses: list[Press] = []

    @property
    def id(self) -> int:
        return self.profile.id

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """The bot's answers to this person's presses, in press order."""
        return [p.answer for p in self.presses if p.answer is not None]

    # -- sending ---------------------------------------------------------------------------

    def _chat_of(self, where: ScriptedGroup | None) -> Chat:
        if where is None:
            self.chat.exists = True
            self.unblock()  # a Telegram client unblocks the bot before writing to it
            return self.chat
        assert not where.chat.blocked, f"the bot is not in group {where.chat.id}"
        self.chat.seen_in_groups = True
        return where.chat

    def _post(self, where: ScriptedGroup | None, **fields: Any) -> StoredMessage:
        chat = self._chat_of(where)
        message = self.world.add_message(chat, self.profile, from_bot=False, **fields)
        self.world.updates.push("message", message.to_api())
        return message

    async def send(self, text: str, *, reply_to: StoredMessage | None = None) -> StoredMessage:
        """Send a text message to the bot (a leading /command gets its entity)."""
        return self._post(None, text=text, entities=command_entities(text), reply_to=reply_to)

    async def send_in(self, group: ScriptedGroup, text: str) -> StoredMessage:
        """Send a text message in a group."""
        return self._post(group, text=text, entities=command_entities(text))

    async def send_sticker(self, emoji: str = "👍") -> StoredMessage:
        file_id, unique_id = self.world.new_file_id("CAAC")
        sticker = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": emoji,
        }
        return self._post(None, extra={"sticker": sticker})

    async def send_photo(self, caption: str | None = None) -> StoredMessage:
        file_id, unique_id = self.world.new_file_id("AgAC")
        photo = [{"file_id": file_id, "file_unique_id": unique_id, "width": 90, "height": 90}]
        return self._post(None, caption=caption, extra={"photo": photo})

    async def send_document(
        self, filename: str, data: bytes, *, mime_type: str | None = None
    ) -> StoredMessage:
        """Upload a file to the bot (the bot can fetch it with getFile)."""
        file_id, unique_id = self.world.new_file_id()
        document = Document(file_id, unique_id, filename, mime_type, data)
        self.world.files[file_id] = document
        return self._post(None, document=document)

    async def send_raw(self, fields: dict[str, Any]) -> StoredMessage:
        """Send a message with arbitrary Bot API fields (location, contact, ...)."""
        return self._post(None, extra=dict(fields))

    async def edit_last(self, text: str) -> StoredMessage:
        """Edit this person's last message in the private chat: an edited_message update."""
        mine = [m for m in self.messages if not m.from_bot and m.text is not None]
        assert mine, f"{self.profile.first_name} has no text message to edit"
        message = mine[-1]
        message.edits.append(message.text)
        message.text, message.entities = text, command_entities(text)
        message.edit_date = self.world.now()
        self.world.updates.push("edited_message", message.to_api())
        return message

    # -- pressing buttons ------------------------------------------------------------------

    async def press(
        self,
        label: str,
        *,
        chat: ScriptedGroup | None = None,
        message: StoredMessage | int | None = None,
        contains: bool = False,
    ) -> Press:
        """Press the button labelled `label` on the newest bot message that has one."""
        view: ChatView = chat if chat is not None else self

        def fits(text: str) -> bool:
            return label in text if contains else text == label

        candidates = self._candidates(view, message)
        for candidate in reversed(candidates):
            for row in candidate.buttons:
                for button in row:
                    if fits(button.text) and button.data is not None:
                        return self._press(candidate, button.data)
        offered = [(m.message_id, m.button_texts) for m in candidates if m.buttons]
        raise AssertionError(
            f"{self.profile.first_name}: no button {label!r} in chat {view.chat.id}; "
            f"buttons on screen: {offered}\ntranscript:\n{view.transcript()}"
        )

    async def press_data(
        self,
        data: str,
        *,
        chat: ScriptedGroup | None = None,
        message: StoredMessage | int | None = None,
    ) -> Press:
        """Send a callback query with raw `data` (forged or stale buttons)."""
        view: ChatView = chat if chat is not None else self
        candidates = self._candidates(view, message)
        assert candidates, f"no bot message in chat {view.chat.id} to press on"
        return self._press(candidates[-1], data)

    def _candidates(self, view: ChatView, message: StoredMessage | int | None) -> list[Any]:
        if message is None:
            return view.bot_messages
        message_id = message if isinstance(message, int) else message.message_id
        found = self.world.find_message(view.chat, message_id)
        assert found is not None, f"message {message_id} is not in chat {view.chat.id}"
        return [found]

    def _press(self, message: StoredMessage, data: str) -> Press:
        query = CallbackQueryRecord(
            id=self.world.new_query_id(),
            user=self.profile,
            message=message,
            data=data,
            created_at=self.world.clock.now(),
        )
        self.world.callback_queries[query.id] = query
        payload = {
            "id": query.id,
            "from": self.profile.to_api(),
            "message": message.to_api(),
            "chat_instance": str(abs(message.chat.id) * 7 + 11),
            "data": data,
        }
        self.world.updates.push("callback_query", payload)
        press = Press(query, self.world)
        self.presses.append(press)
        return press

    # -- blocking --------------------------------------------------------------------------

    def block(self) -> None:
        """Block the bot: sends get 403 and a my_chat_member update arrives."""
        self._member_update(blocked=True)

    def unblock(self) -> None:
        """Unblock the bot (a my_chat_member update arrives)."""
        self._member_update(blocked=False)

    def _member_update(self, *, blocked: bool) -> None:
        if self.chat.blocked == blocked:
            return
        self.chat.blocked = blocked
        if self.chat.exists:
            member_update(self.world, self.chat, self.profile, removed=blocked)
