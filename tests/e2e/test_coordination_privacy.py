"""Personal details reach the claimer only: never the group, the log or the database file; and
the answers used to verify someone are erased for good once they are verified."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator, ScriptedGroup
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import HIV_PLAN, BotFiles, BotProcess, drained, in_process

#: Distinctive answers that occur nowhere else (name, area, clinic, medicine, free text).
CANARY_PLAN: dict[str, object] = {
    **HIV_PLAN,
    "name": "Zephyrine",
    "area": "Quillborough",
    "clinic": "Marchbank Canary Clinic",
    "medication": "Xylotrevir",
    "change": "canary-hope-8812 to sleep again",
    "interests": "canary-origami-kayaks",
}
ANSWERS = [str(CANARY_PLAN[k]) for k in ("name", "area", "clinic", "medication", "change")]
ANSWERS.append(str(CANARY_PLAN["interests"]))
FROM_THEM = "canary-reply-5531 evenings are fine"
FROM_TEAM = "canary-team-7720 shall we talk"
NOTE = "canary-note-3141 sounded anxious"
CANARIES = [*ANSWERS, FROM_THEM, FROM_TEAM, NOTE]


def everything_in(group: ScriptedGroup) -> list[str]:
    """Every text and button of every message the bot ever put in the group, edits included."""
    texts: list[str] = []
    for message in group.chat.messages.values():
        if not message.from_bot:
            continue
        texts += [message.content, *(t for t in message.edits if t)]
        texts += [f"{b.text} {b.data}" for row in message.buttons for b in row]
    return texts


def found(canaries: list[str], haystack: bytes) -> list[str]:
    return [c for c in canaries if c.encode() in haystack]


async def test_canaries_reach_the_claimer_and_nowhere_else(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    person = emulator.user(5801, "Pat")
    cora = emulator.user(CORA, "Cora")
    bot = BotProcess(files, emulator)
    await bot.start(PEERDOOR_LOG_LEVEL="DEBUG")
    try:
        await cora.send("/start")
        reference = await refer(person, CANARY_PLAN, files.config())
        await group_notice(group, reference)
        claim = await cora.press("Claim", chat=group)
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        assert details.protect_content
        assert [c for c in ANSWERS if c not in details.text] == []

        await cora.press("Add a note", message=details)
        await cora.wait_for(lambda m: "Type the note" in m.text)
        await cora.send(NOTE)
        await cora.wait_for(lambda m: "Note added" in m.text)
        await cora.send(f"/referral {reference}")  # a pressed message loses its buttons
        details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        await cora.press("Write to them", message=details)
        await cora.wait_for(lambda m: "Type your message" in m.text)
        await cora.send(FROM_TEAM)
        await person.wait_for(lambda m: FROM_TEAM in m.text)
        await person.send(FROM_THEM)
        relayed = await cora.wait_for(lambda m: FROM_THEM in m.text)
        assert relayed.protect_content
        await cora.send(f"/referral {reference}")
        again = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
        assert NOTE in again.text and FROM_THEM in again.text and FROM_TEAM in again.text
        await emulator.wait_until(
            lambda: any("claimed by Cora" in t for t in everything_in(group))
        )
        assert await bot.stop() == 0  # stopped cleanly: nothing more is sent or written

        group_texts = everything_in(group)
        group_texts += [claim.answer.text or ""] if claim.answer else []
        assert any(reference in t for t in group_texts)  # the group did get its notice
        assert [c for c in CANARIES if any(c in t for t in group_texts)] == []
        assert found(CANARIES, files.raw_bytes()) == []  # the live database and its WAL
    finally:
        await bot.stop()
    assert found(CANARIES, files.raw_bytes()) == []  # after the shutdown checkpoint
    log = bot.log.read_bytes()
    assert b"referral.claimed" in log and b"DEBUG" in log  # the log did record the work
    assert found(CANARIES, log) == []


@pytest.fixture
async def service(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator):
        yield files


def sealed_answers(files: BotFiles, reference: str) -> bytes:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        (blob,) = db.execute(
            "SELECT answers FROM referrals WHERE reference = ?", (reference,)
        ).fetchone()
    return bytes(blob)


async def test_verify_then_discard(service: BotFiles, emulator: BotApiEmulator) -> None:
    group = emulator.group(GROUP_ID, "Coordinators")
    person = emulator.user(5802, "Pat")
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    reference = await refer(person, CANARY_PLAN, service.config())
    await group_notice(group, reference)
    await cora.press("Claim", chat=group)
    details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    assert "Marchbank Canary Clinic" in details.text and "Xylotrevir" in details.text
    before = sealed_answers(service, reference)
    assert before[8:72] in service.raw_bytes()  # so its absence later means something

    await cora.press("Verified", message=details)
    confirm = await cora.wait_for(lambda m: "deleted for good" in m.text)
    await cora.press("Yes, verified: delete them", message=confirm)
    done = await cora.wait_for(lambda m: f"{reference} is now" in m.text)
    assert "Verified" not in done.button_texts
    await drained(emulator)

    store = await service.open_store()
    try:
        async with store.unit() as uow:
            referral = await uow.referrals.by_reference(reference)
            assert referral is not None
            answers = json.loads(await uow.referrals.answers(referral))
            audit = await uow.audit.entries(reference=reference)
    finally:
        await store.close()
    assert "clinic" not in answers and "medication" not in answers
    assert answers["name"] == "Zephyrine"  # the rest is kept
    assert referral.verified_at is not None
    assert [(e.action, e.detail) for e in audit if e.action == "verify"] == [
        ("verify", "erased:2")
    ]
    # The old ciphertext is gone from the file and the WAL, not only replaced in the row.
    after = sealed_answers(service, reference)
    assert after != before
    raw = service.raw_bytes()
    assert before[8:72] not in raw
    assert found(["Marchbank Canary Clinic", "Xylotrevir"], raw) == []

    await cora.send(f"/referral {reference}")
    now = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    assert "Verified on" in now.text
    assert "Marchbank" not in now.text and "Xylotrevir" not in now.text
    assert "(to verify)" not in now.text
    assert "Zephyrine" in now.text
    again = await cora.press_data(f"r:verified:{reference}", message=now)
    assert (await again.answered()).text == "That is done already."
