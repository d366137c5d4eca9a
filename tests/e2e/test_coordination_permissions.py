"""Who may do what: outsiders and other programmes' coordinators get nothing, forged or stale
buttons change nothing, and every refusal is audited."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator, Press, ScriptedUser
from tests.e2e.coordination import COLE, CORA, DIANA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import HIV_PLAN, BotFiles, drained, in_process

MALLORY = 7777  # a Telegram user with no role at all
NOT_A_COORDINATOR = "Sorry, this is only for the service's coordinators."
NOT_HELD = "You do not hold this referral. Take it over first."
WRONG_STATUS = "That does not fit the referral's status now."

#: Every action a coordinator's button can carry (r:<action>:<reference>[:<arg>]).
CASE_ACTIONS = (
    "claim",
    "take",
    "view",
    "contacted",
    "assessing",
    "verify",
    "verified",
    "note",
    "message",
    "defer",
    "deferok",
    "res",
    "match",
    "decline",
    "withdrawn",
    "close",
    "unassign",
    "stop",
)
#: What only the holder may do (everything that changes or reveals the referral).
HOLDER_ACTIONS = (
    "contacted",
    "assessing",
    "verify",
    "verified",
    "note",
    "message",
    "defer",
    "deferok",
    "match",
    "decline",
    "withdrawn",
    "close",
    "unassign",
)
#: The HIV plan's personal answers: none may reach anyone but the holder.
PERSONAL = [str(v) for v in HIV_PLAN.values() if isinstance(v, str)]
PERSONAL = [p for p in PERSONAL if len(p) > 8 or p in ("Robin", "Brighton")]


@pytest.fixture
async def service(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator):
        yield files


def forged(action: str, reference: str) -> str:
    return f"r:{action}:{reference}" + (":0" if action == "res" else "")


def texts_seen_by(person: ScriptedUser) -> list[str]:
    """Everything the bot showed this person in private, and its answers to their presses."""
    seen = [m.text or "" for m in person.bot_messages]
    seen += [t for m in person.bot_messages for t in m.edits if t]
    seen += [b for m in person.bot_messages for b in m.button_texts]
    seen += [a.text for a in person.callback_answers if a.text]
    return seen


def leaked(texts: list[str]) -> list[tuple[str, str]]:
    return [(p, t) for t in texts for p in PERSONAL if p in t]


async def stored_state(files: BotFiles, reference: str) -> dict[str, object]:
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            referral = await uow.referrals.by_reference(reference)
            assert referral is not None
            entries = await uow.audit.entries(reference=reference, limit=1000)
            everything = await uow.audit.entries(limit=1000)
            diana = await uow.people.find(DIANA)
            cole = await uow.people.find(COLE)
            cora = await uow.people.find(CORA)
            mallory = await uow.people.find(MALLORY)
    finally:
        await store.close()
    with sqlite3.connect(files.database) as db:
        outbox = db.execute(
            "SELECT kind FROM outbox WHERE referral_id = ? ORDER BY id", (referral.id,)
        ).fetchall()
    db.close()
    return {
        "referral": referral,
        "entries": entries,
        "everything": everything,
        "diana": diana.id if diana else None,
        "cole": cole.id if cole else None,
        "cora": cora.id if cora else None,
        "mallory": mallory.id if mallory else None,
        "outbox": [k for (k,) in outbox],
    }


async def test_outsiders_and_other_programmes_get_nothing(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5601, "Robin")
    mallory = emulator.user(MALLORY, "Mallory")
    diana = emulator.user(DIANA, "Diana")
    reference = await refer(robin, HIV_PLAN, service.config())
    await group_notice(group, reference)
    notice = group.last_bot_message
    assert notice is not None

    # Commands, in private.
    for command in ("/queue", "/mine", f"/referral {reference}"):
        await mallory.send(command)
        refusal = await mallory.wait_for(lambda m: True)
        assert refusal.text == NOT_A_COORDINATOR, command
    await diana.send("/queue")
    queue = await diana.wait_for(lambda m: True)
    assert reference not in queue.text
    assert queue.text == "Open referrals: none."
    await diana.send("/mine")
    assert (await diana.wait_for(lambda m: True)).text == "Your referrals: none."
    await diana.send(f"/referral {reference}")
    assert (await diana.wait_for(lambda m: True)).text == (
        f"No referral {reference} in your programmes."
    )

    # Every button action, forged, in their private chats and on the group notice. (Diana only
    # presses Claim there: each of her refusals is a message in the chat, and the group gets
    # at most one message every 3 seconds.)
    presses: list[tuple[ScriptedUser, str, Press]] = []
    for person in (mallory, diana):
        for action in CASE_ACTIONS:
            data = forged(action, reference)
            presses.append((person, data, await person.press_data(data)))
            if person is mallory or action == "claim":
                on_notice = await person.press_data(data, chat=group, message=notice)
                presses.append((person, data, on_notice))
    presses.append((mallory, "q:all:0", await mallory.press_data("q:all:0", chat=group)))
    presses.append((mallory, "q:all:0", await mallory.press_data("q:all:0")))
    presses.append((mallory, "q:mine:0", await mallory.press_data("q:mine:0")))
    for person, data, press in presses:
        answer = await press.answered()
        if person is mallory:
            assert answer.text == NOT_A_COORDINATOR, data
    await drained(emulator)
    # Diana is told in the chat she pressed in that the referral is not hers to see.
    in_private = [m.text for m in diana.bot_messages if "in your programmes" in m.text]
    assert len(in_private) == 1 + len(CASE_ACTIONS)
    assert all(t == f"No referral {reference} in your programmes." for t in in_private)
    await diana.press_data("q:all:0")
    page = await diana.wait_for(lambda m: m.text.startswith("Open referrals"))
    assert reference not in page.text

    # Nothing changed: still waiting, nobody holds it, no details queued for anyone.
    state = await stored_state(service, reference)
    referral = state["referral"]
    assert referral.status == "submitted"  # type: ignore[attr-defined]
    assert referral.holder_id is None  # type: ignore[attr-defined]
    assert referral.verified_at is None  # type: ignore[attr-defined]
    assert state["outbox"] == ["notice", "notice_reminder"]
    assert "Claim" in notice.button_texts
    assert "claimed" not in notice.text

    # Nothing personal reached them.
    assert leaked(texts_seen_by(mallory)) == []
    assert leaked(texts_seen_by(diana)) == []
    assert leaked([m.text or "" for m in group.bot_messages]) == []

    # Every refusal is in the audit trail, by whom and for which referral.
    entries = state["entries"]
    by_diana = {e.action for e in entries if e.actor_id == state["diana"]}  # type: ignore[attr-defined]
    by_mallory = {e.action for e in entries if e.actor_id == state["mallory"]}  # type: ignore[attr-defined]
    for action in CASE_ACTIONS:
        assert f"refused:{action}" in by_diana, action
        assert f"refused:{action}" in by_mallory, action
    assert "refused:view" in by_diana  # /referral
    assert all(e.action.startswith("refused:") for e in entries if e.actor_id is not None)
    unreferenced = [e.action for e in state["everything"] if e.reference is None]  # type: ignore[attr-defined]
    assert unreferenced.count("refused:queue") >= 3  # Mallory's /queue, /mine and q: presses
    assert "claim" not in {e.action for e in entries}


async def test_a_coordinator_who_does_not_hold_it_cannot_work_it(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5602, "Robin")
    cora, cole = emulator.user(CORA, "Cora"), emulator.user(COLE, "Cole")
    await cora.send("/start")
    await cole.send("/start")
    reference = await refer(robin, HIV_PLAN, service.config())
    await group_notice(group, reference)
    await cora.press("Claim", chat=group)
    await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    before = await stored_state(service, reference)

    for action in HOLDER_ACTIONS:
        press = await cole.press_data(forged(action, reference))
        assert (await press.answered()).text == NOT_HELD, action
    claim = await cole.press_data(forged("claim", reference))
    assert (await claim.answered()).text == "Someone else claimed it first."
    view = await cole.press_data(forged("view", reference))
    await view.answered()
    summary = await cole.wait_for(lambda m: m.text.startswith(reference))
    assert "claimed by someone else" in summary.text
    assert summary.button_texts == ["Take over"]
    # Typing now is not taken as a note or a message: nothing was asked of Cole.
    await cole.send("This is not a note")
    await drained(emulator)

    after = await stored_state(service, reference)
    referral = after["referral"]
    assert referral.status == "claimed"  # type: ignore[attr-defined]
    assert referral.holder_id == after["cora"]  # type: ignore[attr-defined]
    assert referral.contacted_at is None  # type: ignore[attr-defined]
    assert referral.verified_at is None  # type: ignore[attr-defined]
    assert after["outbox"] == before["outbox"]
    refused = [e for e in after["entries"] if e.actor_id == after["cole"]]  # type: ignore[attr-defined]
    assert {e.action for e in refused} >= {f"refused:{a}" for a in HOLDER_ACTIONS}
    assert all(e.detail == "not_held" for e in refused if e.action != "refused:claim")
    assert leaked(texts_seen_by(cole)) == []
    assert not [m for m in robin.bot_messages if "This is not a note" in m.text]
    # Cora's answers are unchanged: her clinic answer was not erased by a forged "verified".
    await cora.send(f"/referral {reference}")
    details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    assert "Lawson Unit" in details.text


async def test_stale_buttons_get_a_polite_answer(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5603, "Robin")
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    reference = await refer(robin, HIV_PLAN, service.config())
    await group_notice(group, reference)
    notice = group.last_bot_message
    assert notice is not None
    await cora.press("Claim", chat=group)
    details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))

    await cora.press("Contacted", message=details)
    await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)
    again = await cora.press_data(forged("contacted", reference), message=details)
    assert (await again.answered()).text == WRONG_STATUS
    # The old group notice's Claim button, pressed once more by its own claimer.
    old_claim = await cora.press_data(forged("claim", reference), chat=group, message=notice)
    assert (await old_claim.answered()).text
    # A deferral's resource button when no deferral is going on, on the older details screen
    # (a press on a message takes its keyboard away: not the live one with Close).
    tick = await cora.press_data(forged("res", reference), message=details)
    assert (await tick.answered()).text
    await drained(emulator)  # every edit in: the answer to a press goes out beside them
    await cora.press("Close")
    await cora.wait_for(lambda m: f"{reference} is now closed" in m.text)
    after_close = await cora.press_data(forged("contacted", reference))
    assert (await after_close.answered()).text == "This referral is closed."
    await drained(emulator)

    state = await stored_state(service, reference)
    referral = state["referral"]
    assert referral.status == "closed"  # type: ignore[attr-defined]
    actions = [e.action for e in state["entries"]]  # type: ignore[attr-defined]
    assert actions.count("status:contacted") == 1
    assert "refused:contacted" in actions
    assert not any("went wrong" in t.lower() for t in texts_seen_by(cora))


GARBAGE = ("r:", "r:claim", "r::", "q:", "q:all", "q:all:x", "r:claim:PD-ZZZZZZ", "zzz")


async def test_garbage_callback_data_gets_a_polite_answer_and_no_crash(
    service: BotFiles, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5604, "Robin")
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    reference = await refer(robin, HIV_PLAN, service.config())
    await group_notice(group, reference)
    notice = group.last_bot_message
    assert notice is not None
    caplog.set_level(logging.INFO, logger="peerdoor")

    presses = []
    for data in GARBAGE:
        presses.append(await cora.press_data(data))
        presses.append(await cora.press_data(data, chat=group, message=notice))
    with contextlib.suppress(AssertionError):  # the list below says which, if any
        await emulator.wait_until(lambda: all(p.answer for p in presses), timeout=3)
    await drained(emulator)
    unanswered = [(p.data, p.message.chat.id) for p in presses if p.answer is None]
    failures = [r.getMessage() for r in caplog.records if "update.failed" in r.getMessage()]
    assert unanswered == [], f"presses never answered: {unanswered}; log: {failures}"
    assert failures == []
    assert "Claim" in notice.button_texts
    state = await stored_state(service, reference)
    assert state["referral"].holder_id is None  # type: ignore[attr-defined]
