"""Per-private-chat pacing (bot/pacing.py) against the emulator's per-chat token bucket."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, ExtBot

from bot.telegram.pacing import PrivateChatRateLimiter
from sandbox.emulator import BotApiEmulator, Bucket, RateLimits, Window

# Telegram's limit scaled 20x so the test takes a fraction of a second: a bucket of 3,
# refilled 20 a second (the bot's own bucket: 2, refilled every 1/20 s).
TELEGRAM = RateLimits(overall=None, per_private_chat=Bucket(20.0, 3), count_edits=True)


async def burst(bot: Bot, chat_id: int, count: int) -> None:
    await asyncio.gather(*(bot.send_message(chat_id, f"m{i}") for i in range(count)))


async def test_a_burst_to_one_private_chat_is_paced_without_429() -> None:
    limiter = PrivateChatRateLimiter(private_burst=2, private_period=0.05, max_retries=0)
    async with BotApiEmulator(rate_limits=TELEGRAM) as emu:
        await emu.user(1001, "Alice").send("hi")
        async with ExtBot(emu.token, base_url=emu.api_url, rate_limiter=limiter) as bot:
            await burst(bot, 1001, 8)
        assert emu.too_many_requests == []
        assert len(emu.user(1001).bot_messages) == 8


async def test_without_pacing_the_same_burst_gets_429() -> None:
    # the control: the emulator's bucket does bite what the pacing above avoids
    async with BotApiEmulator(rate_limits=TELEGRAM) as emu:
        await emu.user(1001, "Alice").send("hi")
        limiter = AIORateLimiter(max_retries=0)
        async with ExtBot(emu.token, base_url=emu.api_url, rate_limiter=limiter) as bot:
            with pytest.raises(RetryAfter):
                await burst(bot, 1001, 8)
        assert emu.too_many_requests


async def test_each_private_chat_and_every_group_has_its_own_pace() -> None:
    # a slow pace (one a minute past a burst of 2): only other chats can get through at once
    limiter = PrivateChatRateLimiter(private_burst=2, private_period=60.0, max_retries=0)
    async with BotApiEmulator(rate_limits=False) as emu:
        await emu.user(1001, "Alice").send("hi")
        await emu.user(1002, "Bob").send("hi")
        emu.group(-100200, "Coordinators")
        async with ExtBot(emu.token, base_url=emu.api_url, rate_limiter=limiter) as bot:
            await burst(bot, 1001, 2)
            held = asyncio.create_task(bot.send_message(1001, "third"))
            await burst(bot, 1002, 2)
            await bot.send_message(-100200, "group")
            assert not held.done()
            held.cancel()
        assert len(emu.user(1002).bot_messages) == 2
        assert [m.content for m in emu.user(1001).bot_messages] == ["m0", "m1"]


async def test_requests_held_by_a_retry_after_pause_do_not_leave_in_one_burst() -> None:
    # A 429 in one chat pauses every request of the bot (PTB's AIORateLimiter); a person's
    # messages that joined the queue meanwhile, paced, must still leave paced afterwards.
    limiter = PrivateChatRateLimiter(private_burst=2, private_period=0.05, max_retries=1)
    async with BotApiEmulator(rate_limits=TELEGRAM) as emu:
        await emu.user(1001, "Alice").send("hi")
        await emu.user(2002, "Bob").send("hi")
        emu.fail_next("sendMessage", status=429, retry_after=1, chat_id=2002)
        async with ExtBot(emu.token, base_url=emu.api_url, rate_limiter=limiter) as bot:
            bob = asyncio.create_task(bot.send_message(2002, "answered 429, retried"))
            await emu.wait_until(lambda: emu.too_many_requests, what="the injected 429")
            await burst(bot, 1001, 6)
            await bob
        assert [(t.chat_id, t.injected) for t in emu.too_many_requests] == [(2002, True)]
        assert len(emu.user(1001).bot_messages) == 6


async def test_after_a_retry_after_pause_the_overall_pace_holds() -> None:
    # PTB's AIORateLimiter takes the overall token before it waits out a pause, so requests
    # to many chats queued during one would leave together; the overall pace is kept again.
    limits = RateLimits(overall=Window(5, 0.25), per_group=None, per_private_chat=None)
    limiter = PrivateChatRateLimiter(
        overall_max_rate=1, overall_time_period=0.06, max_retries=1, private_period=0.05
    )
    people = range(3001, 3011)
    async with BotApiEmulator(rate_limits=limits) as emu:
        for person in [2002, *people]:
            await emu.user(person, f"P{person}").send("hi")
        emu.fail_next("sendMessage", status=429, retry_after=1, chat_id=2002)
        async with ExtBot(emu.token, base_url=emu.api_url, rate_limiter=limiter) as bot:
            first = asyncio.create_task(bot.send_message(2002, "answered 429, retried"))
            await emu.wait_until(lambda: emu.too_many_requests, what="the injected 429")
            await asyncio.gather(*(bot.send_message(p, "queued during the pause") for p in people))
            await first
        assert [(t.chat_id, t.injected) for t in emu.too_many_requests] == [(2002, True)]


async def test_many_private_chats_at_once_keep_the_overall_pace() -> None:
    # A private chat's request takes the overall pace once, just before it leaves (not also
    # AIORateLimiter's on joining): still no burst past the overall limit across many chats.
    limits = RateLimits(overall=Window(5, 0.25), per_group=None, per_private_chat=None)
    limiter = PrivateChatRateLimiter(
        overall_max_rate=1, overall_time_period=0.06, max_retries=0, private_period=0.05
    )
    people = range(4001, 4031)
    async with BotApiEmulator(rate_limits=limits) as emu:
        for person in people:
            await emu.user(person, f"P{person}").send("hi")
        async with ExtBot(emu.token, base_url=emu.api_url, rate_limiter=limiter) as bot:
            await asyncio.gather(*(bot.send_message(p, "at once") for p in people))
        assert emu.too_many_requests == []
        assert all(len(emu.user(p).bot_messages) == 1 for p in people)


async def test_the_same_burst_without_a_pace_gets_429() -> None:
    # the control for the test above: the emulator's overall window does bite
    limits = RateLimits(overall=Window(5, 0.25), per_group=None, per_private_chat=None)
    people = range(4001, 4031)
    async with BotApiEmulator(rate_limits=limits) as emu:
        for person in people:
            await emu.user(person, f"P{person}").send("hi")
        async with ExtBot(emu.token, base_url=emu.api_url) as bot:
            sent = await asyncio.gather(
                *(bot.send_message(p, "at once") for p in people), return_exceptions=True
            )
        assert any(isinstance(result, RetryAfter) for result in sent)
        assert emu.too_many_requests
