"""Canaries: distinctive answers and a Telegram id must not appear on disk or in the logs."""

from __future__ import annotations

import pytest

from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, BotProcess, consent, fill_form

pytestmark = pytest.mark.slow

TELEGRAM_ID = 987654321987
CANARIES = {
    "name": "Quentin Marmaduke",
    "area": "Zanzibarton-on-Sea",
    "clinic": "Canary Wharf Clinic XJ9",
    "medication": "Bictegravir-CANARY-42",
    "change": "CANARY-ZEBRA stop hiding my status",
    "interests": "Origami-PELICAN",
}


def needles() -> dict[str, bytes]:
    found = {key: value.encode() for key, value in CANARIES.items()}
    found["telegram id (text)"] = str(TELEGRAM_ID).encode()
    found["telegram id (little-endian)"] = TELEGRAM_ID.to_bytes(8, "little")
    found["telegram id (big-endian)"] = TELEGRAM_ID.to_bytes(8, "big")
    found["programme id"] = b'"hiv"'
    return found


async def test_answers_and_ids_never_rest_in_plaintext(
    files: BotFiles, emulator: BotApiEmulator
) -> None:
    bot = BotProcess(files, emulator)
    await bot.start(PEERDOOR_LOG_LEVEL="DEBUG")
    try:
        person = emulator.user(TELEGRAM_ID, "Q", language_code="en")
        await consent(person)
        programme = files.config().programme("hiv")
        assert programme is not None
        await fill_form(person, programme, {**HIV_PLAN, **CANARIES})
        # mid-way state is on disk too: check before sending, then after.
        middle = files.raw_bytes()
        await person.press("Send my form")
        sent = await person.wait_for(lambda m: REFERENCE.search(m.text) is not None)
        reference = REFERENCE.search(sent.text)
        assert reference is not None
    finally:
        assert await bot.stop() == 0
    after = files.raw_bytes()
    log = bot.log.read_bytes()
    assert b"referral.submitted" in log, "the log is there and carries event names"
    assert reference.group(0).encode() in log, "the log carries the reference code"
    assert b"DEBUG" in log or b"INFO" in log
    for what, needle in needles().items():
        assert needle not in middle, f"{what} is in the database while the form is open"
        assert needle not in after, f"{what} is in the database after sending"
        if what != "programme id":
            assert needle not in log, f"{what} is in the log"
    assert emulator.token.encode() not in log, "the bot token is in the log"
