"""Handlers for check-ins: /stop, the resume button, and coming back after blocking the bot."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.ext import ContextTypes

from bot.services.checkins import CheckinsFlow
from bot.services.reply import Reply
from bot.telegram.handlers.who import sender
from bot.telegram.wiring import services


def _flow(context: ContextTypes.DEFAULT_TYPE) -> CheckinsFlow:
    found = services(context).checkins
    assert found is not None
    return found


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/stop: no more check-ins."""
    return await _flow(context).stop(sender(update), update.update_id)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """The "check in with me again" button (``k:resume``)."""
    return await _flow(context).resume(sender(update), update.update_id)


async def seen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before the routed handler, in its transaction, for private messages and presses:
    someone who writes has not blocked the bot. Cheap after the first time per person."""
    chat, user = update.effective_chat, update.effective_user
    if user is None or chat is None or chat.type != "private" or update.my_chat_member:
        return
    await _flow(context).came_back(user.id)


async def membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """my_chat_member in a private chat: the person blocked the bot, or unblocked it."""
    changed = update.my_chat_member
    if changed is None or changed.chat.type != "private":
        return None
    status = changed.new_chat_member.status
    if status == ChatMember.BANNED:
        await _flow(context).left(changed.from_user.id)
    elif status == ChatMember.MEMBER:
        await _flow(context).came_back(changed.from_user.id)
    return None
