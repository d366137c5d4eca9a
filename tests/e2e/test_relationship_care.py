"""The relationship looked after (issue #15), through the real bot against the emulator.

After the supporter logs the second meeting that happened, the person (who agreed to feedback)
is asked privately how it is going; "I would like a different supporter" reaches the holder
only. Without the feedback consent nobody asks. Two meetings in a row that did not happen alert
the holder once; forged and foreign presses change nothing.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from bot.delivery import kinds
from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from tests.e2e.coordination import CORA, GROUP_ID, refer, write_config
from tests.e2e.harness import CHOICES_KEY, HIV_PLAN, BotFiles, drained, in_process
from tests.e2e.test_sessions import claimed, match, seed_session, supporter

EXPIRED = "This button has expired. Please use the newest message."
AGREE_FEEDBACK = {**HIV_PLAN, CHOICES_KEY: ["A short feedback survey at the end"]}
HOURS = 3600.0


def states(files: BotFiles, kind: str) -> list[str]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        rows = db.execute("SELECT state FROM outbox WHERE kind = ? ORDER BY id", (kind,))
        return [str(r[0]) for r in rows.fetchall()]


async def log_prompt(sam: ScriptedUser, reference: str) -> StoredMessage:
    """The supporter's log question not answered yet (an answered one is edited)."""
    return await sam.wait_for(
        lambda m: f"meeting with {reference} happen" in m.content and bool(m.buttons),
        timeout=15,
    )


async def test_after_two_meetings_the_person_is_asked_and_a_change_reaches_the_holder_only(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    robin, cora = emulator.user(6501, "Robin"), emulator.user(CORA, "Cora")
    sam = supporter(emulator, 6551)
    async with in_process(files, emulator) as runtime:
        await cora.send("/start")
        reference = await refer(robin, AGREE_FEEDBACK, files.config())
        await claimed(cora, reference)
        engagement = await match(runtime.store, reference, sam.id)
        await seed_session(runtime, reference, -5 * HOURS)
        first = await log_prompt(sam, reference)
        await sam.press("It happened", message=first)
        await emulator.wait_until(lambda: "It happened" not in first.button_texts, what="logged")
        await drained(emulator)
        assert not any("quick question" in m.content for m in robin.bot_messages)  # one only

        await seed_session(runtime, reference, -4 * HOURS)
        second = await log_prompt(sam, reference)
        await sam.press("It happened", message=second)
        asked = await robin.wait_for(lambda m: "How are the meetings" in m.content)
        assert asked.content.startswith("A quick question from us.\n")  # neutral first line
        assert "Your supporter does not" in asked.content
        assert asked.button_texts == [
            "Going well", "Not sure yet", "I would like a different supporter",
        ]  # fmt: skip

        for data in ("h:x:" + engagement, "h:c:", "h:c:" + engagement + ":1", "h:c:ZZZZZZZZ"):
            press = await robin.press_data(data, message=asked)
            assert (await press.answered()).text == EXPIRED, data
        foreign = await sam.press_data(f"h:c:{engagement}", message=second)  # not the person
        assert (await foreign.answered()).text == EXPIRED

        await robin.press("I would like a different supporter", message=asked)
        await emulator.wait_until(lambda: "Thank you for telling us" in asked.content, what="ok")
        assert "Your supporter has not been told." in asked.content
        told = await cora.wait_for(lambda m: "would like a different supporter" in m.content)
        assert told.content.startswith(f"{reference}: the person would like a different")
        again = await robin.press_data(f"h:w:{engagement}", message=asked)  # a second answer
        assert (await again.answered()).text == "That is done already."
        await drained(emulator)

    assert not any("different supporter" in m.content for m in sam.bot_messages)
    group = emulator.group(GROUP_ID)
    assert not any("different supporter" in m.content for m in group.bot_messages)
    assert states(files, kinds.HOW_IS_IT_GOING) == ["sent"]
    assert states(files, kinds.CHANGE_ASKED) == ["sent"]


async def test_two_missed_in_a_row_alert_the_holder_once_and_no_consent_means_no_question(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    robin, cora = emulator.user(6502, "Robin"), emulator.user(CORA, "Cora")
    sam = supporter(emulator, 6552)
    async with in_process(files, emulator) as runtime:
        await cora.send("/start")
        reference = await refer(robin, HIV_PLAN, files.config())  # no feedback consent
        await claimed(cora, reference)
        await match(runtime.store, reference, sam.id)
        outcomes = ["It did not happen", "It did not happen", "It did not happen"]
        outcomes += ["It happened", "It happened"]
        for n, label in enumerate(outcomes, start=1):
            await seed_session(runtime, reference, -(10 - n) * HOURS)
            prompt = await log_prompt(sam, reference)
            await sam.press(label, message=prompt)
            await emulator.wait_until(lambda p=prompt: not p.buttons, what=f"log {n}")
            if n == 2:
                alert = await cora.wait_for(
                    lambda m: "last two meetings did not happen" in m.content
                )
                assert alert.content.startswith(f"{reference}: the last two meetings")
        await drained(emulator)

    alerts = [m for m in cora.bot_messages if "last two meetings did not happen" in m.content]
    assert len(alerts) == 1  # the third miss in a row does not alert again
    assert states(files, kinds.MISSED_TWICE) == ["sent"]
    assert states(files, kinds.HOW_IS_IT_GOING) == ["dropped"]  # asked for, but no consent
    assert not any("How are the meetings" in m.content for m in robin.bot_messages)
