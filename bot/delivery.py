"""Sending a reply: answer the button press, tidy the pressed message, send new messages."""

from __future__ import annotations

import logging

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.flow import Reply
from bot.render import keyboard, split_html
from conversations.prompts import Prompt

log = logging.getLogger("peerdoor.delivery")


async def deliver(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
    query = update.callback_query
    if query is not None:
        try:
            await query.answer(reply.notice, show_alert=bool(reply.notice))
        except BadRequest:
            log.info("callback.answer_late")  # "query is too old": the press is still handled
        if reply.replace is not None:
            await _edit(
                query.edit_message_text(
                    reply.replace.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(reply.replace.buttons),
                )
            )
        elif not reply.keep_buttons:
            await _edit(query.edit_message_reply_markup(None))
    chat = update.effective_chat
    assert chat is not None
    for prompt in reply.prompts:
        await send_prompt(context.bot, chat.id, prompt, reply.protect)


async def send_prompt(
    bot: Bot, chat_id: int, prompt: Prompt, protect: bool = False, silent: bool = False
) -> int:
    """Send one prompt, split when too long; buttons go under the last part.

    Returns the message id of the last part (the one with the buttons)."""
    parts = split_html(prompt.text)
    message_id = 0
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        sent = await bot.send_message(
            chat_id,
            part,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(prompt.buttons) if last else None,
            protect_content=protect,
            disable_notification=silent,
            link_preview_options=None,
        )
        message_id = sent.message_id
    return message_id


async def _edit(edit: object) -> None:
    try:
        await edit  # type: ignore[misc]
    except BadRequest as exc:
        # "message is not modified" (a double tap) or a message too old to edit: harmless.
        log.info("message.edit_skipped reason=%s", type(exc).__name__)
