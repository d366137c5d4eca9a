"""Handlers for groups: /groups and the ``u:`` buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.services.groups import GroupsFlow
from bot.services.reply import Reply
from bot.telegram.handlers.who import sender
from bot.telegram.wiring import services


def _flow(context: ContextTypes.DEFAULT_TYPE) -> GroupsFlow:
    found = services(context).groups
    assert found is not None
    return found


async def mine(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/groups: my groups and waiting lists, with Leave."""
    return await _flow(context).mine(sender(update), update.update_id)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """A group button (offer, pick, join, not now, shown as, leave)."""
    assert update.callback_query is not None
    return await _flow(context).press(sender(update), update.callback_query.data, update.update_id)
