"""Every message a referrer can receive starts with a neutral line (it may show on a lock
screen), in both languages, through a whole life cycle; the bot's own profile is neutral too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.i18n import load_catalog
from conversations.forms import Programme
from sandbox.emulator import BotApiEmulator, ScriptedUser
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, hand_over, write_config
from tests.e2e.harness import (
    CHOICES_KEY,
    HIV_PLAN,
    REFERENCE,
    SKIP,
    BotFiles,
    consent,
    drained,
    fill_form,
    in_process,
)
from tests.e2e.test_supporters_match import SAM
from tests.e2e.test_supporters_match import profile as join_with_profile

#: Words that would tell an onlooker what the chat is about.
REVEALING = re.compile(
    r"hiv|aids|diabet|diagnos|positiv|clinic|medic|peer support|kamratstöd|klinik|mottagning"
    r"|sexual|sti\b|virus|treatment|behandling|side by side|sida vid sida|living well",
    re.IGNORECASE,
)


@pytest.fixture
async def service(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator) as runtime:
        files.runtime = runtime  # type: ignore[attr-defined]
        yield files


async def supporter(emulator: BotApiEmulator, files: BotFiles) -> ScriptedUser:
    """Sam, a supporter with a profile, so the referral can be matched."""
    runtime = files.runtime  # type: ignore[attr-defined]
    sam = emulator.user(SAM, "Sam")
    await join_with_profile(sam, emulator, runtime, ["English"], "Online", "Art")
    return sam


def first_lines(person: ScriptedUser) -> list[str]:
    texts = [t for m in person.bot_messages for t in (m.text, *m.edits) if t]
    return [t.strip().splitlines()[0] for t in texts]


def option(programme: Programme, question_id: str, option_id: str, language: str) -> str:
    question = programme.question(question_id)
    assert question is not None
    found = question.option(option_id)
    assert found is not None
    return programme.text(found.label, language)


async def life_cycle(
    person: ScriptedUser, files: BotFiles, emulator: BotApiEmulator, language: str
) -> None:
    sv = load_catalog().translator(language)
    group = emulator.group(GROUP_ID, "Coordinators")
    programme = files.config().programme("hiv")
    assert programme is not None
    await person.send("/help")
    await consent(person, agree=sv("Yes, I agree"))
    plan: dict[str, object] = {
        q.id: (
            [programme.text(q.options[0].label, language)]
            if q.kind == "multi"
            else programme.text(q.options[2 if q.role == "age" else 0].label, language)
            if q.kind == "single"
            else sv("Yes")
            if q.kind == "yesno"
            else "Kim"
        )
        for q in programme.form
        if q.id in HIV_PLAN and HIV_PLAN[q.id] is not SKIP
    }
    plan["languages"] = [option(programme, "languages", "en", language)]  # so Sam fits
    plan["setting"] = option(programme, "setting", "online", language)
    plan[CHOICES_KEY] = [
        sv("Short check-in messages while I wait"),
        sv("A short feedback survey at the end"),
    ]
    await fill_form(
        person,
        programme,
        plan,
        language,
        skip_label=sv("Skip"),
        prefer_label=sv("Prefer not to say"),
        done=sv("Done"),
        proceed=sv("Continue"),
    )
    await person.press(sv("Send my form"))
    sent = await person.wait_for(lambda m: REFERENCE.search(m.text) is not None)
    reference = REFERENCE.search(sent.text)
    assert reference is not None
    await group_notice(group, reference.group(0))
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    await cora.press("Claim", chat=group)
    details = await cora.wait_for(lambda m: reference.group(0) in m.text and bool(m.buttons))
    await cora.press("Contacted", message=details)
    await cora.wait_for(lambda m: "contacted" in m.text)
    await cora.press("Write to them")
    await cora.wait_for(lambda m: "Type your message" in m.text)
    await cora.send("A message from the team")
    await person.wait_for(lambda m: "A message from the team" in m.text)
    await person.send("Thanks, I want to die sometimes")  # crisis words after sending
    await person.wait_for(lambda m: "112" in m.text or "999" in m.text)

    sam = await supporter(emulator, files)  # matched with a peer supporter
    await cora.send(f"/referral {reference.group(0)}")
    view = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference.group(0)}"))
    handover = await hand_over(cora, sam, emulator, view)
    await sam.press("Yes, I can", message=handover)
    yes = await sam.wait_for(lambda m: "You support" in m.text)
    await person.wait_for(lambda m: sv("Hello, we have some news for you.") in m.text)

    await sam.press("Plan a session", message=yes)  # a meeting: the person is told, reminded
    picker = await sam.wait_for(lambda m: "Which day?" in m.text)
    await sam.press("Tomorrow", message=picker)
    await emulator.wait_until(lambda: "What time" in picker.text, what="the time step")
    await sam.send("18:30")
    where = await sam.wait_for(lambda m: "online or in person" in m.text)
    await sam.press("Online", message=where)
    await emulator.wait_until(lambda: "18:30" in where.text, what="the check")
    await sam.press("Yes, save it", message=where)
    news = await person.wait_for(lambda m: "18:30" in m.text, timeout=10)
    await person.press(sv("Yes, remind me"), message=news)
    await drained(emulator)

    await cora.send(f"/referral {reference.group(0)}")
    again = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference.group(0)}"))
    await cora.press("Close", message=again)  # the end of support: the feedback survey
    await person.wait_for(lambda m: reference.group(0) not in m.text and "/start" in m.text)
    invite = await person.wait_for(lambda m: sv("Hello, a short question for you.") in m.text)
    await person.press(sv("Start"), message=invite)
    await person.wait_for(lambda m: "1" in m.text and bool(m.buttons))
    for command in ("/status", "/pause", "/privacy", "/mydata", "/delete"):
        await person.send(command)
        await drained(emulator)


@pytest.mark.parametrize("language", ["en", "sv"])
async def test_no_revealing_first_line_anywhere(
    service: BotFiles, emulator: BotApiEmulator, language: str
) -> None:
    person = emulator.user(6000 + len(language) + ord(language[0]), "Kim", language_code=language)
    await life_cycle(person, service, emulator, language)
    lines = first_lines(person)
    assert len(lines) > 40, "the whole life cycle ran"
    revealing = [line for line in lines if REVEALING.search(line)]
    assert revealing == [], revealing


async def test_the_bot_profile_is_neutral(service: BotFiles, emulator: BotApiEmulator) -> None:
    texts = emulator.bot_texts
    assert texts, "the bot published its description"
    assert {lang for _, lang in texts} >= {"", "sv"}
    for text in texts.values():
        assert not REVEALING.search(text), text
