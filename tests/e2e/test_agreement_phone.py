"""The confidentiality agreement for someone without Telegram, through the real bot (issue #15
with #13): Match on a phone referral makes the agreement a task for the holder, with the text
to read out; the holder records "they did not agree" then "they agreed on the phone"; the
answer is kept and shown as the person's own would be, audited, and the hand-over goes ahead.
Forged presses, and presses by someone who does not hold it, change nothing."""

from __future__ import annotations

from pathlib import Path

from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, hand_over
from tests.e2e.harness import HIV_PLAN, BotFiles, drained, fill_form, in_process
from tests.e2e.test_agreement import PACT, agreement_config, answers
from tests.e2e.test_supporters_match import SAM, profile
from tests.e2e.test_ways_in_behalf import OUTSIDER_ID, db_rows, sent_reference

WAITING = "has not accepted the agreement (version 1) yet. You have a task to read it"
EXPIRED = "This button has expired. Please use the newest message."


async def test_the_holder_records_the_agreement_read_out_on_the_phone(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=agreement_config(tmp_path, "1"))
    group = emulator.group(GROUP_ID, "Coordinators")
    cora = emulator.user(CORA, "Cora")
    sam = emulator.user(SAM, "Sam")
    outsider = emulator.user(OUTSIDER_ID, "Otto")
    programme = files.config().programme("hiv")
    assert programme is not None
    async with in_process(files, emulator) as runtime:
        await profile(sam, emulator, runtime, ["English"], "Online", "Walking")
        await cora.send("/newreferral hiv")
        await cora.wait_for(lambda m: "How did they agree?" in m.text)
        await cora.press("They agreed on the phone")
        await fill_form(cora, programme, HIV_PLAN)
        await cora.press("Send my form")
        reference = await sent_reference(cora)
        await group_notice(group, reference)
        await cora.press("Claim", chat=group)
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        await cora.press("Contacted", message=details)
        status = await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)

        await cora.press("Match", message=status)
        task = await cora.wait_for(lambda m: "read them the confidentiality agreement" in m.text)
        await emulator.wait_until(
            lambda: any(WAITING in m.text for m in cora.bot_messages),
            what="waiting",
        )
        assert task.text.startswith("A task for you")
        assert reference in task.text and f"{PACT} (v1)" in task.text
        assert task.button_texts == ["They agreed on the phone", "They did not agree"]

        # forged and foreign presses: refused, nothing recorded
        for data in ("gp:y:1", "gp:q:1:" + reference, "gp:y:1:pd-x y", "gp:y::" + reference):
            press = await cora.press_data(data, message=task)
            assert (await press.answered()).text == EXPIRED, data
        await outsider.send("/start")
        hello = await outsider.wait_for(lambda m: bool(m.content))
        press = await outsider.press_data(f"gp:y:1:{reference}", message=hello)
        assert (await press.answered()).text == EXPIRED
        await drained(emulator)
        assert answers(files) == []

        # they did not agree, then (after talking it through) they did
        await cora.press("They did not agree", message=task)
        await emulator.wait_until(
            lambda: f"{reference} did not accept the agreement (version 1)" in task.text,
            what="declined",
        )
        assert answers(files) == [("1", "declined")]
        await cora.send(f"/referral {reference}")
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        assert "Agreement: version 1 not accepted" in details.text
        await cora.press("Match", message=details)
        again = await cora.wait_for(
            lambda m: (
                "read them the confidentiality agreement" in m.text
                and m.message_id > task.message_id
            )
        )
        await cora.press("They agreed on the phone", message=again)
        await emulator.wait_until(
            lambda: f"{reference} accepted the agreement (version 1)" in again.text,
            what="accepted",
        )
        assert answers(files) == [("1", "accepted")]
        twice = await cora.press_data(f"gp:y:1:{reference}", message=again)
        assert (await twice.answered()).text == "That is done already."
        audited = db_rows(
            files,
            "SELECT action, detail FROM audit_log WHERE reference = ?"
            " AND action LIKE 'agreement:%' ORDER BY rowid",
            reference,
        )
        assert ("agreement:declined", "1:phone") in audited
        assert ("agreement:accepted", "1:phone") in audited

        # shown as the person's own answer, and the hand-over goes ahead
        await cora.send(f"/referral {reference}")
        shown = await cora.wait_for(
            lambda m: m.text.startswith(f"Referral {reference}") and "Agreement" in m.text
        )
        assert "Agreement: version 1 accepted on" in shown.text
        handover = await hand_over(cora, sam, emulator, shown)
        assert PACT not in handover.text
        await drained(emulator)
    assert not any("agreement" in m.content.lower() for m in group.bot_messages)
