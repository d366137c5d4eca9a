"""The confidentiality agreement (issue #15), through the real bot against the emulator.

A programme declares an agreement: the coordinator's Match waits for it and the person is asked;
not agreeing is explained kindly, with a way to talk to the coordinator that reaches the holder
only; agreeing lets the hand-over go ahead and shows in the referral; a new version is asked
again, and a press on the older version's buttons shows the new text; forged presses change
nothing.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import GROUP_ID, hand_over, write_config
from tests.e2e.harness import BotFiles, drained, in_process
from tests.e2e.test_supporters_match import SAM, contacted_referral, profile

EXPIRED = "This button has expired. Please use the newest message."
PACT = "I keep what I hear in sessions to myself. PACT-CANARY"


def agreement_config(folder: Path, version: str) -> Path:
    path = write_config(folder)
    text = path.read_text(encoding="utf-8")
    marker = "\n[programmes.sessions]\n"
    assert marker in text
    block = (
        f'\n[programmes.agreement]\nversion = "{version}"\n'
        f'text.en = "{PACT} (v{version})"\ntext.sv = "Jag håller det jag hör för mig själv."\n'
    )
    path.write_text(text.replace(marker, block + marker, 1), encoding="utf-8")
    return path


def answers(files: BotFiles) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        rows = db.execute("SELECT version, answer FROM agreements ORDER BY at").fetchall()
    return [(str(v), str(a)) for v, a in rows]


async def test_the_hand_over_waits_for_the_agreement_and_a_new_version_is_asked_again(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=agreement_config(tmp_path, "1"))
    sam = emulator.user(SAM, "Sam")
    async with in_process(files, emulator) as runtime:
        await profile(sam, emulator, runtime, ["English"], "Online", "Walking")
        robin, cora, reference, status = await contacted_referral(emulator, files)

        await cora.press("Match", message=status)
        waiting = await cora.wait_for(lambda m: "has not accepted the agreement" in m.content)
        assert waiting.content.startswith(f"{reference} has not accepted the agreement (version")
        assert "(version 1)" in waiting.content
        ask = await robin.wait_for(lambda m: PACT in m.content)
        assert ask.content.startswith("Something for you to read before we introduce you.\n")
        assert ask.button_texts == [
            "Yes, I agree", "No, I do not agree", "I would like to talk about it",
        ]  # fmt: skip

        # Forged presses change nothing.
        for data in ("g:y:", "g:q:1", "g:y:1:x", "g:y:" + "9" * 21, "g:y:a b"):
            press = await robin.press_data(data, message=ask)
            assert (await press.answered()).text == EXPIRED, data
        outsider = emulator.user(5999, "Mal")
        await outsider.send("/start")
        hello = await outsider.wait_for(lambda m: bool(m.content))
        press = await outsider.press_data("g:y:1", message=hello)
        assert (await press.answered()).text == EXPIRED
        await drained(emulator)
        assert answers(files) == []

        # Not agreeing: explained kindly; talking about it reaches the holder, not the group.
        await robin.press("No, I do not agree", message=ask)
        await emulator.wait_until(lambda: "That is OK" in ask.content, what="declined")
        assert "Without this agreement we cannot introduce you" in ask.content
        await cora.wait_for(lambda m: f"{reference} did not accept the agreement" in m.content)
        await robin.press("I would like to talk about it", message=ask)
        await robin.wait_for(lambda m: "We have told your coordinator" in m.content)
        await cora.wait_for(lambda m: f"{reference} would like to talk about" in m.content)
        assert answers(files) == [("1", "declined")]

        # Reading it again and agreeing: the hand-over goes ahead.
        await robin.press("Read it again", message=ask)
        again = await robin.wait_for(lambda m: PACT in m.content and m.message_id > ask.message_id)
        await robin.press("Yes, I agree", message=again)
        await emulator.wait_until(lambda: "noted that you agree" in again.content, what="yes")
        await cora.wait_for(
            lambda m: f"{reference} accepted the agreement (version 1" in m.content
        )
        assert answers(files) == [("1", "accepted")]
        twice = await robin.press_data("g:y:1", message=again)  # a double tap
        assert (await twice.answered()).text == "That is done already."

        await cora.send(f"/referral {reference}")
        details = await cora.wait_for(
            lambda m: m.content.startswith(f"Referral {reference}") and "Agreement" in m.content
        )
        assert "Agreement: version 1 accepted on" in details.content
        await robin.send("/mydata")  # their answers are in their copy
        copy = await robin.wait_for(lambda m: "You accepted the agreement" in m.content)
        assert "You accepted the agreement, version\n1" in copy.content
        handover = await hand_over(cora, sam, emulator, details)
        assert PACT not in handover.content
        await drained(emulator)
    group = emulator.group(GROUP_ID)
    assert not any("agreement" in m.content.lower() for m in group.bot_messages)


async def test_a_new_version_is_asked_again_and_old_buttons_show_the_new_text(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=agreement_config(tmp_path, "1"))
    sam = emulator.user(SAM, "Sam")
    async with in_process(files, emulator) as runtime:
        await profile(sam, emulator, runtime, ["English"], "Online", "Walking")
        robin, cora, reference, status = await contacted_referral(emulator, files)
        await cora.press("Match", message=status)
        ask = await robin.wait_for(lambda m: PACT in m.content)
        await robin.press("Yes, I agree", message=ask)
        # not the "has not accepted" line Match brought: the answer itself
        await cora.wait_for(
            lambda m: f"{reference} accepted the agreement (version 1)" in m.content
        )

    agreement_config(tmp_path, "2")  # the text changed: version 2
    async with in_process(files, emulator):
        await cora.send(f"/referral {reference}")
        details = await cora.wait_for(lambda m: m.content.startswith(f"Referral {reference}"))
        await cora.press("Match", message=details)
        await cora.wait_for(lambda m: "has not accepted the agreement (version 2)" in m.content)
        new = await robin.wait_for(lambda m: "(v2)" in m.content)
        stale = await robin.press_data("g:y:1", message=ask)  # the version-1 button
        changed = "The agreement has changed. Please read the new one."
        assert (await stale.answered()).text == changed
        shown = await robin.wait_for(
            lambda m: "(v2)" in m.content and m.message_id > new.message_id
        )
        assert answers(files) == [("1", "accepted")]
        await robin.press("Yes, I agree", message=shown)
        await cora.wait_for(
            lambda m: f"{reference} accepted the agreement (version 2)" in m.content
        )
        await drained(emulator)
    assert answers(files) == [("1", "accepted"), ("2", "accepted")]
