"""Every path through the intake, through the real bot: consent, back, edit, errors, cancel."""

from __future__ import annotations

import asyncio
import sqlite3

from bot.i18n import load_catalog
from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator, ScriptedUser
from tests.e2e.harness import HIV_PLAN, REFERENCE, SKIP, BotFiles, consent, fill_form


def count(files: BotFiles, table: str) -> int:
    with sqlite3.connect(files.database) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


async def question_text(person: ScriptedUser, starts: str) -> str:
    message = await person.wait_for(lambda m: m.text.startswith(starts))
    return message.text


async def test_without_consent_nothing_is_stored(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    kim = emulator.user(5101, "Kim")
    await consent(kim, agree="No, thank you")
    reply = kim.last_bot_message
    assert reply is not None
    assert reply.text.startswith("That is fine. We have not kept anything you sent.")
    assert "/start" in reply.text
    assert count(files, "people") == 0
    assert count(files, "dialogs") == 0


async def test_swedish_person_gets_swedish_throughout(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    sv = load_catalog().translator("sv")
    assert sv("Yes, I agree") != "Yes, I agree", "the Swedish catalog is not loaded"
    programme = files.config().programme("hiv")
    assert programme is not None
    astrid = emulator.user(5102, "Astrid", language_code="sv")
    await consent(astrid, agree=sv("Yes, I agree"))
    plan = {
        qid: (
            [programme.text(o.label, "sv") for o in q.options if o.id == "sv"]
            if q.kind == "multi"
            else programme.text(q.options[2 if q.role == "age" else 0].label, "sv")
            if q.kind == "single"
            else "Astrid"
        )
        for q in programme.form
        if (qid := q.id) in HIV_PLAN and HIV_PLAN[qid] is not SKIP
    }
    await fill_form(
        astrid,
        programme,
        plan,
        "sv",
        skip_label=sv("Skip"),
        prefer_label=sv("Prefer not to say"),
        done=sv("Done"),
        proceed=sv("Continue"),
    )
    review = astrid.last_bot_message
    assert review is not None
    assert review.text.startswith(sv("Please check your answers"))
    await astrid.press(sv("Send my form"))
    sent = await astrid.wait_for(lambda m: REFERENCE.search(m.text) is not None)
    assert sent.text.startswith(sv("Thank you. Your form has been sent."))
    assert "112" in sent.text  # where to get help now, in the same message
    english_only = {"Question", "Please check your answers", "Send my form"}
    assert not any(word in m.text for m in astrid.bot_messages for word in english_only)


async def test_invalid_answers_get_a_kind_specific_reask(
    bot: Runtime, emulator: BotApiEmulator
) -> None:
    sam = emulator.user(5103, "Sam")
    await consent(sam)
    await sam.press("Continue")
    await question_text(sam, "Question 1 of")
    await sam.send("x" * 41)
    reask = await sam.next_message()
    assert "40 characters or fewer" in reask.text
    assert "You typed 41" in reask.text
    await sam.send("Sam")
    await question_text(sam, "Question 2 of")
    sam.skip_sent()
    await sam.send("by carrier pigeon")
    assert (await sam.next_message()).text == "Please tap one of the buttons above."
    await sam.send_sticker()
    assert "only read typed text" in (await sam.next_message()).text
    await sam.send("a phone call")  # a typed label counts as the button
    assert "What number should we call?" in (await sam.next_message()).text


async def test_back_skip_and_edit_from_review(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    programme = files.config().programme("hiv")
    assert programme is not None
    ali = emulator.user(5104, "Ali")
    await consent(ali)
    await ali.press("Continue")
    await question_text(ali, "Question 1 of")
    await ali.send("Ali")
    await question_text(ali, "Question 2 of")
    await ali.send("/back")
    again = await question_text(ali, "Question 1 of")
    assert "Your answer now: Ali" in again
    await ali.press("Keep my answer")
    await question_text(ali, "Question 2 of")
    await ali.press("← Back")
    await question_text(ali, "Question 1 of")
    await ali.press("Keep my answer")
    await fill_form(ali, programme, {**HIV_PLAN, "name": "Ali", "area": SKIP})
    review = ali.last_bot_message
    assert review is not None
    assert "Prefer not to say" in review.text  # the skipped area
    await ali.press("✎ 1")
    await question_text(ali, "Question 1 of")
    await ali.send("Alison")
    back_in_review = await ali.wait_for(lambda m: m.text.startswith("Please check"))
    assert "Alison" in back_in_review.text
    await ali.press("Send my form")
    await ali.wait_for(lambda m: REFERENCE.search(m.text) is not None)


async def test_old_and_forged_buttons_are_refused_politely(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    lee = emulator.user(5105, "Lee")
    await consent(lee)
    first = await lee.wait_for(lambda m: "Continue" in m.button_texts)
    old_data = first.buttons[0][0].data or ""
    await lee.press("Continue")
    await question_text(lee, "Question 1 of")
    # The pressed message became the next screen: its old buttons are gone with it.
    assert first.text.startswith("Question 1 of"), first.text
    assert old_data not in [b.data for row in first.buttons for b in row]
    stale = await lee.press_data(old_data, message=first)
    assert "expired" in (await stale.answered()).text
    forged = await lee.press_data("999:o:0")
    assert "expired" in (await forged.answered()).text
    junk = await lee.press_data("'; DROP TABLE people; --")
    assert "expired" in (await junk.answered()).text
    await lee.send("Lee")  # the form carries on where it was
    await question_text(lee, "Question 2 of")


async def test_cancel_really_deletes(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    jo = emulator.user(5106, "Jo")
    await consent(jo)
    await jo.press("Continue")
    await question_text(jo, "Question 1 of")
    await jo.send("Jo")
    await question_text(jo, "Question 2 of")
    assert count(files, "dialogs") == 1
    await jo.send("/cancel")
    await jo.wait_for(lambda m: m.text.startswith("Delete your answers?"))
    await jo.press("Yes, delete them")
    await jo.wait_for(lambda m: "Your answers are deleted" in m.text)
    assert count(files, "dialogs") == 0
    assert count(files, "people") == 0
    assert count(files, "person_keys") == 0


async def test_under_age_keeps_nothing_and_signposts(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    programme = files.config().programme("hiv")
    assert programme is not None
    young = emulator.user(5107, "Young")
    await consent(young)
    await young.press("Continue")
    await question_text(young, "Question 1 of")
    await young.send("Max")
    await question_text(young, "Question 2 of")
    await young.press("Only through this chat")
    await question_text(young, "Question 3 of")
    await young.press("Under 18")
    reply = await young.wait_for(lambda m: "18 or over" in m.text)
    assert programme.text(programme.under_age, "en").splitlines()[0] in reply.text
    assert count(files, "people") == 0
    assert count(files, "referrals") == 0


async def test_help_and_language_and_duplicate_update(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    eva = emulator.user(5108, "Eva")
    await consent(eva)
    await eva.press("Continue")
    await question_text(eva, "Question 1 of")
    await eva.send("/help")
    helped = await eva.next_message()
    assert "You are on question 1 of" in helped.text
    await eva.send("Eva")
    await question_text(eva, "Question 2 of")
    # Telegram delivers the "Eva" update again (e.g. after a crash before confirming it).
    answer_update = next(
        u for u in reversed(emulator.update_history) if u.get("message", {}).get("text") == "Eva"
    )
    emulator.redeliver(answer_update["update_id"])
    resent = await eva.wait_for(lambda m: m.text.startswith("Welcome back"))
    assert resent is not None
    await question_text(eva, "Question 2 of")  # still question 2: applied once
    await eva.send("/language")
    await eva.wait_for(lambda m: "Svenska" in m.button_texts)
    await eva.press("Svenska")
    swedish = await eva.wait_for(
        lambda m: (
            "2" in m.text
            and m.text.startswith(
                load_catalog().translator("sv")("Question {number} of {total}").split("{")[0]
            )
        )
    )
    assert swedish is not None


async def test_two_people_at_once_do_not_mix(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    programme = files.config().programme("hiv")
    assert programme is not None
    people = [emulator.user(5200 + i, f"P{i}") for i in range(2)]

    async def refer(person: ScriptedUser, name: str) -> str:
        await consent(person)
        await fill_form(person, programme, {**HIV_PLAN, "name": name})
        await person.press("Send my form")
        sent = await person.wait_for(lambda m: REFERENCE.search(m.text) is not None)
        match = REFERENCE.search(sent.text)
        assert match is not None
        return match.group(0)

    refs = await asyncio.gather(refer(people[0], "Ada"), refer(people[1], "Bea"))
    assert refs[0] != refs[1]
    for person, name, other in zip(people, ["Ada", "Bea"], ["Bea", "Ada"], strict=True):
        # The review became the confirmation, with what each of them sent.
        sent = next(m for m in person.bot_messages if "What you sent" in m.text)
        assert name in sent.text
        assert other not in sent.text
    assert count(files, "referrals") == 2


async def test_long_review_is_split_to_fit_telegram(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    programme = files.config().programme("hiv")
    assert programme is not None
    long_plan = {**HIV_PLAN}
    for qid in ("change", "how_help", "hope_to_get", "where_after", "other_support"):
        long_plan[qid] = ("<tag> & more " * 60)[:499]
    pat = emulator.user(5109, "Pat")
    await consent(pat)
    await fill_form(pat, programme, long_plan)
    review_parts = [m for m in pat.bot_messages if "<tag> & more" in m.text]
    assert len(review_parts) >= 2, "a long review is sent in parts"
    assert review_parts[0].text.startswith("Please check your answers")
    assert "Send my form" in review_parts[-1].button_texts
    assert all(len(m.text) <= 4096 for m in pat.bot_messages)
    await pat.press("Send my form")
    await pat.wait_for(lambda m: REFERENCE.search(m.text) is not None)


async def test_delete_erases_everything_after_asking(
    bot: Runtime, files: BotFiles, emulator: BotApiEmulator
) -> None:
    programme = files.config().programme("hiv")
    assert programme is not None
    dee = emulator.user(5110, "Dee")
    await dee.send("/delete")
    assert (await dee.next_message()).text == "We do not hold anything about you."
    await consent(dee)
    await fill_form(dee, programme, HIV_PLAN)
    await dee.press("Send my form")
    await dee.wait_for(lambda m: REFERENCE.search(m.text) is not None)
    assert count(files, "referrals") == 1
    await dee.send("/delete")
    await dee.wait_for(lambda m: m.text.startswith("Delete everything?"))
    await dee.press("No, keep it")
    await dee.wait_for(lambda m: m.text == "Nothing was deleted.")
    assert count(files, "referrals") == 1
    await dee.send("/delete")
    await dee.wait_for(lambda m: m.text.startswith("Delete everything?"))
    await dee.press("Yes, delete everything")
    await dee.wait_for(lambda m: "Everything we held about you is deleted" in m.text)
    for table in ("people", "person_keys", "referrals", "dialogs"):
        assert count(files, table) == 0, table
