"""One rate-limited call per person action (issue #12): a press that moves the person on edits
the pressed message into the next screen; a typed answer gets one new message.

Telegram allows a bot about 30 sends and edits a second in all and about one a second in one
private chat, so every extra call is a person waiting. These tests count the Bot API calls the
real bot made against the emulator for a whole walk of the example form: a count, not a time.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from telegram import Message
from telegram.ext import ExtBot

from bot.telegram.app import Runtime
from bot.telegram.calls import PRESSED_KEPT
from sandbox.emulator import BotApiEmulator, StoredMessage
from sandbox.emulator.scripting import ScriptedUser
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, consent, drained, fill_form

#: Sends and edits per person action, at most (issue #12; it was 1.78 for this walk).
MOST_PER_ACTION = 1.05


def actions_of(emulator: BotApiEmulator, person: ScriptedUser) -> Counter[str]:
    """The person's updates to the bot, by kind: typed messages and button presses."""
    kinds: Counter[str] = Counter()
    for update in emulator.world.updates.history:
        for kind in ("message", "callback_query"):
            body = update.get(kind)
            if body is not None and body["from"]["id"] == person.id:
                kinds[kind] += 1
    return kinds


def calls_to(emulator: BotApiEmulator, person: ScriptedUser) -> Counter[str]:
    """The bot's successful requests into the person's chat, by method (answerCallbackQuery
    names no chat: see ScriptedUser.callback_answers)."""
    return Counter(
        r.method
        for r in emulator.requests
        if r.ok and str(r.params.get("chat_id")) == str(person.id)
    )


def rate_limited(calls: Counter[str]) -> int:
    """What Telegram's flood limits count: sends and edits (not answerCallbackQuery)."""
    return sum(n for method, n in calls.items() if method.startswith(("send", "edit")))


async def send_the_form(
    person: ScriptedUser, files: BotFiles, emulator: BotApiEmulator
) -> StoredMessage:
    """The whole walk of the example form, sent; the confirmation, once the bot is quiet."""
    programme = files.config().programme("hiv")
    assert programme is not None
    await consent(person)
    await fill_form(person, programme, HIV_PLAN)
    await person.press("Send my form")
    sent = await person.wait_for(lambda m: REFERENCE.search(m.text) is not None)
    await drained(emulator)
    return sent


async def test_a_walk_of_the_example_form_costs_one_call_per_action(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    robin = emulator.user(5001, "Robin", language_code="en")
    sent = await send_the_form(robin, files, emulator)

    actions = actions_of(emulator, robin)
    calls = calls_to(emulator, robin)
    presses = actions["callback_query"]
    assert actions == {"message": 6, "callback_query": 21}, actions  # the whole walk
    per_action = rate_limited(calls) / sum(actions.values())
    assert per_action <= MOST_PER_ACTION, (per_action, calls, actions)
    # Every press is answered once, and no press costs an edit that only drops the keyboard.
    assert len(robin.callback_answers) == presses, (robin.callback_answers, actions)
    assert calls["editMessageReplyMarkup"] == 0, calls
    # What was sent stays in front of the person: the confirmation lists the answers.
    assert "What you sent" in sent.text and "Robin" in sent.text


async def test_an_older_screen_pressed_after_a_typed_answer_is_answered_kindly(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    """A typed answer leaves the question's buttons in place (one new message, no edit): a
    press on them later changes nothing and says the button is old."""
    robin = emulator.user(5002, "Robin", language_code="en")
    await consent(robin)
    await robin.press("Continue")  # past "Good to know", in place
    question = await robin.wait_for(lambda m: "What would you like us to call you?" in m.text)
    await robin.send("Robin")
    await robin.wait_for(lambda m: "How is it safe for us to contact you?" in m.text)
    await drained(emulator)
    before = calls_to(emulator, robin)
    assert question.buttons  # still there
    await robin.press("← Back", message=question.message_id)
    await drained(emulator)
    after = calls_to(emulator, robin)
    assert rate_limited(after) == rate_limited(before), after - before
    assert (
        robin.callback_answers[-1].text
        == "This button has expired. Please use the newest message."
    )


async def test_when_telegram_refuses_the_edit_the_next_screen_comes_as_a_new_message(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    """A message Telegram will not edit (too old, say): the press is still answered, with the
    next screen as a new message under it."""
    robin = emulator.user(5003, "Robin", language_code="en")
    await consent(robin)
    info = await robin.wait_for(lambda m: m.text.startswith("Good to know"))
    emulator.fail_next(
        "editMessageText",
        status=400,
        description="Bad Request: message can't be edited",
        chat_id=robin.id,
    )
    await robin.press("Continue", message=info)
    question = await robin.wait_for(lambda m: "What would you like us to call you?" in m.text)
    assert question.message_id > info.message_id  # a new message, not the refused edit
    refused = [r for r in emulator.requests_for("editMessageText") if not r.ok]
    assert len(refused) == 1, refused  # the fault was hit
    assert info.text.startswith("Good to know")  # left as it was


async def test_a_failed_answer_to_the_press_does_not_hold_back_the_next_screen(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    """answerCallbackQuery goes out beside the edit: when it fails, the next screen still comes
    and nothing says something went wrong."""
    robin = emulator.user(5004, "Robin", language_code="en")
    await consent(robin)
    info = await robin.wait_for(lambda m: m.text.startswith("Good to know"))
    emulator.fail_next("answerCallbackQuery", status=500)
    await robin.press("Continue", message=info)
    await robin.wait_for(lambda m: "What would you like us to call you?" in m.text)
    await drained(emulator)
    failed = [r for r in emulator.requests_for("answerCallbackQuery") if not r.ok]
    assert len(failed) == 1, failed  # the fault was hit
    assert not any("went wrong" in m.text for m in robin.bot_messages), robin.transcript()


async def test_replies_are_raw_calls_and_pressed_messages_come_slim(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot reads only the message id of what Telegram answers a send or an edit (and
    nothing of the answer to a press's answerCallbackQuery), so it asks through ApiBot.call
    (bot/telegram/calls.py): PTB's typed send and edit methods would build a Message, with
    every button of its keyboard, from each answer. And of the message a
    press comes with, it reads the id and the chat: the rest is dropped before PTB parses the
    update (`slim`). Here the typed methods count their calls, and a whole walk makes none;
    PTB builds no Message with text or a keyboard from anything the bot sent, and each press's
    message arrives slim."""
    typed: Counter[str] = Counter()
    for name in (
        "send_message",
        "edit_message_text",
        "edit_message_reply_markup",
        "answer_callback_query",
    ):
        original = getattr(ExtBot, name)

        async def counted(self: ExtBot[Any], *a: Any, _n: str = name, _f: Any = original,
                          **kw: Any) -> Any:  # fmt: skip
            typed[_n] += 1
            return await _f(self, *a, **kw)

        monkeypatch.setattr(ExtBot, name, counted)
    parsed: Counter[str] = Counter()
    parse = Message.de_json

    def counting(data: Any, bot: Any = None) -> Any:
        if isinstance(data, dict) and "chat" in data:
            if data.get("from", {}).get("is_bot"):
                parsed["the bot's, whole"] += 1  # an answer, or a pressed message in full
            elif set(data) <= set(PRESSED_KEPT):
                parsed["pressed, slim"] += 1
        return parse(data, bot)

    monkeypatch.setattr(Message, "de_json", counting)
    robin = emulator.user(5005, "Robin", language_code="en")
    await send_the_form(robin, files, emulator)

    assert typed == {}, typed
    presses = actions_of(emulator, robin)["callback_query"]
    assert parsed == {"pressed, slim": presses}, (parsed, presses)
    assert rate_limited(calls_to(emulator, robin)) >= presses  # the walk did send and edit


async def press_answered(
    person: ScriptedUser, emulator: BotApiEmulator, label: str, question: StoredMessage
) -> tuple[int, StoredMessage]:
    """Press `label` on `question`, wait until the bot is quiet; the sends and edits it made,
    and the message as it stands now."""
    before = rate_limited(calls_to(emulator, person))
    await person.press(label, message=question)
    await drained(emulator)
    return rate_limited(calls_to(emulator, person)) - before, question


async def test_the_persons_own_questions_are_answered_in_their_place(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    """Outside the form too, a press that answers a question on screen costs one call: the
    question becomes the answer ("No, thank you" at the privacy notice, /pause and its choice,
    "Delete everything?" kept or done), where it was an edit that only dropped the keyboard
    and a new message."""
    sam = emulator.user(5006, "Sam", language_code="en")
    await sam.send("/start hiv")
    notice = await sam.wait_for(lambda m: "No, thank you" in m.button_texts)
    calls, notice = await press_answered(sam, emulator, "No, thank you", notice)
    assert calls == 1 and notice.text.startswith("That is fine."), (calls, notice.text)
    assert not notice.buttons

    robin = emulator.user(5007, "Robin", language_code="en")
    await consent(robin)
    await drained(emulator)
    for command, label, answer in (
        ("/pause", "For 1 day", "We will not send you anything until"),
        ("/pause", "Start messages again now", "Messages from us can arrive again."),
        ("/delete", "No, keep it", "Nothing was deleted."),
        ("/delete", "Yes, delete everything", "Done. Everything we held about you is deleted."),
    ):
        await robin.send(command)
        question = await robin.wait_for(lambda m, shows=label: shows in m.button_texts)
        calls, shown = await press_answered(robin, emulator, label, question)
        assert calls == 1, (command, label, calls)
        assert answer in shown.text and not shown.buttons, (label, shown.text)
