"""Telegram failing at random (seeded): server errors, held and dropped connections and bursts
of 429 on sendMessage, editMessageText (a press answered by the next screen in the pressed
message's place) and answerCallbackQuery, while several people fill
in the form at once. Everyone's answers arrive (someone whose reply was lost sends /start again,
as a person would), every referral reaches the coordinators' group, and nothing reaches it twice
unless Telegram had in fact delivered a send that the bot saw fail."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import GROUP_ID, write_config
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, drain
from tests.e2e.resilience import (
    Chaos,
    FastClock,
    FaultKind,
    Intake,
    held,
    integrity,
    missing_answers,
    outbox_notices,
    personal_plan,
    time_passes,
)

SEED = 4242
GROUP_SEED = 4264  # its first group faults: a dropped connection, then a send that arrived
PEOPLE = 8
METHODS = frozenset({"sendMessage", "editMessageText", "answerCallbackQuery"})
KINDS = (
    FaultKind("500", status=500),
    FaultKind("502", status=502),
    FaultKind("drop", kind="drop"),
    FaultKind("timeout", kind="timeout"),
    # The request reached Telegram, then the connection failed: the bot cannot know it arrived.
    FaultKind("timeout_delivered", kind="timeout", deliver=True),
    FaultKind("429_burst", status=429, burst=3),
)
#: The failures an update may end with when Telegram fails; anything else is a bug.
TELEGRAM_FAILURES = {"NetworkError", "TimedOut", "RetryAfter"}


async def test_people_and_the_group_get_through_random_telegram_faults(
    tmp_path: Path, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    # No SLA reminder within the test: the bot's clock runs fast so that back-off passes.
    files = BotFiles(tmp_path, config_path=write_config(tmp_path, claim_within_hours=720))
    programme = files.config().programme("hiv")
    assert programme is not None
    # Without PTB's own rate limiter, 429s reach the handlers and the delivery worker.
    settings = files.settings(emulator).model_copy(update={"rate_limit": False})
    clock = FastClock()
    runtime = Runtime(settings, files.config(), files.key, emulator.token, clock, poll_timeout=1)
    group = emulator.group(GROUP_ID, "Coordinators")
    up = asyncio.Event()
    up.set()
    people = [
        Intake(
            emulator.user(8500 + i, f"Sam{i}"),
            programme,
            personal_plan(HIV_PLAN, i),
            up,
            patience=2.0,
        )
        for i in range(PEOPLE)
    ]
    # People's chats and the coordinators' group each get their own share of faults.
    chaos = Chaos(
        emulator,
        random.Random(SEED),
        METHODS,
        KINDS,
        rate=0.12,
        budget=45,
        scope=lambda c: c.chat_id != GROUP_ID,
    ).arm()
    group_chaos = Chaos(
        emulator,
        random.Random(GROUP_SEED),
        METHODS,
        KINDS,
        rate=0.5,
        budget=10,
        scope=lambda c: c.chat_id == GROUP_ID,
    ).arm()
    async with runtime, time_passes(runtime, clock):
        references = await asyncio.wait_for(
            asyncio.gather(*(p.run(timeout=100) for p in people)), 110
        )
        await emulator.wait_until(
            lambda: all(
                any(r in (m.text or "") for m in group.chat.sent_by_bot) for r in references
            ),
            timeout=30,
            what="a group notice for every referral",
        )
        await emulator.wait_until(
            lambda: all(s == ["sent"] for s in outbox_notices(files.database).values()),
            timeout=30,
            what="every notice marked sent",
        )
        await drain(runtime, emulator, timeout=20)

    # Faults of every kind were injected, on every method, and on the group's notices.
    fired = chaos.triggered()
    assert all(fired[k.name] > 0 for k in KINDS), fired
    assert {method for method, *_ in chaos.log} == METHODS, chaos.log
    in_group = group_chaos.log
    assert {"drop", "timeout_delivered"} <= {kind for _, kind, _, _ in in_group}, in_group

    # Everyone's answers arrived, as given; one referral and one reference each.
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
            assert shown == {reference}
    finally:
        await store.close()

    # The group: each referral at least once, and at most one extra copy per send that Telegram
    # delivered while the connection was held (at-least-once by design: when the bot saw that
    # send fail it cannot tell, and sends again; when the held answer still arrived in time,
    # the bot saw success and sent no copy). Any other duplicate is a bug.
    delivered_anyway = Counter(
        r
        for method, kind, chat, text in in_group
        if kind == "timeout_delivered" and method == "sendMessage"
        for r in REFERENCE.findall(text)
    )
    notices = Counter(r for m in group.chat.sent_by_bot for r in REFERENCE.findall(m.text or ""))
    for reference in references:
        assert 1 <= notices[reference] <= 1 + delivered_anyway[reference], (
            reference,
            notices[reference],
            delivered_anyway[reference],
        )
    assert set(notices) == set(references)
    assert all(states == ["sent"] for states in outbox_notices(files.database).values())
    assert integrity(files.database) == "ok"

    # Updates only ever failed because Telegram did; the log never names what people said.
    failures = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("update.failed ")
    ]
    kinds = {m.group(1) for f in failures if (m := re.search(r"error=(\w+)", f))}
    assert kinds <= TELEGRAM_FAILURES, failures
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for intake in people:
        for key in ("name", "area", "interests"):
            assert str(intake.plan[key]) not in logged

    counts = Counter(kind for _, kind, _, _ in chaos.log)
    group_counts = Counter(kind for _, kind, _, _ in in_group)
    print(
        f"\n{PEOPLE} people, {len(chaos.log)} faults in their chats {dict(counts)}, "
        f"{len(in_group)} on group notices {dict(group_counts)} "
        f"({sum(delivered_anyway.values())} of them delivered anyway), "
        f"{sum(p.retries for p in people)} times someone sent /start again, "
        f"{sum(p.went_wrong for p in people)} 'something went wrong' replies, "
        f"{len(failures)} update.failed, {time.monotonic() - started:.1f}s"
    )
