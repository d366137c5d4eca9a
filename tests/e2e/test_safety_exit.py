"""Quick exit: the chat is cleared at once, one neutral line stays, the form goes unless kept."""

from __future__ import annotations

import sqlite3

from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator, ScriptedUser
from tests.e2e.harness import BotFiles, consent, drained


def drafts(files: BotFiles) -> int:
    with sqlite3.connect(files.database) as db:
        return int(db.execute("SELECT count(*) FROM dialogs").fetchone()[0])


async def start_form(person: ScriptedUser) -> None:
    await consent(person)
    await person.press("Continue")
    await person.wait_for(lambda m: m.text.startswith("Question 1 of"))
    await person.send("Alex")
    await person.wait_for(lambda m: m.text.startswith("Question 2 of"))


async def test_exit_button_clears_the_chat_and_the_form(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    alex = emulator.user(5801, "Alex")
    await start_form(alex)
    assert drafts(files) == 1
    await alex.press("✕ Exit")
    await emulator.wait_until(lambda: len(alex.messages) == 1, what="chat cleared")
    only = alex.messages[0]
    assert only.from_bot
    assert only.text == "Bye for now."
    assert drafts(files) == 0


async def test_exit_keep_clears_the_chat_but_keeps_the_answers(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    bo = emulator.user(5802, "Bo")
    await start_form(bo)
    await bo.send("/exit keep")
    await emulator.wait_until(
        lambda: [m.text for m in bo.messages] == ["Bye for now."], what="chat cleared"
    )
    assert drafts(files) == 1
    await bo.send("/start")
    back = await bo.wait_for(lambda m: m.text.startswith("Question 2 of"))
    assert "How is it safe for us to contact you?" in back.text


async def test_exit_only_deletes_what_telegram_allows(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    cy = emulator.user(5803, "Cy")
    await cy.send("hello")  # an old message, older than Telegram's 48-hour limit by then
    await cy.wait_for(lambda m: "Yes, I agree" in m.button_texts)
    emulator.advance(49 * 3600)
    old = len(cy.messages)
    await start_form(cy)
    await cy.send("/exit")
    await cy.wait_for(lambda m: m.text == "Bye for now.")
    await drained(emulator)
    texts = [m.text for m in cy.messages]
    assert texts[0] == "hello", "older than 48 hours: it cannot be deleted"
    assert len(texts[:old]) == old
    assert texts[old:] == ["Bye for now."]
    assert drafts(files) == 0
