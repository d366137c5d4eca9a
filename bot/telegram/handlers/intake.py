"""Handlers for the referral form in a person's private chat with the bot."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.services.intake import IntakeFlow
from bot.services.reply import Reply
from bot.services.typed_route import owner
from bot.telegram.handlers.who import actor, sender
from bot.telegram.wiring import REPEATED, services


def _flow(context: ContextTypes.DEFAULT_TYPE) -> IntakeFlow:
    return services(context).flow


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/start [programme]: the welcome, or back to where the person stopped."""
    payload = context.args[0] if context.args else None
    if payload is not None and payload.startswith("join-"):  # an invite link (/invite)
        return await services(context).casework.join(actor(update), payload.removeprefix("join-"))
    reply = await _flow(context).start(sender(update), payload, update.update_id)
    checkins = services(context).checkins
    offer = await checkins.offer(sender(update)) if checkins is not None else None
    if offer is not None:  # they stopped check-ins: kindly offer them again
        reply.prompts.append(offer)
    return reply


async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/back, /cancel, /language, /help."""
    assert update.effective_message is not None
    assert update.effective_message.text is not None
    name = update.effective_message.text.split()[0].lstrip("/").split("@")[0].lower()
    return await _flow(context).command(sender(update), name, update.update_id)


async def typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """Typed text goes to the one flow that asked for it (see bot/services/typed_route.py):
    a member of staff's note, a meeting's time, a profile field, a survey answer, a message
    for one's supporter or person; else the
    referrer's message to their coordinator, or an answer to the form."""
    assert update.effective_message is not None
    text = update.effective_message.text or ""
    found = services(context)
    who = actor(update)
    reply = None
    repeated = REPEATED.get()  # the form shows where the person is; the rest did it already
    route = await owner(found.store, who.telegram_id)
    match route:
        case "casework" | "sessions" | "profile" | "applicants" | "groups" | "talk" if repeated:
            reply = Reply()
        case "casework":
            reply = await found.casework.typed(who, text)
        case "sessions" if found.sessions is not None:
            reply = await found.sessions.typed(sender(update), text)
        case "profile" if found.support is not None:
            reply = await found.support.typed(who, text)
        case "applicants" if found.applicants is not None:
            reply = await found.applicants.typed(who, text, update.update_id)
        case "groups" if found.groups is not None:
            reply = await found.groups.typed(sender(update), text, update.update_id)
        case "survey" if found.surveys is not None:
            reply = await found.surveys.typed(sender(update), text, update.update_id)
        case "talk" if found.talk is not None:
            reply = await found.talk.typed(who, text, update.update_id)
    if reply is None and route != "form":
        reply = await found.casework.referrer_message(who, text, repeated)
    if reply is None and repeated and route == "referrer":
        reply = Reply()  # applied before (a note, a message): nothing to show again
    if reply is None:
        reply = await found.flow.typed(sender(update), text, update.update_id)
    return reply


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """A button press (checked against the screen it belongs to)."""
    assert update.callback_query is not None
    reply = await _flow(context).press(
        sender(update), update.callback_query.data, update.update_id
    )
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        # A press no other handler took, in a group (forged, or a button of ours gone stale):
        # answer it, and leave the group's message and keyboard (a notice's Claim) alone.
        reply = Reply(notice=reply.notice, keep_buttons=True)
    return reply


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """Stickers, photos, voice notes: the form only reads text."""
    return await _flow(context).not_text(sender(update))


async def delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/delete: erase everything held about the person, after asking."""
    return await _flow(context).delete_request(sender(update), update.update_id)


async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/pause: no messages from us for a chosen time."""
    return await _flow(context).pause_request(sender(update), update.update_id)


async def quick_exit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/exit (or /exit keep): clear the chat now."""
    args = context.args or []
    keep = bool(args) and args[0].lower() in ("keep", "behåll")
    return await _flow(context).quick_exit(sender(update), keep, update.update_id)


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/privacy: see and change the choices (check-ins, feedback, discretion, sound)."""
    return await _flow(context).privacy_request(sender(update), update.update_id)
