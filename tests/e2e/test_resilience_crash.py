"""Crash safety: the bot process is SIGKILLed at random moments while many people fill in the
form and hand it off at once. Every acknowledged answer survives, every form sent becomes exactly
one referral, and the coordinators' group hears of each referral once (twice only where the kill
fell between sending the notice and marking it sent, which the README allows)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import GROUP_ID, write_config
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, BotProcess
from tests.e2e.resilience import (
    Intake,
    full_transcript,
    held,
    integrity,
    missing_answers,
    outbox_notices,
    personal_plan,
)

pytestmark = pytest.mark.slow

SEED = 20250611
PEOPLE = 40
KILLS = 4


async def test_killed_at_random_moments_during_forty_intakes(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    started = time.monotonic()
    # Flood limits off on both sides: 40 group notices at Telegram's 20 a minute would take two
    # minutes. Telegram's limits are covered in test_resilience_faults.
    async with BotApiEmulator(rate_limits=False) as emulator:
        files = BotFiles(tmp_path, config_path=write_config(tmp_path))
        programme = files.config().programme("hiv")
        assert programme is not None
        group = emulator.group(GROUP_ID, "Coordinators")
        bot = BotProcess(files, emulator)
        bot_up = asyncio.Event()
        await bot.start(PEERDOOR_RATE_LIMIT="false")
        bot_up.set()

        people = [
            Intake(
                emulator.user(8000 + i, f"Robin{i}"),
                programme,
                personal_plan(HIV_PLAN, i),
                bot_up,
                patience=4.0,
            )
            for i in range(PEOPLE)
        ]

        async def arrive(intake: Intake, delay: float) -> str:
            await asyncio.sleep(delay)
            return await intake.run(timeout=120)

        tasks = [asyncio.create_task(arrive(p, rng.uniform(0, 6))) for p in people]
        # The first kill at a random moment of the intakes; the others once a random number of
        # people have sent their forms, so that kills also fall among the hand-offs.
        thresholds = sorted(rng.sample(range(2, PEOPLE - 2), KILLS - 1))

        async def moment(kill: int) -> None:
            if kill == 0:
                await asyncio.sleep(rng.uniform(1.0, 4.0))
                return
            goal = thresholds[kill - 1]
            await emulator.wait_until(
                lambda: sum(1 for p in people if p.reference) >= goal, timeout=120, what="progress"
            )
            await asyncio.sleep(rng.uniform(0.0, 0.5))

        # Per kill: notices sent to the group but still pending in the outbox (killed between
        # send and mark): these alone may arrive twice.
        ambiguous: Counter[str] = Counter()
        kill_log: list[str] = []
        try:
            for kill in range(KILLS):
                await moment(kill)
                bot_up.clear()
                await bot.kill()
                when = time.monotonic() - started
                finished = sum(1 for p in people if p.reference)
                checked = 0
                store = await files.open_store()
                try:
                    for intake in people:
                        holding = await held(store, intake.person.id)
                        acknowledged = intake.acknowledged()
                        checked += len(acknowledged)
                        lost = missing_answers(programme, holding, acknowledged)
                        assert not lost, (
                            f"kill {kill}: person {intake.person.id} lost acknowledged answers "
                            f"{lost}\n{full_transcript(intake.person)}"
                        )
                        assert len(holding.referrals) <= 1, holding.referrals
                        assert not (holding.draft and holding.referrals), "draft and referral"
                        shown = {
                            m.group(0)
                            for msg in intake.person.chat.sent_by_bot
                            if (m := REFERENCE.search(msg.text or ""))
                        }
                        assert shown <= {r for r, _ in holding.referrals}, (shown, holding)
                finally:
                    await store.close()
                in_group = [m.text or "" for m in group.chat.sent_by_bot]
                for reference, states in outbox_notices(files.database).items():
                    if "pending" in states and any(reference in t for t in in_group):
                        ambiguous[reference] += 1
                kill_log.append(
                    f"kill {kill} at {when:.1f}s: {finished}/{PEOPLE} forms sent, "
                    f"{checked} acknowledged answers checked on disk, "
                    f"{sum(ambiguous.values())} notices sent but unmarked so far"
                )
                await bot.start(PEERDOOR_RATE_LIMIT="false")
                bot_up.set()
            references = await asyncio.wait_for(asyncio.gather(*tasks), 150)
        finally:
            for task in tasks:
                task.cancel()

        # Every referral reaches the group.
        async def all_notified() -> None:
            await emulator.wait_until(
                lambda: all(
                    any(r in (m.text or "") for m in group.chat.sent_by_bot) for r in references
                ),
                timeout=30,
                what="a group notice for every referral",
            )

        await all_notified()
        await emulator.settle(quiet=0.5, timeout=20)
        assert await bot.stop() == 0
        log = bot.log.read_text(errors="replace")

    # No referral lost or doubled; nobody got two references.
    assert len(set(references)) == PEOPLE
    store = await files.open_store()
    try:
        for intake, reference in zip(people, references, strict=True):
            holding = await held(store, intake.person.id)
            assert [r for r, _ in holding.referrals] == [reference], holding.referrals
            assert holding.draft is None
            lost = missing_answers(programme, holding, intake.answered)
            assert not lost, f"person {intake.person.id}: {lost}"
            shown = {
                m.group(0)
                for msg in intake.person.chat.sent_by_bot
                if (m := REFERENCE.search(msg.text or ""))
            }
            assert shown == {reference}, f"person {intake.person.id} was shown {shown}"
    finally:
        await store.close()

    # Each notice once; a second copy only where a kill fell between its send and its mark.
    notices = Counter(r for m in group.chat.sent_by_bot for r in references if r in (m.text or ""))
    rows = outbox_notices(files.database)
    for reference in references:
        assert rows[reference] == ["sent"], (reference, rows[reference])
        expected = 1 + ambiguous[reference]
        assert notices[reference] == expected, (
            f"{reference}: {notices[reference]} group notices, expected {expected} "
            f"(ambiguous kills: {ambiguous[reference]})"
        )
    assert integrity(files.database) == "ok"
    assert "update.failed" not in log and "Traceback" not in log, log[-3000:]

    retries = sum(p.retries for p in people)
    print(
        f"\n{PEOPLE} people, {KILLS} kills, {retries} times someone had to send /start again, "
        f"{sum(ambiguous.values())} notices sent twice after a kill between send and mark, "
        f"{time.monotonic() - started:.1f}s"
    )
    print("\n".join(kill_log))
