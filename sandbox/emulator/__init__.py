"""A Telegram Bot API emulator for end-to-end tests and the sandbox (aiohttp on 127.0.0.1,
ephemeral port).

Point the real python-telegram-bot at it and script the people around the bot::

    async with BotApiEmulator(token="123:ABC") as emu:          # or the `emulator` fixture
        app = (ApplicationBuilder().token(emu.token)
               .base_url(emu.api_url).base_file_url(emu.file_url).build())
        alice = emu.user(1001, "Alice", language_code="en")    # private chat, id == user id
        await alice.send("/start hiv")          # bot_command entity, as Telegram adds it
        reply = await alice.next_message(timeout=5)             # next new bot message here
        press = await alice.press("Yes")        # callback_query for the newest "Yes" button
        answer = await press.answered()         # what answerCallbackQuery said
        await alice.wait_for(lambda m: "reference" in m.text)
        alice.messages / alice.bot_messages     # StoredMessage: .text .entities .buttons
                                                # .document .protect_content .edits ...
        alice.callback_answers; alice.block()   # writing to the bot again unblocks it
        group = emu.group(-100123, "Coordinators")
        cora = emu.user(2001, "Cora")
        await cora.send_in(group, "/queue"); await cora.press("Claim", chat=group)
        emu.all_sent_texts()                    # privacy canaries

People also `send_sticker()`, `send_photo()`, `send_document()`, `send_raw({...})`,
`edit_last(text)`, `press_data(data, message=...)`; chats offer `expect_silence(within)`
and `transcript()`; groups `remove_bot(by=...)` / `add_bot(by=...)`.

Telegram's rules apply: unknown chats (400 chat not found), blocked people (403), HTML
parse errors, 4096/1024 limits, callback data over 64 bytes, "message is not modified",
48-hour deletion, stale callback queries, flood limits (429 with retry_after). Steer it with
`emu.advance(seconds)` (or `clock=Clock(frozen=True)`), `emu.rate_limits` (live, or
`rate_limits=False` for benchmarks), `emu.fail_next(method, status=..., kind="timeout"|
"drop", deliver=True, chat_id=...)`, `emu.redeliver(update_id)` / `emu.requeue_last(n)`;
inspect `emu.calls(method)`, `emu.requests`, `emu.too_many_requests`, `emu.pending_updates`,
`emu.webhook_deliveries`, `await emu.settle()`. Error strings live in
`sandbox.emulator.errors`.

Under pytest's filterwarnings=error, PTB 22 turns any RetryAfter into a PTBDeprecationWarning
unless PTB_TIMEDELTA=1 is set (then `retry_after` is a timedelta).
"""

from .chatview import ChatView, Press, wait_until
from .clock import Clock
from .emulator import BotApiEmulator
from .errors import ApiError
from .faults import Call, Fault
from .html_parse import EntityParseError, parse_html
from .ratelimit import Bucket, RateLimits, Window
from .scripting import ScriptedGroup, ScriptedUser
from .state import Button, CallbackAnswer, Document, RecordedRequest, StoredMessage

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "Bucket",
    "Button",
    "Call",
    "CallbackAnswer",
    "ChatView",
    "Clock",
    "Document",
    "EntityParseError",
    "Fault",
    "Press",
    "RateLimits",
    "RecordedRequest",
    "ScriptedGroup",
    "ScriptedUser",
    "StoredMessage",
    "Window",
    "parse_html",
    "wait_until",
]
