"""Bot API methods that send, change or remove messages, and answer button presses."""

from __future__ import annotations

from typing import Any

from . import errors
from .errors import ApiError, bad_request
from .formatting import format_text, reply_markup
from .params import Params
from .registry import api_method
from .state import CallbackAnswer, Chat, Document, StoredMessage
from .world import World

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


def _target(world: World, params: Params) -> Chat:
    """The chat to send to, after Telegram's flood check."""
    chat = world.chat_for_bot(params.chat_id())
    world.flood.check(chat.id, world.is_group(chat))
    return chat


def _reply_target(world: World, chat: Chat, params: Params) -> StoredMessage | None:
    reply = params.get_json("reply_parameters") or {}
    message_id = reply.get("message_id") if isinstance(reply, dict) else None
    if message_id is None:
        message_id = params.get_int("reply_to_message_id")
    if message_id is None:
        return None
    target = world.find_message(chat, int(message_id))
    allow_missing = bool(reply.get("allow_sending_without_reply")) or params.get_bool(
        "allow_sending_without_reply"
    )
    if target is None and not allow_missing:
        raise bad_request("Bad Request: message to be replied not found")
    return target


def _send(world: World, chat: Chat, params: Params, **fields: Any) -> dict[str, Any]:
    message = world.add_message(
        chat,
        world.bot.user,
        from_bot=True,
        protect_content=params.get_bool("protect_content"),
        disable_notification=params.get_bool("disable_notification"),
        parse_mode=params.get_str("parse_mode"),
        reply_to=_reply_target(world, chat, params),
        params=params.plain(),
        **fields,
    )
    world.flood.record(chat.id)
    return message.to_api()


@api_method("sendMessage")
def send_message(world: World, params: Params) -> Any:
    chat = _target(world, params)
    text, entities = format_text(params, "text", strict_html=world.settings.strict_html)
    markup = reply_markup(params)
    return _send(
        world,
        chat,
        params,
        text=text,
        entities=entities,
        reply_markup=markup,
        source_text=params.get_str("text"),
    )


def _input_document(world: World, params: Params, field: str) -> Document:
    upload = params.files.get(field)
    reference = params.get_str(field)
    if upload is None and reference and reference.startswith("attach://"):
        upload = params.files.get(reference.removeprefix("attach://"))
    if upload is not None:
        file_id, unique_id = world.new_file_id()
        return Document(file_id, unique_id, upload.filename, upload.content_type, upload.data)
    if not reference:
        raise bad_request(f"Bad Request: there is no {field} in the request")
    if reference in world.files:
        return world.files[reference]
    if reference.startswith(("http://", "https://")):
        file_id, unique_id = world.new_file_id()
        name = reference.rsplit("/", 1)[-1] or None
        return Document(file_id, unique_id, name, None, b"")
    raise bad_request(errors.WRONG_FILE_ID)


@api_method("sendDocument")
def send_document(world: World, params: Params) -> Any:
    chat = _target(world, params)
    document = _input_document(world, params, "document")
    caption, entities = format_text(
        params, "caption", strict_html=world.settings.strict_html, caption=True
    )
    markup = reply_markup(params)
    world.files[document.file_id] = document
    return _send(
        world,
        chat,
        params,
        document=document,
        caption=caption,
        caption_entities=entities,
        reply_markup=markup,
        source_text=params.get_str("caption"),
    )


@api_method("sendChatAction")
def send_chat_action(world: World, params: Params) -> Any:
    chat = world.chat_for_bot(params.chat_id())
    action = params.get_str("action") or ""
    if action not in _CHAT_ACTIONS:
        raise bad_request("Bad Request: wrong parameter action in request")
    chat.chat_actions.append(action)
    return True


def _editable(world: World, params: Params) -> StoredMessage:
    if params.get_str("inline_message_id"):
        raise bad_request("Bad Request: MESSAGE_ID_INVALID")
    chat = world.chat_for_bot(params.chat_id())
    message = world.find_message(chat, params.require_int("message_id"))
    if message is None:
        raise bad_request(errors.MESSAGE_TO_EDIT_NOT_FOUND)
    if not message.from_bot:
        raise bad_request(errors.MESSAGE_CANT_BE_EDITED)
    return message


def _apply_edit(world: World, message: StoredMessage, params: Params, **fields: Any) -> Any:
    unchanged = all(getattr(message, key) == value for key, value in fields.items())
    if unchanged:
        raise bad_request(errors.MESSAGE_NOT_MODIFIED)
    if world.flood.limits.count_edits:
        world.flood.check(message.chat.id, world.is_group(message.chat))
        world.flood.record(message.chat.id)
    retold = "text" in fields and fields["text"] != message.text
    if "text" in fields or "caption" in fields:
        message.edits.append(message.content)
    for key, value in fields.items():
        setattr(message, key, value)
    message.edit_date = world.now()
    if retold:  # a new screen in the old one's place: shown again (as it stands, like a send)
        message.chat.shown_by_bot.append(message)
    world.notify()
    return message.to_api()


@api_method("editMessageText")
def edit_message_text(world: World, params: Params) -> Any:
    message = _editable(world, params)
    if message.text is None:
        raise bad_request(errors.NO_TEXT_TO_EDIT)
    text, entities = format_text(params, "text", strict_html=world.settings.strict_html)
    # Without reply_markup, Telegram removes the inline keyboard.
    return _apply_edit(
        world, message, params, text=text, entities=entities, reply_markup=reply_markup(params)
    )


@api_method("editMessageCaption")
def edit_message_caption(world: World, params: Params) -> Any:
    message = _editable(world, params)
    if message.text is not None:
        raise bad_request("Bad Request: there is no caption in the message to edit")
    caption, entities = format_text(
        params, "caption", strict_html=world.settings.strict_html, caption=True
    )
    return _apply_edit(
        world,
        message,
        params,
        caption=caption,
        caption_entities=entities,
        reply_markup=reply_markup(params),
    )


@api_method("editMessageReplyMarkup")
def edit_message_reply_markup(world: World, params: Params) -> Any:
    message = _editable(world, params)
    return _apply_edit(world, message, params, reply_markup=reply_markup(params))


def _delete(world: World, chat: Chat, message_id: int) -> None:
    message = world.find_message(chat, message_id)
    if message is None:
        raise bad_request(errors.MESSAGE_TO_DELETE_NOT_FOUND)
    others_in_group = world.is_group(chat) and not message.from_bot
    if others_in_group and not world.settings.bot_is_group_admin:
        raise bad_request(errors.MESSAGE_CANT_BE_DELETED)
    if world.clock.now() - message.date > world.settings.delete_window:
        raise bad_request(errors.MESSAGE_CANT_BE_DELETED)
    message.deleted = True
    world.notify()


@api_method("deleteMessage")
def delete_message(world: World, params: Params) -> Any:
    chat = world.chat_for_bot(params.chat_id(), writing=False)
    _delete(world, chat, params.require_int("message_id"))
    return True


@api_method("deleteMessages")
def delete_messages(world: World, params: Params) -> Any:
    chat = world.chat_for_bot(params.chat_id(), writing=False)
    ids = params.get_json("message_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("Bad Request: message_ids must contain 1-100 identifiers")
    for message_id in ids:
        try:  # "If some of the specified messages can't be found, they are skipped."
            _delete(world, chat, int(message_id))
        except ApiError:
            continue
    return True


@api_method("answerCallbackQuery")
def answer_callback_query(world: World, params: Params) -> Any:
    query = world.callback_queries.get(params.get_str("callback_query_id") or "")
    expired = query is not None and (
        world.clock.now() - query.created_at > world.settings.callback_query_ttl
    )
    if query is None or query.answer is not None or expired:
        raise bad_request(errors.QUERY_TOO_OLD)
    query.answer = CallbackAnswer(
        query_id=query.id,
        text=params.get_str("text"),
        show_alert=params.get_bool("show_alert"),
        url=params.get_str("url"),
        cache_time=params.get_int("cache_time", 0) or 0,
    )
    world.notify()
    return True


def _source_message(world: World, params: Params, missing: str) -> StoredMessage:
    source_chat = world.chat_for_bot(params.chat_id("from_chat_id"), writing=False)
    message = world.find_message(source_chat, params.require_int("message_id"))
    if message is None:
        raise bad_request(missing)
    if message.protect_content:
        raise bad_request("Bad Request: message has protected content and can't be forwarded")
    return message


@api_method("copyMessage")
def copy_message(world: World, params: Params) -> Any:
    chat = _target(world, params)
    original = _source_message(world, params, errors.MESSAGE_TO_COPY_NOT_FOUND)
    caption, entities = original.caption, original.caption_entities
    if "caption" in params:
        caption, entities = format_text(
            params, "caption", strict_html=world.settings.strict_html, caption=True
        )
    sent = _send(
        world,
        chat,
        params,
        text=original.text,
        entities=list(original.entities),
        caption=caption if original.text is None else None,
        caption_entities=entities if original.text is None else [],
        document=original.document,
        extra=dict(original.extra),
        reply_markup=reply_markup(params),
        source_text=original.source_text,
    )
    return {"message_id": sent["message_id"]}


@api_method("forwardMessage")
def forward_message(world: World, params: Params) -> Any:
    chat = _target(world, params)
    original = _source_message(world, params, errors.MESSAGE_TO_FORWARD_NOT_FOUND)
    origin = {"type": "user", "sender_user": original.sender.to_api(), "date": original.date}
    return _send(
        world,
        chat,
        params,
        text=original.text,
        entities=list(original.entities),
        caption=original.caption,
        caption_entities=list(original.caption_entities),
        document=original.document,
        extra={**original.extra, "forward_origin": origin},
        source_text=original.source_text,
    )
