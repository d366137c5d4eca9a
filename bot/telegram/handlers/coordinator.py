"""Handlers for coordinators (queue, referrals, invites) and a referrer's later messages."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.services.casework import CaseworkFlow
from bot.services.reply import Reply
from bot.telegram.handlers.who import actor, sender
from bot.telegram.wiring import services
from conversations import callbacks, casework, screens


def _flow(context: ContextTypes.DEFAULT_TYPE) -> CaseworkFlow:
    return services(context).casework


async def queue(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/queue: open referrals of my programmes, urgent first, then longest waiting."""
    return await _flow(context).queue(actor(update), "all", 0)


async def mine(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/mine: the referrals I hold."""
    return await _flow(context).queue(actor(update), "mine", 0)


async def referral(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/referral CODE: open one referral."""
    code = context.args[0] if context.args else ""
    return await _flow(context).open(actor(update), code)


async def join(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/join CODE: redeem an invite."""
    code = "".join(context.args or [])
    return await _flow(context).join(actor(update), code)


async def revoke(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/revoke ID: take a coordinator's or supporter's role away (after a confirm press)."""
    arg = " ".join(context.args or [])
    return await _flow(context).revoke_request(actor(update), arg)


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/status: where my referral stands."""
    reply = await _flow(context).status(actor(update))
    if reply is None:  # nothing sent yet: the intake says where they are
        reply = await services(context).flow.command(sender(update), "resume", update.update_id)
    return reply


async def group_id(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/groupid in a group: the id to put in the config as coordinator_chat."""
    chat = update.effective_chat
    assert chat is not None
    lang = services(context).intake.catalog.best_language(
        update.effective_user.language_code if update.effective_user else None, ["en", "sv"]
    )
    prompt = casework.group_id(chat.id, services(context).intake.translator(lang))
    return Reply([prompt])


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """A coordinator's button (claim, actions, queue pages)."""
    assert update.callback_query is not None
    found = callbacks.parse(update.callback_query.data)
    flow = _flow(context)
    who = actor(update)
    if isinstance(found, callbacks.QueuePress):
        reply = await flow.queue(who, found.view, found.page)
    elif isinstance(found, callbacks.CasePress):
        reply = await flow.press(who, found)
    else:  # unreadable: nothing happens
        _ = services(context).intake.translator(flow.language_of(who))
        reply = Reply(notice=screens.expired_notice(_), keep_buttons=True)
    return reply
