"""A supporter and the person they support write to each other through the bot (issue #15).

The real bot against the emulator: after the hand-over, the person opens /talk and writes; the
supporter gets the words (never the person's name or account) and replies; Done gives the
person's typed text back to their coordinator; either side stops the messages and the side that
stopped them starts them again; forged presses, a press by someone not on either side and stale
buttons change nothing; the holder reads the messages only where the programme says so, and
only those written after the person was told; nothing of it is in plaintext on disk.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from bot.delivery import kinds
from sandbox.emulator import BotApiEmulator, StoredMessage
from tests.e2e.coordination import CORA, GROUP_ID, refer, write_config
from tests.e2e.harness import HIV_PLAN, BotFiles, drained, in_process
from tests.e2e.test_sessions import claimed, match, supporter

EXPIRED = "This button has expired. Please use the newest message."
HELLO = "Hello Sam, TALKCANARY-ONE, I am nervous about Tuesday"
ANSWER = "Hi, TALKCANARY-TWO, we can take it slowly"


def talk_config(folder: Path, holder_reads: bool) -> Path:
    path = write_config(folder)
    text = path.read_text(encoding="utf-8")
    marker = "\n[programmes.sessions]\n"
    assert marker in text
    setting = "true" if holder_reads else "false"
    text = text.replace(marker, f"\n[programmes.talk]\nholder_reads = {setting}\n{marker}", 1)
    path.write_text(text, encoding="utf-8")
    return path


def talk_rows(files: BotFiles) -> list[tuple[str, int]]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        rows = db.execute("SELECT direction, holder_reads FROM talk ORDER BY id").fetchall()
    return [(str(d), int(r)) for d, r in rows]


def outbox_states(files: BotFiles, kind: str) -> list[str]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        rows = db.execute("SELECT state FROM outbox WHERE kind = ? ORDER BY id", (kind,))
        return [str(r[0]) for r in rows.fetchall()]


async def test_person_and_supporter_write_both_ways_and_either_can_stop(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=talk_config(tmp_path, holder_reads=False))
    robin, cora = emulator.user(6401, "Robin"), emulator.user(CORA, "Cora")
    sam = supporter(emulator, 6451)
    async with in_process(files, emulator) as runtime:
        await cora.send("/start")
        reference = await refer(robin, HIV_PLAN, files.config())
        await claimed(cora, reference)
        engagement = await match(runtime.store, reference, sam.id)

        # The person opens writing and writes; the supporter gets the words, never the name.
        await robin.send("/talk")
        menu = await robin.wait_for(lambda m: "Messages through the bot" in m.content)
        assert "You can write to your supporter here." in menu.text
        assert "Neither of you sees the other's Telegram account" in menu.text
        assert "coordinator can also read" not in menu.text  # not in this programme
        await robin.press("Write a message", message=menu)
        await robin.wait_for(lambda m: "I will pass it on to your supporter" in m.content)
        await robin.send(HELLO)
        await robin.wait_for(lambda m: m.content.startswith("Passed on."))
        got = await sam.wait_for(lambda m: HELLO in m.content)
        assert got.text.startswith("You have a new message.\n")  # neutral on a lock screen
        assert f"From {reference}:" in got.text
        assert "Robin" not in got.text and str(robin.id) not in got.text
        assert got.protect_content
        assert got.button_texts == ["Reply", "Stop these messages"]

        # The supporter replies from the message itself.
        await sam.press("Reply", message=got)
        await sam.wait_for(
            lambda m: f"pass it on to the person you support ({reference})" in m.content
        )
        await sam.send(ANSWER)
        await sam.wait_for(lambda m: m.content.startswith("Passed on."))
        back = await robin.wait_for(lambda m: ANSWER in m.content)
        assert back.text.startswith("You have a new message.\n")
        assert "From your supporter:" in back.text and "Sam" not in back.text
        assert talk_rows(files) == [("to_supporter", 0), ("to_person", 0)]

        # Done: what the person types goes to their coordinator again, not to the supporter.
        await robin.press("Done")
        await robin.wait_for(lambda m: "goes to your coordinator" in m.content)
        await robin.send("A question for the team")
        await cora.wait_for(lambda m: "A question for the team" in m.content)
        await drained(emulator)
        assert not any("A question for the team" in m.content for m in sam.bot_messages)
        assert outbox_states(files, kinds.TALK_TO_SUPPORTER) == ["sent"]
        assert outbox_states(files, kinds.TALK_TO_PERSON) == ["sent"]

        # Forged and foreign presses change nothing.
        for data in ("t:w:ZZZZZZZZ", "t:x:" + engagement, "t:w:" + engagement + ":1", "t:w:"):
            press = await robin.press_data(data, message=back)
            assert (await press.answered()).text == EXPIRED, data
        foreign = await cora.press_data(f"t:w:{engagement}")  # the holder is on neither side
        assert (await foreign.answered()).text == EXPIRED
        await cora.send("Not for Sam")  # no writing frame was opened for the coordinator
        await drained(emulator)
        assert not any("Not for Sam" in m.content for m in sam.bot_messages)

        # The supporter stops; the person's old Reply button is stale now, and says so kindly.
        await sam.press("Stop these messages", message=got)
        stopped = await sam.wait_for(lambda m: "The messages are stopped" in m.content)
        await robin.press("Reply", message=back)
        await robin.wait_for(lambda m: "These messages are closed at the moment" in m.content)
        await robin.send("/talk")
        menu = await robin.wait_for(
            lambda m: "Messages through the bot" in m.content and "stopped for now" in m.content
        )
        assert menu.button_texts == []  # only the side that stopped can start again
        press = await robin.press_data(f"t:r:{engagement}", message=menu)
        assert (await press.answered()).text == EXPIRED

        # The supporter starts them again and writes; the person gets it.
        await sam.press("Start the messages again", message=stopped)
        on = await sam.wait_for(lambda m: "The messages are on again" in m.content)
        await sam.press("Write a message", message=on)
        await sam.wait_for(lambda m: "I will pass it on" in m.content)
        await sam.send("Still here TALKCANARY-THREE")
        await robin.wait_for(lambda m: "TALKCANARY-THREE" in m.content)

        # The person's copy of their data has both sides of it.
        await robin.send("/mydata")
        copy = await robin.wait_for(lambda m: "You wrote to your supporter" in m.content)
        assert HELLO in copy.text and "Your supporter wrote" in copy.text and ANSWER in copy.text

        # The holder cannot read them in this programme.
        await cora.send(f"/talk {reference}")
        await cora.wait_for(lambda m: "these messages are private" in m.content)
        await drained(emulator)
        assert len(talk_rows(files)) == 3

        # The person erases everything: the messages go with it, both sides.
        await robin.send("/delete")
        await robin.wait_for(lambda m: m.content.startswith("Delete everything?"))
        await robin.press("Yes, delete everything")
        await robin.wait_for(lambda m: "Everything we held about you is deleted" in m.content)
        await drained(emulator)
        assert talk_rows(files) == []

    raw = files.raw_bytes()
    for secret in (b"TALKCANARY-ONE", b"TALKCANARY-TWO", b"TALKCANARY-THREE", b"nervous"):
        assert secret not in raw
    group = emulator.group(GROUP_ID)
    assert not any("TALKCANARY" in m.content for m in group.bot_messages)


async def test_the_holder_reads_only_where_the_programme_says_and_the_person_was_told(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=talk_config(tmp_path, holder_reads=True))
    robin, cora = emulator.user(6402, "Robin"), emulator.user(CORA, "Cora")
    sam = supporter(emulator, 6452)
    async with in_process(files, emulator) as runtime:
        await cora.send("/start")
        reference = await refer(robin, HIV_PLAN, files.config())
        await claimed(cora, reference)
        await match(runtime.store, reference, sam.id)

        await robin.send("/talk")
        menu = await robin.wait_for(lambda m: "Messages through the bot" in m.content)
        assert "Your coordinator can also read these messages." in menu.text
        await robin.press("Write a message", message=menu)
        opened = await robin.wait_for(lambda m: "I will pass it on" in m.content)
        assert "Your coordinator can also read these messages." in opened.text
        await robin.send(HELLO)
        got = await sam.wait_for(lambda m: HELLO in m.content)
        assert "Your coordinator can also read these messages." in got.text

        await cora.send(f"/talk {reference}")
        read: StoredMessage = await cora.wait_for(lambda m: HELLO in m.content)
        assert read.protect_content
        assert f"Messages between {reference} and their supporter" in read.text
        assert "the person: " + HELLO in read.text

        # Someone who does not hold the referral reads nothing.
        cole = emulator.user(7002, "Cole")
        await cole.send(f"/talk {reference}")
        await cole.wait_for(lambda m: "cannot find that referral" in m.content)
        await drained(emulator)
    assert talk_rows(files) == [("to_supporter", 1)]
    assert not any(HELLO in m.content for m in cole.bot_messages)
