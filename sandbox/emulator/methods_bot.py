"""Bot API methods about the bot itself, webhooks, chats and files."""

from __future__ import annotations

import json
import re
from typing import Any

from . import errors
from .errors import bad_request
from .params import Params
from .registry import api_method
from .world import World

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_TEXT_LIMITS = {"description": 512, "short_description": 120, "name": 64}


@api_method("getMe")
def get_me(world: World, params: Params) -> Any:
    return {
        **world.bot.user.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@api_method("logOut")
def log_out(world: World, params: Params) -> Any:
    world.bot.logged_out = True
    return True


@api_method("close")
def close(world: World, params: Params) -> Any:
    return True


@api_method("setWebhook")
def set_webhook(world: World, params: Params) -> Any:
    url = params.get_str("url") or ""
    if params.get_bool("drop_pending_updates"):
        world.updates.drop_pending()
    allowed = params.get_json("allowed_updates")
    if allowed is not None:
        world.updates.allowed_updates = list(allowed)
    world.bot.webhook = (
        {
            "url": url,
            "secret_token": params.get_str("secret_token"),
            "max_connections": params.get_int("max_connections", 40),
        }
        if url
        else {}
    )
    world.notify()
    return True


@api_method("deleteWebhook")
def delete_webhook(world: World, params: Params) -> Any:
    if params.get_bool("drop_pending_updates"):
        world.updates.drop_pending()
    world.bot.webhook = {}
    world.notify()
    return True


@api_method("getWebhookInfo")
def get_webhook_info(world: World, params: Params) -> Any:
    hook = world.bot.webhook
    info: dict[str, Any] = {
        "url": hook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates.pending),
    }
    if hook:
        info["max_connections"] = hook["max_connections"]
        if world.updates.allowed_updates:
            info["allowed_updates"] = world.updates.allowed_updates
    return info


def _command_key(params: Params) -> tuple[str, str]:
    scope = params.get_json("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), params.get_str("language_code") or ""


@api_method("setMyCommands")
def set_my_commands(world: World, params: Params) -> Any:
    commands = params.get_json("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("Bad Request: commands must be an array of at most 100 commands")
    cleaned = []
    for entry in commands:
        command = str(entry.get("command", "")).removeprefix("/")
        description = str(entry.get("description", "")).strip()
        if not _COMMAND.fullmatch(command):
            raise bad_request(errors.BOT_COMMAND_INVALID)
        if not 1 <= len(description) <= 256:
            raise bad_request("Bad Request: command description must be 1-256 characters")
        cleaned.append({"command": command, "description": description})
    key = _command_key(params)
    if cleaned:
        world.bot.commands[key] = cleaned
    else:
        world.bot.commands.pop(key, None)
    return True


@api_method("getMyCommands")
def get_my_commands(world: World, params: Params) -> Any:
    return list(world.bot.commands.get(_command_key(params), []))


@api_method("deleteMyCommands")
def delete_my_commands(world: World, params: Params) -> Any:
    world.bot.commands.pop(_command_key(params), None)
    return True


def _set_text(world: World, params: Params, field: str) -> Any:
    value = params.get_str(field) or ""
    if len(value) > _TEXT_LIMITS[field]:
        raise bad_request(f"Bad Request: bot {field.replace('_', ' ')} is too long")
    key = (field, params.get_str("language_code") or "")
    if value:
        world.bot.descriptions[key] = value
    else:
        world.bot.descriptions.pop(key, None)
    return True


def _get_text(world: World, params: Params, field: str) -> Any:
    language = params.get_str("language_code") or ""
    texts = world.bot.descriptions
    value = texts.get((field, language), texts.get((field, ""), ""))
    if field == "name" and not value:
        value = world.bot.user.first_name
    return {field: value}


@api_method("setMyDescription")
def set_my_description(world: World, params: Params) -> Any:
    return _set_text(world, params, "description")


@api_method("getMyDescription")
def get_my_description(world: World, params: Params) -> Any:
    return _get_text(world, params, "description")


@api_method("setMyShortDescription")
def set_my_short_description(world: World, params: Params) -> Any:
    return _set_text(world, params, "short_description")


@api_method("getMyShortDescription")
def get_my_short_description(world: World, params: Params) -> Any:
    return _get_text(world, params, "short_description")


@api_method("setMyName")
def set_my_name(world: World, params: Params) -> Any:
    return _set_text(world, params, "name")


@api_method("getMyName")
def get_my_name(world: World, params: Params) -> Any:
    return _get_text(world, params, "name")


@api_method("getChat")
def get_chat(world: World, params: Params) -> Any:
    chat = world.chat_for_bot(params.chat_id(), writing=False)
    return {
        **chat.to_api(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


@api_method("getChatMember")
def get_chat_member(world: World, params: Params) -> Any:
    chat = world.chat_for_bot(params.chat_id(), writing=False)
    user_id = params.require_int("user_id")
    if user_id == world.bot.user.id:
        return {"status": "member", "user": world.bot.user.to_api()}
    user = world.users.get(user_id)
    in_chat = user is not None and (
        chat.type != "private" or (chat.person is not None and chat.person.id == user_id)
    )
    if user is None or not in_chat:
        raise bad_request(errors.USER_NOT_FOUND)
    return {"status": "member", "user": user.to_api()}


@api_method("getFile")
def get_file(world: World, params: Params) -> Any:
    file_id = params.get_str("file_id") or ""
    document = world.files.get(file_id)
    if document is None:
        raise bad_request("Bad Request: invalid file_id")
    return {
        "file_id": document.file_id,
        "file_unique_id": document.file_unique_id,
        "file_size": len(document.data),
        "file_path": f"documents/{document.file_id}",
    }
