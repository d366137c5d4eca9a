"""A professional turns their updates off with one press on the "received" update (issue #13
item 4): the "contacted" update is never sent; forged presses and a press by someone else are
refused; a second press changes nothing. Through the real bot against the emulator."""

from __future__ import annotations

from pathlib import Path

from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, write_config
from tests.e2e.harness import BotFiles, drained, in_process
from tests.e2e.test_ways_in_behalf import (
    OUTSIDER_ID,
    PRO_ID,
    PRO_PLAN,
    db_rows,
    refer,
    sent_reference,
)

EXPIRED = "This button has expired. Please use the newest message."
NEWS = "News about a referral you made"


async def test_a_professional_turns_the_updates_off_after_sending(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    cora = emulator.user(CORA, "Cora")
    pro = emulator.user(PRO_ID, "Quill")
    outsider = emulator.user(OUTSIDER_ID, "Otto")
    async with in_process(files, emulator):
        await cora.send("/mine")
        await refer(pro, files, PRO_PLAN)
        await pro.press("Send my form")
        reference = await sent_reference(pro)
        await group_notice(group, reference)
        await cora.press("Claim", chat=group)
        received = await pro.wait_for(lambda m: NEWS in m.text)
        assert received.button_texts == ["No more updates, thank you"]

        # forged, and someone who did not make the referral: refused, nothing changes
        for data in ("pu:off:", "pu:on:" + reference, "pu:off:PD-ZZZZZZ", "pu:off:a b"):
            press = await pro.press_data(data, message=received)
            assert (await press.answered()).text == EXPIRED, data
        await outsider.send("/start")
        hello = await outsider.wait_for(lambda m: bool(m.text))
        press = await outsider.press_data(f"pu:off:{reference}", message=hello)
        assert (await press.answered()).text == EXPIRED
        await drained(emulator)
        assert db_rows(files, "SELECT updates FROM referrers") == [(1,)]

        await pro.press("No more updates, thank you", message=received)
        await emulator.wait_until(
            lambda: "You will get no more updates about this referral." in received.text,
            what="updates off",
        )
        assert received.text.startswith(NEWS) and received.button_texts == []
        assert db_rows(files, "SELECT updates FROM referrers") == [(0,)]
        again = await pro.press_data(f"pu:off:{reference}", message=received)
        await again.answered()

        # contacted: the professional hears nothing more
        await cora.send(f"/referral {reference}")
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        await cora.press("Contacted", message=details)
        await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)
        await drained(emulator)
    assert sum(NEWS in m.text for m in pro.bot_messages) == 1
    assert db_rows(
        files,
        "SELECT count(*) FROM audit_log WHERE action = 'pro_updates:off' AND reference = ?",
        reference,
    ) == [(1,)]
