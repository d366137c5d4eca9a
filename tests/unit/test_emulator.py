"""The Bot API emulator, driven by the real python-telegram-bot over HTTP."""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sandbox.emulator import (
    BotApiEmulator,
    Bucket,
    Clock,
    EntityParseError,
    RateLimits,
    Window,
    parse_html,
)
from sandbox.emulator import errors as tg
from sandbox.emulator.webhook import SECRET_HEADER

TWO_DAYS = 48 * 3600


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (an error under filterwarnings=error) when it builds RetryAfter with an
    # int retry_after, unless it is told to use timedelta already.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
async def bot(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(
        emulator.token, base_url=emulator.api_url, base_file_url=emulator.file_url
    ) as b:
        yield b


def ptb_message(description: str) -> str:
    """What PTB makes of a Telegram description (it strips "Bad Request: ", capitalizes)."""
    return BadRequest(description).message


def keyboard(*labels_and_data: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t, callback_data=d)] for t, d in labels_and_data]
    )


# -- HTTP shape -------------------------------------------------------------------------------


async def test_json_form_and_query_bodies_and_telegram_error_shapes(
    emulator: BotApiEmulator,
) -> None:
    emulator.user(1001, "Alice")
    await emulator.user(1001).send("hi")
    api = f"{emulator.api_url}{emulator.token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api}/sendMessage", json={"chat_id": 1001, "text": "json"}) as r:
            assert r.status == 200
            body = await r.json()
        assert body["ok"] is True
        assert body["result"]["text"] == "json"
        assert body["result"]["from"]["is_bot"] is True
        assert body["result"]["chat"] == {"id": 1001, "type": "private", "first_name": "Alice"}
        async with http.post(f"{api}/sendMessage", data={"chat_id": "1001", "text": "form"}) as r:
            assert (await r.json())["result"]["text"] == "form"
        async with http.get(f"{api}/sendMessage?chat_id=1001&text=query") as r:
            assert (await r.json())["result"]["text"] == "query"
        async with http.post(f"{api}/sendMessage", json={"chat_id": 1001, "text": ""}) as r:
            assert r.status == 400
            assert await r.json() == {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: message text is empty",
            }
        async with http.post(f"{api}/noSuchMethod", json={}) as r:
            assert r.status == 404
            assert (await r.json())["description"] == "Not Found"
        async with http.post(f"{emulator.api_url}999:wrong/getMe") as r:
            assert r.status == 401
            assert (await r.json())["description"] == "Unauthorized"
        async with http.post(f"{api}/GETME") as r:  # method names are case-insensitive
            assert (await r.json())["result"]["username"] == "peerdoor_test_bot"
    assert [m.text for m in emulator.user(1001).bot_messages] == ["json", "form", "query"]
    assert emulator.calls("sendMessage") == 4


async def test_get_me_get_chat_and_member_parse_in_ptb(bot: Bot, emulator: BotApiEmulator) -> None:
    alice = emulator.user(1001, "Alice", username="alice")
    await alice.send("hi")
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "peerdoor_test_bot", True)
    chat = await bot.get_chat(1001)
    assert (chat.type, chat.first_name, chat.username) == ("private", "Alice", "alice")
    member = await bot.get_chat_member(1001, 1001)
    assert member.status == "member"
    assert member.user.first_name == "Alice"


# -- long polling and updates ----------------------------------------------------------------


async def test_long_poll_holds_until_an_update_arrives(bot: Bot, emulator: BotApiEmulator) -> None:
    alice = emulator.user(1001, "Alice")
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    await alice.send("/start hiv")
    (update,) = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 2
    assert update.message.text == "/start hiv"
    assert update.message.chat.id == 1001
    assert update.message.from_user.first_name == "Alice"
    (entity,) = update.message.entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 6)


async def test_long_poll_returns_empty_after_its_timeout(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=0.3) == ()
    assert time.monotonic() - started >= 0.25


async def test_offset_confirms_limit_caps_and_ids_increase(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    alice = emulator.user(1001, "Alice")
    for text in ("one", "two", "three"):
        await alice.send(text)
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first] == ["one", "two"]
    assert [u.message.message_id for u in first] == [1, 2]
    assert first[1].update_id == first[0].update_id + 1
    again = await bot.get_updates(limit=2)  # nothing confirmed yet
    assert [u.update_id for u in again] == [u.update_id for u in first]
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest] == ["three"]
    assert [u["update_id"] for u in emulator.pending_updates] == [rest[0].update_id]
    assert await bot.get_updates(offset=rest[0].update_id + 1, timeout=0) == ()
    assert emulator.pending_updates == []


async def test_allowed_updates_filters_new_updates(bot: Bot, emulator: BotApiEmulator) -> None:
    alice = emulator.user(1001, "Alice")
    await bot.get_updates(allowed_updates=["callback_query"])
    await alice.send("ignored")
    assert await bot.get_updates() == ()
    await bot.get_updates(allowed_updates=[])
    await alice.send("seen")
    (update,) = await bot.get_updates()
    assert update.message.text == "seen"


async def test_redeliver_sends_the_same_update_id_twice(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    alice = emulator.user(1001, "Alice")
    await alice.send("once")
    (update,) = await bot.get_updates()
    assert await bot.get_updates(offset=update.update_id + 1) == ()
    emulator.redeliver(update.update_id)
    (again,) = await bot.get_updates(offset=update.update_id + 1)
    assert again.update_id == update.update_id
    assert again.message.text == "once"
    emulator.requeue_last(1)
    assert [u.update_id for u in await bot.get_updates()] == [update.update_id]


async def test_get_updates_conflicts_with_a_webhook_and_a_second_poller(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    await bot.set_webhook("https://example.org/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://example.org/hook"
    assert emulator.webhook["secret_token"] == "s3cret"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    first = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.05)
    async with Bot(emulator.token, base_url=emulator.api_url) as second_instance:
        assert await second_instance.get_updates(timeout=0.1) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_group_commands_carry_the_bot_mention_and_the_sender(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    group = emulator.group(-100123, "Coordinators")
    cora = emulator.user(2001, "Cora")
    await cora.send_in(group, "/queue@peerdoor_test_bot now")
    (update,) = await bot.get_updates()
    assert update.message.chat.id == -100123
    assert update.message.chat.title == "Coordinators"
    assert update.message.from_user.id == 2001
    assert update.message.entities[0].length == len("/queue@peerdoor_test_bot")
    await bot.send_message(-100123, "queue: empty")
    assert (await group.next_message()).text == "queue: empty"
    with pytest.raises(Forbidden) as private:
        await bot.send_message(2001, "Cora never wrote to the bot privately")
    assert private.value.message == tg.CANT_INITIATE
    group.remove_bot(by=cora)
    with pytest.raises(Forbidden) as removed:
        await bot.send_message(-100123, "still here?")
    assert removed.value.message == "Forbidden: bot was kicked from the supergroup chat"
    *_, left = await bot.get_updates()
    assert left.my_chat_member.new_chat_member.status == "kicked"
    group.add_bot(by=cora)
    await bot.send_message(-100123, "back")
    assert [m.text for m in group.bot_messages] == ["queue: empty", "back"]


# -- a real Application ------------------------------------------------------------------------


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = " ".join(context.args or [])
    await update.effective_message.reply_text(
        f"Hello {args}".strip(), reply_markup=keyboard(("Yes", "answer:yes"), ("No", "answer:no"))
    )


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer(f"you said {query.data}")
    await query.edit_message_text(f"Chosen: {query.data}")


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text or "please type")


@pytest.fixture
async def echo_app(emulator: BotApiEmulator) -> AsyncIterator[Application]:
    app = (
        ApplicationBuilder()
        .token(emulator.token)
        .base_url(emulator.api_url)
        .base_file_url(emulator.file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(CallbackQueryHandler(_pressed))
    app.add_handler(MessageHandler(filters.ALL, _echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    yield app
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


@pytest.mark.usefixtures("echo_app")
async def test_application_round_trip_with_a_button(emulator: BotApiEmulator) -> None:
    alice = emulator.user(1001, "Alice")
    await alice.send("/start hiv")
    greeting = await alice.next_message(timeout=5)
    assert greeting.text == "Hello hiv"
    assert greeting.buttons == [[("Yes", "answer:yes")], [("No", "answer:no")]]
    press = await alice.press("Yes")
    answer = await press.answered(timeout=5)
    assert answer.text == "you said answer:yes"
    await emulator.wait_until(lambda: greeting.text == "Chosen: answer:yes", what="edit")
    assert greeting.buttons == []  # an edit without reply_markup drops the keyboard
    assert alice.callback_answers == [answer]
    # An edit that changes the text is a screen shown again (a press answered in place).
    assert await alice.next_message() is greeting
    await alice.send_sticker()
    assert (await alice.next_message()).text == "please type"
    await alice.send("hello")
    assert (await alice.wait_for(lambda m: m.text == "hello")).from_bot
    assert [m.from_bot for m in alice.messages] == [False, True, False, True, False, True]
    await emulator.settle()
    assert emulator.world.updates.delivered_up_to == emulator.update_history[-1]["update_id"]


async def test_press_lists_the_buttons_on_screen_when_the_label_is_missing(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    alice = emulator.user(1001, "Alice")
    await alice.send("hi")
    await bot.send_message(1001, "Pick", reply_markup=keyboard(("Claim case", "c:1")))
    with pytest.raises(AssertionError, match=r"no button 'Claim'.*\['Claim case'\]"):
        await alice.press("Claim")
    press = await alice.press("Claim", contains=True)
    assert press.data == "c:1"
    forged = await alice.press_data("forged:data")
    *_, update = await bot.get_updates()
    assert update.callback_query.data == "forged:data"
    assert update.callback_query.id == forged.query_id


async def test_people_upload_files_edit_and_see_reply_keyboards(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    alice = emulator.user(1001, "Alice")
    await alice.send_document("letter.pdf", b"%PDF-1.4", mime_type="application/pdf")
    await alice.send("typo")
    await alice.edit_last("fixed")
    first, _, edited = await bot.get_updates()
    assert first.message.document.file_name == "letter.pdf"
    data = await (await bot.get_file(first.message.document.file_id)).download_as_bytearray()
    assert bytes(data) == b"%PDF-1.4"
    assert edited.edited_message.text == "fixed"
    assert alice.messages[-1].edits == ["typo"]
    await bot.send_message(1001, "Choose", reply_markup=ReplyKeyboardMarkup([["A", "B"], ["C"]]))
    shown = await alice.next_message()
    assert (shown.keyboard, shown.buttons) == ([["A", "B"], ["C"]], [])
    await alice.expect_silence(within=0.05)
    await bot.send_message(1001, "surprise")
    with pytest.raises(AssertionError, match="surprise"):
        await alice.expect_silence(within=0.05)


async def test_next_message_times_out_with_the_transcript_and_failed_requests(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    alice = emulator.user(1001, "Alice")
    await alice.send("hello bot")
    with pytest.raises(BadRequest):
        await bot.send_message(1001, "<b>oops", parse_mode="HTML")
    with pytest.raises(AssertionError) as caught:
        await alice.next_message(timeout=0.1)
    report = str(caught.value)
    assert "'hello bot'" in report
    assert "sendMessage -> 400 Bad Request: can't parse entities" in report


# -- validation with Telegram's wording ------------------------------------------------------


@pytest.fixture
async def alice_started(emulator: BotApiEmulator) -> None:
    await emulator.user(1001, "Alice").send("/start")


@pytest.mark.usefixtures("alice_started")
async def test_text_limits_count_after_entity_parsing(bot: Bot) -> None:
    with pytest.raises(BadRequest) as empty:
        await bot.send_message(1001, "   ")
    assert empty.value.message == ptb_message(tg.MESSAGE_TEXT_EMPTY)
    fits = await bot.send_message(1001, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    assert len(fits.text) == 4096
    with pytest.raises(BadRequest) as long:
        await bot.send_message(1001, "a" * 4097)
    assert long.value.message == ptb_message(tg.MESSAGE_TOO_LONG)


@pytest.mark.usefixtures("alice_started")
async def test_html_is_stored_as_plain_text_and_entities(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    sent = await bot.send_message(
        1001,
        '👋 <b>Hi</b> &lt;you&gt; &amp; <a href="https://x.org/?a=1&amp;b=2">link</a>'
        " <tg-spoiler>s</tg-spoiler> &#33;",
        parse_mode="HTML",
    )
    stored = emulator.user(1001).last_bot_message
    assert stored is not None
    assert stored.text == sent.text == "👋 Hi <you> & link s !"
    assert stored.entities == [
        {"offset": 3, "length": 2, "type": "bold"},  # the emoji is two UTF-16 units
        {"offset": 14, "length": 4, "type": "text_link", "url": "https://x.org/?a=1&b=2"},
        {"offset": 19, "length": 1, "type": "spoiler"},
    ]
    assert stored.source_text is not None
    assert stored.source_text.startswith("👋 <b>")


@pytest.mark.parametrize(
    ("markup", "detail"),
    [
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("x <b", "Unclosed start tag at byte offset 2"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("Q&A", 'Unescaped "&" at byte offset 1'),
    ],
)
@pytest.mark.usefixtures("alice_started")
async def test_malformed_html_is_refused(bot: Bot, markup: str, detail: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(1001, markup, parse_mode="HTML")
    assert caught.value.message.startswith(ptb_message(tg.CANT_PARSE_ENTITIES + detail))


@pytest.mark.usefixtures("alice_started")
async def test_inline_keyboard_rules(bot: Bot) -> None:
    ok = await bot.send_message(1001, "ok", reply_markup=keyboard(("é", "é" * 32)))  # 64 bytes
    assert ok.reply_markup is not None
    with pytest.raises(BadRequest) as data:
        await bot.send_message(1001, "x", reply_markup=keyboard(("Yes", "d" * 65)))
    assert data.value.message == ptb_message(tg.BUTTON_DATA_INVALID)
    many = InlineKeyboardMarkup(
        [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
    )
    with pytest.raises(BadRequest) as too_many:
        await bot.send_message(1001, "x", reply_markup=many)
    assert too_many.value.message == ptb_message(tg.REPLY_MARKUP_TOO_LONG)
    with pytest.raises(BadRequest) as no_text:
        await bot.send_message(1001, "x", reply_markup=keyboard(("", "data")))
    assert no_text.value.message == ptb_message(tg.BUTTON_TEXT_MISSING)
    with pytest.raises(BadRequest) as no_action:
        await bot.send_message(
            1001, "x", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Just text")]])
        )
    assert no_action.value.message == ptb_message(tg.TEXT_BUTTONS_UNALLOWED)


async def test_unknown_and_blocked_chats(bot: Bot, emulator: BotApiEmulator) -> None:
    alice = emulator.user(1001, "Alice")
    for chat_id in (1001, 4242):  # registered but silent, and nobody at all
        with pytest.raises(BadRequest) as unknown:
            await bot.send_message(chat_id, "hi")
        assert unknown.value.message == ptb_message(tg.CHAT_NOT_FOUND)
    await alice.send("/start")
    await bot.send_message(1001, "welcome")
    alice.block()
    with pytest.raises(Forbidden) as blocked:
        await bot.send_message(1001, "still there?")
    assert blocked.value.message == "Forbidden: bot was blocked by the user"
    updates = await bot.get_updates()
    assert updates[-1].my_chat_member.new_chat_member.status == "kicked"
    await alice.send("/start")  # writing to the bot unblocks it, as a Telegram client does
    updates = await bot.get_updates(offset=updates[-1].update_id + 1)
    assert [u.my_chat_member is not None for u in updates] == [True, False]
    await bot.send_message(1001, "welcome back")
    assert [m.text for m in alice.bot_messages] == ["welcome", "welcome back"]


@pytest.mark.usefixtures("alice_started")
async def test_edit_rules(bot: Bot, emulator: BotApiEmulator) -> None:
    markup = keyboard(("Yes", "y"))
    sent = await bot.send_message(1001, "<b>Q</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest) as same:
        await bot.edit_message_text(
            "<b>Q</b>", 1001, sent.message_id, parse_mode="HTML", reply_markup=markup
        )
    assert same.value.message == ptb_message(tg.MESSAGE_NOT_MODIFIED)
    edited = await bot.edit_message_text("Q", 1001, sent.message_id, reply_markup=markup)
    assert edited.text == "Q"
    assert edited.entities == ()
    with pytest.raises(BadRequest) as same_markup:
        await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=markup)
    assert same_markup.value.message == ptb_message(tg.MESSAGE_NOT_MODIFIED)
    await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=None)
    assert emulator.user(1001).bot_messages[-1].buttons == []
    with pytest.raises(BadRequest) as missing:
        await bot.edit_message_text("x", 1001, 999)
    assert missing.value.message == ptb_message(tg.MESSAGE_TO_EDIT_NOT_FOUND)
    with pytest.raises(BadRequest) as theirs:
        await bot.edit_message_text("x", 1001, 1)  # Alice's /start
    assert theirs.value.message == ptb_message(tg.MESSAGE_CANT_BE_EDITED)
    assert "<b>Q</b>" not in emulator.all_sent_texts()
    assert emulator.all_sent_texts().count("Q") == 2  # the original and the edit


@pytest.mark.usefixtures("alice_started")
async def test_delete_rules_and_the_48_hour_clock(bot: Bot, emulator: BotApiEmulator) -> None:
    alice = emulator.user(1001)
    old = await bot.send_message(1001, "old")
    emulator.advance(TWO_DAYS - 60)
    young = await bot.send_message(1001, "young")
    emulator.advance(120)
    with pytest.raises(BadRequest) as too_old:
        await bot.delete_message(1001, old.message_id)
    assert too_old.value.message == ptb_message(tg.MESSAGE_CANT_BE_DELETED)
    assert await bot.delete_message(1001, young.message_id)
    with pytest.raises(BadRequest) as gone:
        await bot.delete_message(1001, young.message_id)
    assert gone.value.message == ptb_message(tg.MESSAGE_TO_DELETE_NOT_FOUND)
    await alice.send("my answer")
    theirs = alice.messages[-1].message_id
    assert await bot.delete_message(1001, theirs)  # private chats: the person's too
    mine = await bot.send_message(1001, "a")
    assert await bot.delete_messages(1001, [mine.message_id, 9999])
    assert [m.text for m in alice.messages] == ["/start", "old"]
    assert [m.text for m in emulator.bot_messages()] == ["old", "young", "a"]


@pytest.mark.usefixtures("alice_started")
async def test_callback_queries_expire_and_answer_once(bot: Bot, emulator: BotApiEmulator) -> None:
    alice = emulator.user(1001)
    await bot.send_message(1001, "Q", reply_markup=keyboard(("Yes", "y")))
    with pytest.raises(BadRequest) as invalid:
        await bot.answer_callback_query("12345")
    assert invalid.value.message == ptb_message(tg.QUERY_TOO_OLD)
    first = await alice.press("Yes")
    assert await bot.answer_callback_query(first.query_id, text="Saved", show_alert=True)
    assert alice.callback_answers[0].show_alert
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(first.query_id)
    late = await alice.press("Yes")
    emulator.advance(61)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(late.query_id)


@pytest.mark.usefixtures("alice_started")
async def test_documents_keep_name_bytes_flags_and_caption_limits(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    sent = await bot.send_document(
        1001,
        b"name,answer\nA,42\n",
        filename="export.csv",
        caption="<i>your data</i>",
        parse_mode="HTML",
        protect_content=True,
        disable_notification=True,
    )
    assert sent.document.file_name == "export.csv"
    assert sent.has_protected_content
    stored = emulator.user(1001).last_bot_message
    assert stored is not None
    assert stored.document is not None
    assert (stored.document.filename, stored.document.data) == (
        "export.csv",
        b"name,answer\nA,42\n",
    )
    assert (stored.caption, stored.protect_content, stored.disable_notification) == (
        "your data",
        True,
        True,
    )
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"name,answer\nA,42\n"
    with pytest.raises(BadRequest) as long:
        await bot.send_document(1001, b"x", filename="x.txt", caption="c" * 1025)
    assert long.value.message == ptb_message(tg.CAPTION_TOO_LONG)
    with pytest.raises(BadRequest, match="protected content"):
        await bot.forward_message(1001, 1001, sent.message_id)
    reply = await bot.send_message(1001, "re", reply_parameters=ReplyParameters(sent.message_id))
    assert reply.reply_to_message.message_id == sent.message_id


async def test_bot_settings_are_stored(bot: Bot, emulator: BotApiEmulator) -> None:
    await bot.set_my_commands([("start", "Begin"), ("help", "Help")], language_code="de")
    assert [c.command for c in await bot.get_my_commands(language_code="de")] == ["start", "help"]
    assert await bot.get_my_commands() == ()
    assert emulator.commands(language_code="de")[1] == {"command": "help", "description": "Help"}
    with pytest.raises(BadRequest) as invalid:
        await bot.set_my_commands([("Start!", "x")])
    assert invalid.value.message == ptb_message(tg.BOT_COMMAND_INVALID)
    await bot.delete_my_commands(language_code="de")
    assert await bot.get_my_commands(language_code="de") == ()
    await bot.set_my_description("Peer support, privately.")
    await bot.set_my_short_description("Peer support")
    await bot.set_my_name("Peerdoor Test")
    assert (await bot.get_my_description()).description == "Peer support, privately."
    assert (await bot.get_my_short_description()).short_description == "Peer support"
    assert (await bot.get_my_name()).name == "Peerdoor Test"
    await emulator.user(1001, "Alice").send("hi")
    assert await bot.send_chat_action(1001, "typing")
    assert emulator.user(1001).chat_actions == ["typing"]
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(1001, "dancing")
    assert await bot.log_out()
    assert await bot.close()


async def test_webhook_mode_posts_updates_with_the_secret(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []
    answers = iter([500, 200, 200])

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.Response(status=next(answers))

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        alice = emulator.user(1001, "Alice")
        await alice.send("one")
        await alice.send("two")
        await emulator.wait_until(lambda: len(received) == 3, what="three webhook posts")
    finally:
        await runner.cleanup()
    assert [(secret, body["message"]["text"]) for secret, body in received] == [
        ("s3cret", "one"),
        ("s3cret", "one"),  # retried after the 500
        ("s3cret", "two"),
    ]
    assert [d.status for d in emulator.webhook_deliveries] == [500, 200, 200]
    assert emulator.pending_updates == []


# -- faults and rate limits ------------------------------------------------------------------


@pytest.mark.usefixtures("alice_started")
async def test_injected_faults(bot: Bot, emulator: BotApiEmulator) -> None:
    alice = emulator.user(1001)
    fault = emulator.fail_next("sendMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(1001, "lost")
    assert fault.remaining == 0
    await bot.send_message(1001, "third time lucky")
    emulator.fail_next("sendMessage", status=429, retry_after=2)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(1001, "x")
    assert flood.value.retry_after.total_seconds() == 2
    assert emulator.too_many_requests[-1].injected
    emulator.fail_next("sendMessage", kind="drop", deliver=True)
    with pytest.raises(NetworkError):
        await bot.send_message(1001, "went through anyway")
    emulator.fail_next("sendMessage", kind="timeout", hold=5)
    with pytest.raises(TimedOut):
        await bot.send_message(1001, "held", read_timeout=0.2)
    emulator.fail_next("sendMessage", status=403, description=tg.BOT_BLOCKED, chat_id=2002)
    await bot.send_message(1001, "other chats unaffected")
    assert [m.text for m in alice.bot_messages] == [
        "third time lucky",
        "went through anyway",
        "other chats unaffected",
    ]
    assert emulator.calls("sendMessage") == 7
    assert emulator.requests_for("sendMessage")[0].status == 500


async def test_rate_limits(emulator: BotApiEmulator, bot: Bot) -> None:
    emulator.rate_limits.overall = Window(3, 1.0)
    alice = emulator.user(1001, "Alice")
    await alice.send("/start")
    emulator.clock.frozen = True
    for i in range(3):
        await bot.send_message(1001, f"m{i}")
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(1001, "one too many")
    assert flood.value.retry_after.total_seconds() == 1
    assert [(t.method, t.chat_id, t.injected, t.limit) for t in emulator.too_many_requests] == [
        ("sendMessage", 1001, False, "overall")
    ]
    emulator.advance(1.0)
    await bot.send_message(1001, "after the window")

    emulator.rate_limits.overall = None
    group = emulator.group(-100123, "Coordinators")
    for i in range(20):
        await bot.send_message(-100123, f"g{i}")
    with pytest.raises(RetryAfter) as group_flood:
        await bot.send_message(-100123, "21st in a minute")
    assert group_flood.value.retry_after.total_seconds() == 60
    emulator.advance(30)
    with pytest.raises(RetryAfter) as still:
        await bot.send_message(-100123, "half a minute later")
    assert still.value.retry_after.total_seconds() == 30
    for i in range(25):  # no per-private-chat limit by default
        await bot.send_message(1001, f"p{i}")
    emulator.rate_limits.per_private_chat = Window(1, 1.0)
    emulator.advance(1)
    await bot.send_message(1001, "one per second")
    with pytest.raises(RetryAfter):
        await bot.send_message(1001, "two per second")
    emulator.rate_limits.enabled = False
    for i in range(5):
        await bot.send_message(-100123, f"unlimited {i}")
    assert len(group.bot_messages) == 25


async def test_private_chat_bucket_allows_a_burst_then_one_per_second() -> None:
    limits = RateLimits(overall=None, per_private_chat=Bucket(1.0, 3), count_edits=True)
    clock = Clock(frozen=True)
    async with (
        BotApiEmulator(rate_limits=limits, clock=clock) as emu,
        Bot(emu.token, base_url=emu.api_url) as bot,
    ):
        await emu.user(1001, "Alice").send("hi")
        await emu.user(1002, "Bob").send("hi")
        sent = [await bot.send_message(1001, f"burst {i}") for i in range(3)]
        with pytest.raises(RetryAfter) as flood:
            await bot.edit_message_text("edits count too", 1001, sent[0].message_id)
        assert flood.value.retry_after.total_seconds() == 1
        await bot.send_message(1002, "another chat has its own bucket")
        emu.advance(1.0)
        await bot.send_message(1001, "one token back after a second")
        with pytest.raises(RetryAfter):
            await bot.send_message(1001, "but only one")
        emu.advance(10.0)  # a quiet spell refills up to the burst, not beyond
        for i in range(3):
            await bot.send_message(1001, f"burst again {i}")
        with pytest.raises(RetryAfter):
            await bot.send_message(1001, "fourth")
        assert [(t.chat_id, t.retry_after, t.limit) for t in emu.too_many_requests] == [
            (1001, 1, "private chat"),
            (1001, 1, "private chat"),
            (1001, 1, "private chat"),
        ]


async def test_limits_off_for_throughput() -> None:
    async with (
        BotApiEmulator(rate_limits=RateLimits.off()) as emu,
        Bot(emu.token, base_url=emu.api_url) as bot,
    ):
        await emu.user(1001, "Alice").send("hi")
        await asyncio.gather(*(bot.send_message(1001, str(i)) for i in range(60)))
        assert emu.too_many_requests == []
        assert len(emu.user(1001).bot_messages) == 60


async def test_token_is_enforced_only_when_fixed() -> None:
    async with BotApiEmulator(token=None) as emu, Bot("777:any", base_url=emu.api_url) as bot:
        assert (await bot.get_me()).id == 123456


# -- the HTML parser on its own ---------------------------------------------------------------


def test_html_parser_merges_pre_code_and_knows_blockquotes() -> None:
    code = '<pre><code class="language-python">x = 1</code></pre>'
    text, entities = parse_html(code + "<blockquote expandable>q</blockquote>")
    assert text == "x = 1q"
    assert entities == [
        {"offset": 0, "length": 5, "type": "pre", "language": "python"},
        {"offset": 5, "length": 1, "type": "expandable_blockquote"},
    ]
    with pytest.raises(EntityParseError, match="Invalid custom emoji"):
        parse_html('<tg-emoji emoji-id="x">👍</tg-emoji>')
    assert parse_html("Q&A", strict=False) == ("Q&A", [])


@given(st.text())
def test_escaped_text_round_trips_through_html(text: str) -> None:
    assert parse_html(html.escape(text)) == (text, [])


async def test_an_edit_shows_the_message_again_only_when_its_text_changes(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    alice = emulator.user(1001, "Alice")
    await alice.send("hi")
    sent = await bot.send_message(1001, "Pick", reply_markup=keyboard(("A", "a")))
    await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=keyboard(("B", "b")))
    await bot.edit_message_text(
        "Pick", chat_id=1001, message_id=sent.message_id, reply_markup=keyboard(("C", "c"))
    )
    assert [m.message_id for m in alice.chat.shown_by_bot] == [sent.message_id]  # same text
    await bot.edit_message_text("Next", chat_id=1001, message_id=sent.message_id)
    assert [m.message_id for m in alice.chat.shown_by_bot] == [sent.message_id] * 2
    assert [m.message_id for m in alice.chat.sent_by_bot] == [sent.message_id]  # sent once
    assert (await alice.next_message()).text == "Next"  # as it stands now
    assert (await alice.next_message()).text == "Next"
