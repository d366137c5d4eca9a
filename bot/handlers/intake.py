"""Handlers for the referral form in a person's private chat with the bot."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.delivery import deliver
from bot.flow import IntakeFlow, Sender
from bot.services import services


def _who(update: Update) -> Sender:
    user = update.effective_user
    assert user is not None
    return Sender(user.id, user.language_code)


def _flow(context: ContextTypes.DEFAULT_TYPE) -> IntakeFlow:
    return services(context).flow


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start [programme]: the welcome, or back to where the person stopped."""
    payload = context.args[0] if context.args else None
    reply = await _flow(context).start(_who(update), payload, update.update_id)
    await deliver(update, context, reply)


async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/back, /cancel, /language, /help."""
    assert update.effective_message is not None
    assert update.effective_message.text is not None
    name = update.effective_message.text.split()[0].lstrip("/").split("@")[0].lower()
    reply = await _flow(context).command(_who(update), name, update.update_id)
    await deliver(update, context, reply)


async def typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed answer."""
    assert update.effective_message is not None
    text = update.effective_message.text or ""
    reply = await _flow(context).typed(_who(update), text, update.update_id)
    await deliver(update, context, reply)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button press (checked against the screen it belongs to)."""
    assert update.callback_query is not None
    reply = await _flow(context).press(_who(update), update.callback_query.data, update.update_id)
    await deliver(update, context, reply)


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice notes: the form only reads text."""
    reply = await _flow(context).not_text(_who(update))
    await deliver(update, context, reply)


async def delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/delete: erase everything held about the person, after asking."""
    reply = await _flow(context).delete_request(_who(update), update.update_id)
    await deliver(update, context, reply)
