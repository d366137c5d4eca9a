"""Canaries through peer support: a supporter's profile, the hand-over, a meeting's place, the
person's feedback and the supporter's closing report never rest in plaintext on disk, never
reach the logs (at DEBUG), and never reach the coordinators' group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from storage import KeyRing, Store
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import CHOICES_KEY, BotFiles, BotProcess
from tests.e2e.test_coordination_privacy import CANARY_PLAN, everything_in, found

pytestmark = pytest.mark.slow

SUPPORTER_NAME = "Canaryshaw"  # their Telegram first name: the profile starts with it
HOBBY = "canary-hobby-kitesurfing-4471"
PLACE = "canary-place-Lighthouse-Cafe-77"
FEEDBACK = "canary-feedback-thank-you-6620"
CLOSING = "canary-closing-note-9183"
CANARIES = [SUPPORTER_NAME, HOBBY, PLACE, FEEDBACK, CLOSING]


async def invite_code(files: BotFiles) -> str:
    """A one-time code, made before the bot starts (as `peerdoor invite` would)."""
    now = datetime.now(UTC)
    files.data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(files.database, KeyRing(files.key))
    try:
        async with store.unit() as uow:
            return await uow.invites.create("supporter", "hiv", now, now + timedelta(days=1))
    finally:
        await store.close()


async def press_first(person: ScriptedUser, message: StoredMessage) -> None:
    await person.press(message.buttons[0][0].text, message=message)


async def test_peer_support_canaries_rest_nowhere_in_plaintext(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    code = await invite_code(files)
    group = emulator.group(GROUP_ID, "Coordinators")
    person = emulator.user(5901, "Pat")
    cora = emulator.user(CORA, "Cora")
    sam = emulator.user(8201, SUPPORTER_NAME)
    bot = BotProcess(files, emulator)
    await bot.start(PEERDOOR_LOG_LEVEL="DEBUG")
    try:
        await sam.send(f"/join {code}")
        start = await sam.wait_for(lambda m: "My profile" in m.button_texts)
        await sam.press("My profile", message=start)
        await emulator.wait_until(lambda: "Your supporter profile" in start.text, what="profile")
        await sam.press("Interests", message=start)
        await sam.wait_for(lambda m: "things you enjoy" in m.text)
        await sam.send(HOBBY)
        await sam.wait_for(lambda m: HOBBY in m.text)

        await cora.send("/start")
        plan = {**CANARY_PLAN, CHOICES_KEY: ["A short feedback survey at the end"]}
        reference = await refer(person, plan, files.config())
        await group_notice(group, reference)
        await cora.press("Claim", chat=group)
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        await cora.press("Contacted", message=details)
        status = await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)
        await cora.press("Match", message=status)
        offer = await cora.wait_for(lambda m: "best fit first" in m.text)
        assert SUPPORTER_NAME in offer.text  # the coordinator knows who they are choosing
        await press_first(cora, offer)
        await emulator.wait_until(lambda: "What should" in offer.text, what="share")
        await cora.press(f"Send to {SUPPORTER_NAME}", message=offer)
        handover = await sam.wait_for(lambda m: "can you support this person" in m.text)
        assert str(CANARY_PLAN["name"]) in handover.text
        await sam.press("Yes, I can", message=handover)
        yes = await sam.wait_for(lambda m: f"You support {reference}" in m.text)

        await sam.press("Plan a session", message=yes)
        picker = await sam.wait_for(lambda m: "Which day?" in m.text)
        await sam.press("Tomorrow", message=picker)
        await emulator.wait_until(lambda: "What time" in picker.text, what="the time step")
        await sam.send("18:30")
        where = await sam.wait_for(lambda m: "online or in person" in m.text)
        await sam.press("In person", message=where)
        await emulator.wait_until(lambda: "type the place" in where.text, what="the place step")
        await sam.send(PLACE)
        check = await sam.wait_for(lambda m: PLACE in m.text)
        await sam.press("Yes, save it", message=check)
        news = await person.wait_for(lambda m: "A time is set" in m.text, timeout=10)
        assert PLACE in news.text

        await sam.send("/sessions")
        listing = await sam.wait_for(lambda m: "The people you support" in m.text)
        await sam.press("Meetings", message=listing)
        meetings = await sam.wait_for(lambda m: "Support has ended" in m.button_texts)
        await sam.press("Support has ended", message=meetings)
        closing = await sam.wait_for(lambda m: "a short task for you" in m.text, timeout=10)
        await sam.press("Start", message=closing)
        question = await sam.wait_for(lambda m: "Question 1 of" in m.text)
        await sam.send("3")  # how many times they met
        question = await sam.wait_for(lambda m: "Question 2 of" in m.text)
        await press_first(sam, question)
        await sam.wait_for(lambda m: "Question 3 of" in m.text)
        await sam.send(CLOSING)
        await sam.wait_for(lambda m: "Thank you" in m.text)

        invite = await person.wait_for(lambda m: "a short question for you" in m.text)
        await person.press("Start", message=invite)
        for n in (1, 2):
            question = await person.wait_for(lambda m, n=n: f"Question {n} of" in m.text)
            await press_first(person, question)
        question = await person.wait_for(lambda m: "Question 3 of" in m.text)
        await person.press("Yes", message=question)
        await person.wait_for(lambda m: "Question 4 of" in m.text)
        await person.send(FEEDBACK)
        await person.wait_for(lambda m: "Thank you" in m.text)
        assert await bot.stop() == 0  # stopped cleanly: nothing more is sent or written

        assert found(CANARIES, files.raw_bytes()) == []  # the live database and its WAL
        group_texts = everything_in(group)
        assert any(reference in t for t in group_texts)
        assert [c for c in CANARIES if any(c in t for t in group_texts)] == []
    finally:
        assert await bot.stop() == 0
    assert found(CANARIES, files.raw_bytes()) == []  # after the shutdown checkpoint
    log = bot.log.read_bytes()
    assert b"engagement.accepted" in log and b"DEBUG" in log  # the log did record the work
    assert found(CANARIES, log) == []
