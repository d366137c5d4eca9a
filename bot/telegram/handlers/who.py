"""Who sent an update, as the flows need it (kept in memory only)."""

from __future__ import annotations

from telegram import Update

from bot.services.casework import Actor
from bot.services.reply import Sender


def sender(update: Update) -> Sender:
    user = update.effective_user
    assert user is not None
    return Sender(user.id, user.language_code)


def actor(update: Update) -> Actor:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None
    assert chat is not None
    return Actor(user.id, user.first_name, user.language_code, chat.type == "private")
