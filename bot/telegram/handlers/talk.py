"""Handlers for messages between a supporter and the person (/talk and the ``t:`` buttons),
the person's answer to the confidentiality agreement (``g:`` buttons), the person's answer to
"how is it going?" (``h:`` buttons) a coordinator's /feedback and /assess."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.services.reply import Reply
from bot.services.talk import TalkFlow
from bot.telegram.handlers.who import actor, sender
from bot.telegram.wiring import services


def _flow(context: ContextTypes.DEFAULT_TYPE) -> TalkFlow:
    found = services(context).talk
    assert found is not None
    return found


async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/talk: write to my supporter or the person I support; /talk <reference>: a holder reads."""
    argument = " ".join(context.args or [])
    return await _flow(context).menu(actor(update), argument, update.update_id)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """``t:`` buttons: write, done, stop, start again (checked when pressed)."""
    assert update.callback_query is not None
    return await _flow(context).press(actor(update), update.callback_query.data, update.update_id)


async def agreement(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """``g:`` buttons: the person agrees, does not, asks to talk, or reads it again."""
    assert update.callback_query is not None
    found = services(context).agreement
    assert found is not None
    return await found.press(actor(update), update.callback_query.data, update.update_id)


async def agreement_by_phone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """``gp:`` buttons: the holder records the answer of someone without Telegram."""
    assert update.callback_query is not None
    found = services(context).agreement_phone
    assert found is not None
    return await found.press(actor(update), update.callback_query.data, update.update_id)


async def pro_updates_off(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """``pu:`` buttons: a professional wants no more updates about a referral they made."""
    assert update.callback_query is not None
    found = services(context).pro_updates
    assert found is not None
    return await found.press(actor(update), update.callback_query.data, update.update_id)


async def care(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """``h:`` buttons: how the meetings with their supporter are going."""
    assert update.callback_query is not None
    found = services(context).care
    assert found is not None
    return await found.press(sender(update), update.callback_query.data, update.update_id)


async def feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/feedback: a coordinator sees how it is going, per supporter (at least five answers)."""
    found = services(context).care
    assert found is not None
    return await found.feedback(sender(update), update.update_id)


async def assess(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/assess PD-…: the holder fills in the initial assessment, one question at a time."""
    found = services(context).assessment
    assert found is not None
    reference = " ".join(context.args or [])
    return await found.start(sender(update), reference, update.update_id)
