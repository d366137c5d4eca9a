"""/queue and /mine: pages of eight, urgent first and then the longest waiting, Older/Newer
buttons, and only the programmes (or the referrals) that are the coordinator's own.

The twenty referrals are written straight through the storage API (`uow.referrals.create`),
not typed through the form twenty times: the queue reads only the referrals table, and twenty
group notices would take a minute at Telegram's 20 messages a minute per group. Urgency and
distinct submission times are set the same way, since a person cannot choose them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from tests.e2e.coordination import COLE, CORA, DIANA, write_config
from tests.e2e.harness import REFERENCE, BotFiles, in_process

URGENT_AT = (4, 11, 17)  # which of the twenty are urgent (0 is the oldest)


@pytest.fixture
async def service(tmp_path: Path, emulator: BotApiEmulator) -> AsyncIterator[BotFiles]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator):
        yield files


async def seed(files: BotFiles) -> tuple[list[str], list[str], str]:
    """Twenty open HIV referrals, two diabetes ones and a closed HIV one.

    Returns the HIV references in queue order (urgent first, then oldest), the diabetes ones,
    and the closed one."""
    store = await files.open_store()
    now = datetime.now(UTC)
    hiv: list[tuple[bool, datetime, str]] = []
    diabetes: list[str] = []
    try:
        async with store.unit() as uow:
            for i in range(23):
                person = await uow.people.create(9100 + i, now)
                submitted = now - timedelta(hours=30 - i)
                programme = "diabetes" if i in (20, 21) else "hiv"
                answers = json.dumps({"name": f"Seeded person {i}"}).encode()
                referral = await uow.referrals.create(
                    person, programme, answers, urgent=False, now=submitted
                )
                if i in URGENT_AT:
                    await uow.referrals.set_urgent(referral, True, submitted)
                if i == 22:
                    await uow.referrals.set_status(referral, "closed", now)
                    closed = referral.reference
                elif programme == "diabetes":
                    diabetes.append(referral.reference)
                else:
                    hiv.append((i in URGENT_AT, submitted, referral.reference))
    finally:
        await store.close()
    ordered = [ref for _, _, ref in sorted(hiv, key=lambda r: (not r[0], r[1]))]
    return ordered, diabetes, closed


def listed(page: StoredMessage) -> list[str]:
    """The references on a queue page, top to bottom (the text; the buttons must agree)."""
    found = REFERENCE.findall(page.text)
    assert [b for b in page.button_texts if REFERENCE.fullmatch(b)] == found
    return found


async def next_page(person: ScriptedUser, label: str, page: StoredMessage) -> StoredMessage:
    await person.press(label, message=page)
    return await person.wait_for(lambda m: m.text.startswith(("Open referrals", "Your referrals")))


async def test_queue_pages_urgent_first_then_oldest(
    service: BotFiles, emulator: BotApiEmulator
) -> None:
    ordered, diabetes, closed = await seed(service)
    assert len(ordered) == 20
    cora = emulator.user(CORA, "Cora")

    await cora.send("/queue")
    first = await cora.wait_for(lambda m: m.text.startswith("Open referrals"))
    assert first.text.splitlines()[0] == "Open referrals (20), page 1 of 3"
    assert listed(first) == ordered[:8]
    assert first.text.splitlines()[1].startswith("URGENT · ")
    assert sum("URGENT" in line for line in first.text.splitlines()) == len(URGENT_AT)
    assert first.button_texts[-1] == "Older →"
    assert "← Newer" not in first.button_texts

    second = await next_page(cora, "Older →", first)
    assert second.text.splitlines()[0] == "Open referrals (20), page 2 of 3"
    assert listed(second) == ordered[8:16]
    assert second.button_texts[-2:] == ["← Newer", "Older →"]
    third = await next_page(cora, "Older →", second)
    assert listed(third) == ordered[16:]
    assert third.button_texts[-1] == "← Newer" and "Older →" not in third.button_texts
    back = await next_page(cora, "← Newer", third)
    assert listed(back) == ordered[8:16]

    every = [r for page in (first, second, third) for r in REFERENCE.findall(page.text)]
    assert sorted(every) == sorted(ordered)  # each once; none of another programme's
    assert closed not in every and not set(diabetes) & set(every)
    assert "Seeded person" not in " ".join(m.text for m in cora.bot_messages)

    diana = emulator.user(DIANA, "Diana")
    await diana.send("/queue")
    theirs = await diana.wait_for(lambda m: m.text.startswith("Open referrals"))
    assert theirs.text.splitlines()[0] == "Open referrals (2), page 1 of 1"
    assert listed(theirs) == diabetes
    assert not theirs.button_texts[-1].startswith(("Older", "←"))


async def claim_from_queue(person: ScriptedUser, reference: str) -> None:
    await person.send("/queue")
    page = await person.wait_for(lambda m: m.text.startswith("Open referrals"))
    await person.press(reference, message=page)
    summary = await person.wait_for(lambda m: m.text.startswith(reference))
    assert "unclaimed" in summary.text
    await person.press("Claim", message=summary)
    await person.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))


async def test_mine_lists_only_my_own(service: BotFiles, emulator: BotApiEmulator) -> None:
    ordered, _, _ = await seed(service)
    cora, cole = emulator.user(CORA, "Cora"), emulator.user(COLE, "Cole")
    await cora.send("/mine")
    assert (await cora.wait_for(lambda m: True)).text == "Your referrals: none."

    for reference in (ordered[0], ordered[5]):
        await claim_from_queue(cora, reference)
    await claim_from_queue(cole, ordered[1])

    await cora.send("/mine")
    mine = await cora.wait_for(lambda m: m.text.startswith("Your referrals"))
    assert mine.text.splitlines()[0] == "Your referrals (2), page 1 of 1"
    assert listed(mine) == [ordered[0], ordered[5]]
    assert all("yours" in line for line in mine.text.splitlines()[1:])
    await cole.send("/mine")
    theirs = await cole.wait_for(lambda m: m.text.startswith("Your referrals"))
    assert listed(theirs) == [ordered[1]]

    # The open queue still shows all twenty, with who holds what from Cora's side.
    await cora.send("/queue")
    page = await cora.wait_for(lambda m: m.text.startswith("Open referrals"))
    lines = {REFERENCE.search(line).group(0): line for line in page.text.splitlines()[1:]}  # type: ignore[union-attr]
    assert "· claimed · yours ·" in lines[ordered[0]]
    assert "· claimed · claimed ·" in lines[ordered[1]]
    assert "· waiting · unclaimed ·" in lines[ordered[2]]
