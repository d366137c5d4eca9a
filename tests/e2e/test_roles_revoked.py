"""Taking a role away (issue #16, finding 4): from the command line and in the bot, a coordinator
who lost the role gets nothing more about the referrals they held (not even a relay queued
before), their referrals go back to the queue with the reference only, and a coordinator taken
out of the config is treated the same at the next start."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.delivery.worker import DeliveryWorker
from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator, ScriptedUser
from tests.e2e.coordination import (
    COLE,
    CORA,
    DIABETES_GROUP_ID,
    DIANA,
    GROUP_ID,
    group_notice,
    refer,
    write_config,
)
from tests.e2e.harness import HIV_PLAN, BotFiles, in_process
from tests.e2e.test_coordination_cli import peerdoor

IRIS = 7401  # a coordinator by invite (the config does not name her)
NOT_A_COORDINATOR = "Sorry, this is only for the service's coordinators."
PASSED_ON = "Thank you. We have passed your message on."
PERSONAL = [v for v in HIV_PLAN.values() if isinstance(v, str) and len(v) > 8]


async def join_as(
    files: BotFiles, emulator: BotApiEmulator, person: ScriptedUser, role: str, programme: str
) -> None:
    """`peerdoor invite`, then the person sends /join CODE."""
    code, out, err = await peerdoor(files, emulator, "invite", role, "--programme", programme)
    assert code == 0, err
    invite = next(line.split()[-1] for line in out.splitlines() if "/join" in line)
    await person.send(f"/join {invite}")
    await person.wait_for(lambda m: m.text.startswith("Welcome. You are now"))


async def claim(holder: ScriptedUser, group: object, reference: str) -> None:
    await holder.press("Claim", chat=group)  # type: ignore[arg-type]
    await holder.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))


def outbox(files: BotFiles, kind: str) -> list[tuple[str, str | None]]:
    """(state, error) of every outbox row of a kind, oldest first."""
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        return db.execute(
            "SELECT state, error FROM outbox WHERE kind = ? ORDER BY id", (kind,)
        ).fetchall()


def audit_actions(files: BotFiles) -> list[str]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        return [a for (a,) in db.execute("SELECT action FROM audit_log ORDER BY seq")]


def holder_of(files: BotFiles, reference: str) -> tuple[str | None, str]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        row = db.execute(
            "SELECT holder_id, status FROM referrals WHERE reference = ?", (reference,)
        ).fetchone()
    return row[0], row[1]


@contextlib.asynccontextmanager
async def paused_delivery(runtime: Runtime) -> AsyncIterator[DeliveryWorker]:
    """The bot's delivery worker stopped (rows queue up); yields a worker over the same store
    and sender that the test drains by hand. The bot's own worker starts again afterwards."""
    await runtime.worker.stop()
    try:
        yield DeliveryWorker(runtime.store, runtime.worker.send, runtime.clock)
    finally:
        runtime.worker.start()


async def drain(worker: DeliveryWorker) -> None:
    """Deliver everything due now: after it, nothing queued is left to arrive."""
    while await worker.drain():
        pass


@pytest.fixture
def files(tmp_path: Path) -> BotFiles:
    return BotFiles(tmp_path, config_path=write_config(tmp_path))


async def test_peerdoor_revoke_hands_back_and_a_relay_queued_before_never_arrives(
    files: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    robin, iris, cora = (
        emulator.user(5701, "Robin"),
        emulator.user(IRIS, "Iris"),
        emulator.user(CORA, "Cora"),
    )
    async with in_process(files, emulator) as runtime:
        await cora.send("/start")
        await join_as(files, emulator, iris, "coordinator", "hiv")
        reference = await refer(robin, HIV_PLAN, files.config())
        await group_notice(group, reference)
        await claim(iris, group, reference)
        await robin.send("A first message after the form")
        await robin.wait_for(lambda m: m.text == PASSED_ON)
        await iris.wait_for(lambda m: "A first message after the form" in m.text)

        async with paused_delivery(runtime) as worker:
            await robin.send("My viral load result is in")
            await robin.wait_for(lambda m: m.text == PASSED_ON)
            assert outbox(files, "to_holder")[-1] == ("pending", None)  # queued for Iris

            code, out, err = await peerdoor(
                files, emulator, "revoke", "coordinator", str(IRIS), "--programme", "hiv"
            )
            assert code == 0, err
            assert f"Back in the queue: 1 ({reference})" in out
            seen = len(iris.bot_messages)
            await drain(worker)

            assert len(iris.bot_messages) == seen  # not the relay, nor anything else
            assert not any("viral load" in m.text for m in iris.bot_messages)
            assert outbox(files, "to_holder")[-1][0] != "pending"
            back = await group.wait_for(lambda m: "Back in the queue" in m.text)
            assert reference in back.text and back.button_texts == ["Claim"]
            assert not [p for p in PERSONAL if p in back.text]
            assert "viral" not in back.text
        assert holder_of(files, reference) == (None, "submitted")

        await iris.send("/queue")
        assert (await iris.wait_for(lambda m: True)).text == NOT_A_COORDINATOR
        # Cora claims it from the group and reads the message Iris never got.
        await cora.press("Claim", chat=group, message=back)
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        assert "My viral load result is in" in details.text

        # Again: nothing more to take away, said plainly.
        code, out, _err = await peerdoor(
            files, emulator, "revoke", "coordinator", str(IRIS), "--programme", "hiv"
        )
        assert code == 1 and "nothing changed" in out
        # A coordinator the config names is the config's to change.
        code, _out, err = await peerdoor(
            files, emulator, "revoke", "coordinator", str(COLE), "--programme", "hiv"
        )
        assert code == 2 and "take them out there first" in err

    actions = audit_actions(files)
    assert actions.count("revoke:coordinator") == 1
    assert actions.count("handed_back") == 1


async def test_a_coordinator_revokes_in_the_bot_after_a_confirm_press(
    files: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    emulator.group(DIABETES_GROUP_ID, "Diabetes coordinators")
    robin, iris = emulator.user(5702, "Robin"), emulator.user(IRIS, "Iris")
    cora, diana = emulator.user(CORA, "Cora"), emulator.user(DIANA, "Diana")
    mallory = emulator.user(7777, "Mallory")
    async with in_process(files, emulator) as runtime:
        await join_as(files, emulator, iris, "coordinator", "hiv")
        reference = await refer(robin, HIV_PLAN, files.config())
        await group_notice(group, reference)
        await claim(iris, group, reference)
        await iris.press("Write to them")  # she starts a message for Robin...
        await iris.wait_for(lambda m: reference in m.text)

        # Who may not: another programme's coordinator, an outsider, a config coordinator.
        await diana.send(f"/revoke {IRIS}")
        assert (await diana.wait_for(lambda m: True)).text == (
            "Nobody with that id has a role in your programmes."
        )
        await mallory.send(f"/revoke {IRIS}")
        assert (await mallory.wait_for(lambda m: True)).text == NOT_A_COORDINATOR
        forged = await mallory.press_data("r:revoke:yes")
        assert (await forged.answered()).text == NOT_A_COORDINATOR
        await cora.send(f"/revoke {COLE}")
        assert "listed in the config file" in (await cora.wait_for(lambda m: True)).text
        await cora.send(f"/revoke {CORA}")
        assert "your own role" in (await cora.wait_for(lambda m: True)).text
        await cora.send("/revoke")
        assert "/revoke 123456789" in (await cora.wait_for(lambda m: True)).text

        # Cancel changes nothing.
        await cora.send(f"/revoke {IRIS}")
        ask = await cora.wait_for(lambda m: m.text.startswith("Take away the coordinator role"))
        assert "The 1 referrals they hold go back to the queue." in ask.text
        await cora.press("Cancel", message=ask)
        await emulator.wait_until(lambda: ask.text == "Cancelled.", what="cancelled")
        assert holder_of(files, reference)[0] is not None

        async with paused_delivery(runtime) as worker:
            await robin.send("My viral load result is in")
            await robin.wait_for(lambda m: m.text == PASSED_ON)
            await cora.send(f"/revoke {IRIS}")
            ask = await cora.wait_for(lambda m: m.text.startswith("Take away"))
            await cora.press("Yes, take it away", message=ask)
            await emulator.wait_until(
                lambda: "Referrals back in the queue: 1." in ask.text,
                what="revoked",
            )
            # ...and types it after her role went: it goes nowhere.
            await iris.send("Your appointment is at 3pm")
            await emulator.settle()
            robin_seen = len(robin.bot_messages)
            await drain(worker)
            assert not any("viral load" in m.text for m in iris.bot_messages)
            assert not any("3pm" in m.text for m in robin.bot_messages)
            back = await group.wait_for(lambda m: "Back in the queue" in m.text)
            assert reference in back.text
            assert len(robin.bot_messages) == robin_seen  # nothing from the team
        replay = await cora.press_data("r:revoke:yes", message=ask)
        assert (await replay.answered()).text  # an expired press: nothing happens
        await iris.send("/mine")
        await iris.wait_for(lambda m: m.text == NOT_A_COORDINATOR)

    assert holder_of(files, reference) == (None, "submitted")
    actions = audit_actions(files)
    assert actions.count("revoke:coordinator") == 1
    assert "refused:revoke" in actions  # Diana's and Mallory's attempts


async def test_a_coordinator_taken_out_of_the_config_gets_nothing_after_a_restart(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    robin, cole = emulator.user(5703, "Robin"), emulator.user(COLE, "Cole")
    async with in_process(files, emulator):
        await cole.send("/start")
        reference = await refer(robin, HIV_PLAN, files.config())
        await group_notice(group, reference)
        await claim(cole, group, reference)
        await robin.send("Before")
        await robin.wait_for(lambda m: m.text == PASSED_ON)
        await cole.wait_for(lambda m: "Before" in m.text)

    # The operator takes Cole out of the config while the bot is down.
    text = files.config_path.read_text(encoding="utf-8")
    files.config_path.write_text(
        text.replace(f"coordinators = [{CORA}, {COLE}]", f"coordinators = [{CORA}]", 1),
        encoding="utf-8",
    )
    seen = len(cole.bot_messages)
    async with in_process(files, emulator) as runtime:
        back = await group.wait_for(lambda m: "Back in the queue" in m.text, timeout=10)
        assert reference in back.text
        async with paused_delivery(runtime) as worker:
            await robin.send("My viral load result is in")
            await robin.wait_for(lambda m: "kept your message" in m.text)
            await drain(worker)
        assert len(cole.bot_messages) == seen
    assert holder_of(files, reference) == (None, "submitted")


async def test_the_typed_step_repeats_the_programme_check(
    files: BotFiles, emulator: BotApiEmulator
) -> None:
    """Iris coordinates both programmes and starts a message on an HIV referral; her HIV role
    row then goes (as a role removed outside the bot would) while she still holds it. Her
    typed text must meet the same programme check as a press: nothing reaches Robin."""
    group = emulator.group(GROUP_ID, "Coordinators")
    emulator.group(DIABETES_GROUP_ID, "Diabetes coordinators")
    robin, iris = emulator.user(5704, "Robin"), emulator.user(IRIS, "Iris")
    async with in_process(files, emulator) as runtime:
        await join_as(files, emulator, iris, "coordinator", "hiv")
        await join_as(files, emulator, iris, "coordinator", "diabetes")
        reference = await refer(robin, HIV_PLAN, files.config())
        await group_notice(group, reference)
        await claim(iris, group, reference)
        await iris.press("Write to them")
        await iris.wait_for(lambda m: reference in m.text)
        store = runtime.store
        async with store.unit() as uow:
            person = await uow.people.find(IRIS)
            assert person is not None
            assert await uow.roles.revoke(person, "coordinator", "hiv")
        async with paused_delivery(runtime) as worker:
            await iris.send("Your appointment is at 3pm")
            answer = await iris.wait_for(lambda m: True)
            await drain(worker)
        assert "sent" not in answer.text.lower()
        assert not any("3pm" in m.text for m in robin.bot_messages)
    assert outbox(files, "to_referrer") == []
    assert "refused:message" in audit_actions(files)


async def test_revoking_a_supporter_withdraws_a_hand_over_still_queued(
    files: BotFiles, emulator: BotApiEmulator
) -> None:
    from tests.e2e.test_supporters_match import SAM, contacted_referral, profile

    sam = emulator.user(SAM, "Sam")
    async with in_process(files, emulator) as runtime:
        await profile(sam, emulator, runtime, ["English"], "Online", "Walking and cooking")
        _robin, cora, reference, status = await contacted_referral(emulator, files)
        async with paused_delivery(runtime) as worker:
            await cora.press("Match", message=status)
            offer = await cora.wait_for(lambda m: "best fit first" in m.text)
            await cora.press("1. Sam", message=offer)
            await emulator.wait_until(lambda: "Send to Sam" in offer.button_texts, what="share")
            await cora.press("Send to Sam", message=offer)
            await emulator.wait_until(lambda: bool(outbox(files, "handover")), what="queued")
            assert outbox(files, "handover") == [("pending", None)]

            await cora.send(f"/revoke {SAM}")
            ask = await cora.wait_for(lambda m: m.text.startswith("Take away the peer supporter"))
            assert "Their offers are withdrawn and their matches end." in ask.text
            await cora.press("Yes, take it away", message=ask)
            await emulator.wait_until(lambda: ask.text.startswith("Done."), what="revoked")
            seen = len(sam.bot_messages)
            await drain(worker)
            assert len(sam.bot_messages) == seen  # the hand-over never reaches Sam
            assert not any(reference in m.text for m in sam.bot_messages)
        # Sam is no longer suggested.
        await cora.send(f"/referral {reference}")
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        await cora.press("Match", message=details)
        again = await cora.wait_for(lambda m: "Someone else (type a name)" in m.button_texts)
        assert again.text.startswith("No peer supporters are ready in this programme yet.")
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        statuses = [s for (s,) in db.execute("SELECT status FROM engagements")]
        roles = db.execute("SELECT count(*) FROM roles WHERE role = 'supporter'").fetchone()[0]
    assert statuses == ["withdrawn"]
    assert roles == 0
    assert "revoke:supporter" in audit_actions(files)


async def test_deliveries_ask_for_the_role_at_send_time(
    files: BotFiles, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The role row alone goes (no hand-back, no withdrawn offer: as any path that removes a
    role without the rest would leave it) while a relay for the holder and a hand-over for a
    supporter wait in the outbox. Neither is sent: the dispatcher asks for the role itself."""
    from tests.e2e.test_supporters_match import SAM, profile

    group = emulator.group(GROUP_ID, "Coordinators")
    robin, iris, sam = (
        emulator.user(5705, "Robin"),
        emulator.user(IRIS, "Iris"),
        emulator.user(SAM, "Sam"),
    )
    caplog.set_level(logging.INFO, logger="peerdoor")
    async with in_process(files, emulator) as runtime:
        await profile(sam, emulator, runtime, ["English"], "Online", "Walking and cooking")
        await join_as(files, emulator, iris, "coordinator", "hiv")
        reference = await refer(robin, HIV_PLAN, files.config())
        await group_notice(group, reference)
        await claim(iris, group, reference)
        await iris.press("Contacted")
        status = await iris.wait_for(lambda m: f"{reference} is now contacted" in m.text)
        async with paused_delivery(runtime) as worker:
            await iris.press("Match", message=status)
            offer = await iris.wait_for(lambda m: "best fit first" in m.text)
            await iris.press("1. Sam", message=offer)
            await emulator.wait_until(lambda: "Send to Sam" in offer.button_texts, what="share")
            await iris.press("Send to Sam", message=offer)
            await emulator.wait_until(lambda: bool(outbox(files, "handover")), what="queued")
            robin.skip_sent()
            await robin.send("My viral load result is in")
            await robin.wait_for(lambda m: m.text == PASSED_ON)
            async with runtime.store.unit() as uow:
                iris_person, sam_person = await uow.people.find(IRIS), await uow.people.find(SAM)
                assert iris_person is not None and sam_person is not None
                assert await uow.roles.revoke(iris_person, "coordinator", "hiv")
                assert await uow.roles.revoke(sam_person, "supporter", "hiv")
            seen = len(iris.bot_messages), len(sam.bot_messages)
            await drain(worker)
            assert (len(iris.bot_messages), len(sam.bot_messages)) == seen
        assert outbox(files, "to_holder")[-1][0] != "pending"
        assert outbox(files, "handover")[-1][0] != "pending"
    assert holder_of(files, reference)[0] == iris_person.id  # nothing else was undone
    assert "reason=holder_without_role" in caplog.text
