"""Sending a reply: answer the button press, tidy the pressed message (or turn it into the next
screen), send new messages."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, InputFile, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.services.reply import Reply
from bot.telegram.calls import JSON, ApiBot, api
from bot.telegram.render import markup, split_html
from conversations.prompts import Keyboard, Prompt

log = logging.getLogger("peerdoor.delivery")


async def deliver(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
    query = update.callback_query
    chat = update.effective_chat
    assert chat is not None
    prompts = list(reply.prompts)
    answering = None
    if query is not None:
        # The answer to the press (it stops the button's spinner, or shows the notice) goes out
        # beside the real answer, not before it: the next screen is not held up by it.
        answering = asyncio.ensure_future(_answer(api(context.bot), query.id, reply.notice))
    try:
        await _show(update, context, reply, chat.id, prompts)
    finally:
        if answering is not None:
            await answering


async def _answer(bot: ApiBot, query_id: str, notice: str | None) -> None:
    try:
        await bot.call(
            "answerCallbackQuery",
            {"callback_query_id": query_id, "text": notice, "show_alert": bool(notice)},
        )
    except BadRequest:
        log.info("callback.answer_late")  # "query is too old": the press is still handled
    except TelegramError as exc:  # the press itself is answered by the edit or the message
        log.info("callback.answer_failed reason=%s", type(exc).__name__)


async def _show(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    reply: Reply,
    chat_id: int,
    prompts: list[Prompt],
) -> None:
    query = update.callback_query
    bot = api(context.bot)
    pressed = query.message if query is not None else None
    if pressed is not None:
        where: JSON = {"chat_id": chat_id, "message_id": pressed.message_id}
        if reply.replace is not None:
            await _edit(bot, "editMessageText", where | _text(reply.replace))
        elif in_place(reply):
            prompts = await _into_pressed(bot, where, prompts)
        elif not reply.keep_buttons:
            await _edit(bot, "editMessageReplyMarkup", where)
    if reply.clear_chat:
        message = pressed if query is not None else update.effective_message
        if message is not None:
            await clear_chat(bot, chat_id, message.message_id)
    for prompt in prompts:
        await send_prompt(bot, chat_id, prompt, reply.protect)
    for file in reply.files:
        document = InputFile(file.data, filename=file.filename, attach=True)
        await send_document(bot, chat_id, document, file.caption)


def in_place(reply: Reply) -> bool:
    """Whether the first prompt of the answer to a press is edited into the pressed message."""
    return (
        reply.in_place
        and bool(reply.prompts)
        and reply.replace is None
        and not (reply.keep_buttons or reply.protect or reply.clear_chat)
    )


async def _into_pressed(bot: ApiBot, where: JSON, prompts: list[Prompt]) -> list[Prompt]:
    """Edit the pressed message into the first prompt; return what is still to be sent.

    A prompt too long for one message has its first part edited in and the rest sent below it
    (its buttons under the last part). When Telegram refuses the edit (the message is too old,
    or gone), the prompt is sent as a new message instead: the older screen's buttons stay,
    and a press on them is answered as a stale press."""
    first, rest = prompts[0], prompts[1:]
    parts = split_html(first.text)
    try:
        await bot.call(
            "editMessageText",
            where | _text(Prompt(parts[0], first.buttons if len(parts) == 1 else ())),
        )
    except BadRequest as exc:
        if "not modified" in str(exc).lower():  # it shows this screen already
            return rest
        log.info("message.edit_refused reason=%s", type(exc).__name__)
        return prompts
    if len(parts) == 1:
        return rest
    return [Prompt("\n".join(parts[1:]), first.buttons), *rest]


def _text(prompt: Prompt) -> JSON:
    """The text, its parse mode and keyboard of a sendMessage or editMessageText call."""
    return {
        "text": prompt.text,
        "parse_mode": ParseMode.HTML,
        "reply_markup": markup(prompt.buttons),
    }


async def send_prompt(
    bot: ApiBot, chat_id: int, prompt: Prompt, protect: bool = False, silent: bool = False
) -> int:
    """Send one prompt, split when too long; buttons go under the last part.

    Returns the message id of the last part (the one with the buttons)."""
    parts = split_html(prompt.text)
    message_id = 0
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        params: JSON = {"chat_id": chat_id} | _text(Prompt(part, prompt.buttons if last else ()))
        sent = await bot.call("sendMessage", params | _flags(protect, silent))
        message_id = int(sent["message_id"])
    return message_id


async def send_document(
    bot: ApiBot,
    chat_id: int,
    document: InputFile,
    caption: str,
    *,
    html: bool = False,
    buttons: Keyboard = (),
    protect: bool = False,
    silent: bool = False,
) -> int:
    """Send one file with its caption (Telegram HTML when `html`, else plain text) and buttons;
    returns its message id."""
    params: JSON = {
        "chat_id": chat_id,
        "document": document,
        "caption": caption or None,
        "parse_mode": ParseMode.HTML if html and caption else None,
        "reply_markup": markup(buttons),
    }
    sent = await bot.call("sendDocument", params | _flags(protect, silent))
    return int(sent["message_id"])


def _flags(protect: bool, silent: bool) -> JSON:
    # None is left out of the request: Telegram's defaults (off) stand
    return {"protect_content": protect or None, "disable_notification": silent or None}


async def _edit(bot: ApiBot, method: str, params: JSON) -> None:
    try:
        await bot.call(method, params)
    except BadRequest as exc:
        # "message is not modified" (a double tap) or a message too old to edit: harmless.
        log.info("message.edit_skipped reason=%s", type(exc).__name__)


#: How far back a quick exit reaches: a whole intake and more. Telegram only lets a bot delete
#: messages of the last 48 hours and skips the rest; in a private chat it may delete the
#: person's messages too.
CLEAR_BACK = 500
DELETE_BATCH = 100


async def clear_chat(bot: Bot, chat_id: int, last_id: int) -> None:
    """Delete the messages of this private chat up to `last_id`, newest first."""
    first = max(1, last_id - CLEAR_BACK)
    ids = list(range(last_id, first - 1, -1))
    for start in range(0, len(ids), DELETE_BATCH):
        try:
            await bot.delete_messages(chat_id, ids[start : start + DELETE_BATCH])
        except BadRequest:
            log.info("chat.clear_partial")
