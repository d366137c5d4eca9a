"""Checks Telegram applies to message text, captions and inline keyboards."""

from __future__ import annotations

from typing import Any

from . import errors
from .errors import ApiError, bad_request
from .html_parse import EntityParseError, parse_html, utf16_len
from .params import Params

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def _strip(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims surrounding whitespace; entity offsets move with the text."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    end = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        stop = min(end, entity["offset"] - shift + entity["length"])
        if stop > start:
            kept.append({**entity, "offset": start, "length": stop - start})
    return stripped, kept


def format_text(
    params: Params,
    field: str,
    *,
    strict_html: bool,
    caption: bool = False,
) -> tuple[str | None, list[dict[str, Any]]]:
    """Plain text and entities for `field` (text or caption), or Telegram's 400.

    For a caption, a missing or empty value is allowed and gives (None, []).
    """
    raw = params.get_str(field)
    entities_field = "caption_entities" if caption else "entities"
    if raw is None or not raw.strip():
        if caption:
            return None, []
        raise bad_request(errors.MESSAGE_TEXT_EMPTY)
    parse_mode = (params.get_str("parse_mode") or "").strip()
    if parse_mode.lower() == "html":
        try:
            plain, entities = parse_html(raw, strict=strict_html)
        except EntityParseError as err:
            raise bad_request(errors.CANT_PARSE_ENTITIES + str(err)) from None
    elif parse_mode.lower() in ("markdown", "markdownv2"):
        raise ApiError(501, f"emulator: parse_mode {parse_mode} is not emulated; use HTML")
    elif parse_mode:
        raise bad_request(errors.UNSUPPORTED_PARSE_MODE)
    else:
        plain, entities = raw, list(params.get_json(entities_field) or [])
    plain, entities = _strip(plain, entities)
    if not plain:
        if caption:
            return None, []
        raise bad_request(errors.MESSAGE_TEXT_EMPTY)
    if caption and len(plain) > MAX_CAPTION_LENGTH:
        raise bad_request(errors.CAPTION_TOO_LONG)
    if not caption and len(plain) > MAX_TEXT_LENGTH:
        raise bad_request(errors.MESSAGE_TOO_LONG)
    return plain, entities


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(errors.BUTTON_TEXT_MISSING)
    if not button["text"]:
        raise bad_request(errors.BUTTON_TEXT_MISSING)
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str):
            raise bad_request(errors.BUTTON_DATA_INVALID)
        if not data:  # Telegram reads an empty callback_data as no action at all
            raise bad_request(errors.TEXT_BUTTONS_UNALLOWED)
        if len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
            raise bad_request(errors.BUTTON_DATA_INVALID)
    if not any(button.get(action) not in (None, "") for action in _BUTTON_ACTIONS):
        raise bad_request(errors.TEXT_BUTTONS_UNALLOWED)


def reply_markup(params: Params) -> dict[str, Any] | None:
    """The validated `reply_markup`, or None when absent."""
    markup = params.get_json("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return markup  # reply keyboards, ForceReply, ReplyKeyboardRemove: stored as given
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup '
            "must be an Array of Arrays"
        )
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise bad_request(errors.REPLY_MARKUP_TOO_LONG)
    for row in rows:
        for button in row:
            _check_button(button)
    rows = [row for row in rows if row]
    return {"inline_keyboard": rows} if rows else None
