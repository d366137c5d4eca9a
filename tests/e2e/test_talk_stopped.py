"""/talk (issue #15): when one side stops the messages, the other side is told once, kindly, at
once -- the supporter when the person stops, the person when the supporter stops. A second
press on Stop tells nobody again. Through the real bot against the emulator."""

from __future__ import annotations

from pathlib import Path

from bot.delivery import kinds
from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import CORA, refer
from tests.e2e.harness import HIV_PLAN, BotFiles, drained, in_process
from tests.e2e.test_sessions import claimed, match, supporter
from tests.e2e.test_talk import outbox_states, talk_config

TOLD = "stopped the messages through the bot for now"


async def test_the_other_side_is_told_once_when_the_messages_stop(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=talk_config(tmp_path, holder_reads=False))
    robin, cora = emulator.user(6401, "Robin"), emulator.user(CORA, "Cora")
    sam = supporter(emulator, 6451)
    async with in_process(files, emulator) as runtime:
        await cora.send("/start")
        reference = await refer(robin, HIV_PLAN, files.config())
        await claimed(cora, reference)
        await match(runtime.store, reference, sam.id)

        # The person stops: the supporter is told, with the reference and nothing else.
        await robin.send("/talk")
        menu = await robin.wait_for(lambda m: "Messages through the bot" in m.content)
        await robin.press("Stop these messages", message=menu)
        stopped = await robin.wait_for(lambda m: "The messages are stopped" in m.content)
        told = await sam.wait_for(lambda m: TOLD in m.content)
        assert told.text.startswith("An update about your messages.\n")
        assert f"{reference} has stopped the messages" in told.text
        assert "Robin" not in told.text and told.protect_content
        assert "You can still talk to your coordinator." in told.text
        await drained(emulator)
        assert outbox_states(files, kinds.TALK_STOPPED_SUPPORTER) == ["sent"]

        # The person starts them again; the supporter stops: the person is told, once.
        await robin.press("Start the messages again", message=stopped)
        on = await robin.wait_for(lambda m: "The messages are on again" in m.content)
        await sam.send("/talk")
        theirs = await sam.wait_for(lambda m: "Messages through the bot" in m.content)
        stop = next(b.data for row in theirs.buttons for b in row if b.text.startswith("Stop"))
        assert stop is not None
        await sam.press("Stop these messages", message=theirs)
        await sam.wait_for(lambda m: "The messages are stopped" in m.content)
        news = await robin.wait_for(lambda m: TOLD in m.content)
        assert news.text.startswith("An update about your messages.\n")
        assert "Your supporter has stopped the messages" in news.text
        assert "Sam" not in news.text
        # A second press on the supporter's Stop (a double tap) tells nobody again.
        await sam.press_data(stop, message=theirs)
        await drained(emulator)
        assert outbox_states(files, kinds.TALK_STOPPED_PERSON) == ["sent"]
        assert sum(TOLD in m.content for m in robin.bot_messages) == 1
        assert sum(TOLD in m.content for m in sam.bot_messages) == 1
        assert on.message_id < news.message_id
