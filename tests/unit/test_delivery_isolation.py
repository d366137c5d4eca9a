"""The delivery worker with a real store: one bad outbox row never holds back the others."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.delivery.worker import PARK_AFTER, DeliveryWorker, Sent
from bot.telegram.aiohttp_request import AiohttpRequest
from sandbox.emulator import BotApiEmulator
from storage import KeyRing, OutboxItem, UnknownPerson, keystore_path
from storage.inspect import Health, health
from tests.unit.storage_fixtures import T0, opened, people


async def test_a_failing_row_is_retried_then_parked_and_never_blocks_the_rest(
    tmp_path: Path,
) -> None:
    now = [T0]
    path = tmp_path / "peerdoor.db"
    async with opened(path, KeyRing(KeyRing.generate())) as store:
        (ada,) = await people(store, 1)
        async with store.unit() as u:  # queued in this order, all due now
            broken = await u.outbox.add("news", due_at=T0, now=T0, recipient=ada)
            erased = await u.outbox.add("news", due_at=T0, now=T0, recipient=ada)
            urgent = await u.outbox.add("urgent", due_at=T0, now=T0)
        sent: list[int] = []

        async def send(item: OutboxItem) -> Sent | None:
            if item.id == broken:
                raise RuntimeError("a bug in rendering")
            if item.id == erased:
                raise UnknownPerson("their key is gone")
            sent.append(item.id)
            return Sent(message_id=item.id)

        worker = DeliveryWorker(store, send, lambda: now[0])
        assert await worker.drain() == 3
        assert sent == [urgent], "the rows behind the failing ones went out"
        async with store.unit() as u:
            first = await u.outbox.get(broken)
            dropped = await u.outbox.get(erased)
        assert first is not None and (first.state, first.attempts) == ("pending", 1)
        assert first.error == "RuntimeError" and first.due_at > T0, "retried later"
        assert dropped is not None and (dropped.state, dropped.error) == ("dropped", "erased")

        for _ in range(PARK_AFTER - 1):
            now[0] += timedelta(minutes=30)
            async with store.unit() as u:
                later = await u.outbox.add("news", due_at=now[0], now=now[0])
            assert await worker.drain() == 2  # the broken row, and the new one behind it
            assert sent[-1] == later
        async with store.unit() as u:
            parked = await u.outbox.get(broken)
            assert await u.outbox.parked() == 1
            assert await u.outbox.due(now[0] + timedelta(days=1)) == []
        assert parked is not None
        assert (parked.state, parked.attempts, parked.error) == (
            "parked",
            PARK_AFTER,
            "RuntimeError",
        )
        assert len(sent) == PARK_AFTER, "every other row was sent, once"
    # what `peerdoor check-config` reads (nothing decrypted): one parked, nothing waiting
    assert health(path, keystore_path(path)) == Health(waiting=0, parked=1, leftovers=0)


async def test_an_at_most_once_row_that_went_out_is_parked_not_sent_again(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """A reminder (at most once) fails inside the bot after its request left: parked at once,
    not retried, whatever PARK_AFTER allows."""
    now = [T0]
    request = AiohttpRequest()  # what the bot sends with: claims the row before the request
    await request.initialize()
    requests: list[int] = []
    async with opened(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate())) as store:
        async with store.unit() as u:
            reminder = await u.outbox.add("reminder", due_at=T0, now=T0)

        async def send(item: OutboxItem) -> Sent | None:
            await request.do_request(f"{emulator.base_url}/bot{emulator.token}/getMe", "POST")
            requests.append(item.id)
            raise RuntimeError("failed after the request")

        worker = DeliveryWorker(store, send, lambda: now[0], at_most_once=("reminder",))
        assert await worker.drain() == 1
        now[0] += timedelta(hours=1)
        assert await worker.drain() == 0, "nothing due: it is not tried again"
        async with store.unit() as u:
            item = await u.outbox.get(reminder)
    await request.shutdown()
    assert requests == [reminder]
    assert item is not None and (item.state, item.attempts) == ("parked", 1)


async def test_a_wake_between_a_round_finding_nothing_and_its_sleep_is_not_lost(
    tmp_path: Path,
) -> None:
    """A row committed (and the worker woken) just after a round found nothing due must go out
    at once, not when the idle safety net comes round: the timer armed here never fires."""
    async with opened(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate())) as store:
        (ada,) = await people(store, 1)
        went = asyncio.Event()

        async def send(item: OutboxItem) -> Sent | None:
            went.set()
            return Sent(message_id=item.id)

        worker = DeliveryWorker(store, send, lambda: T0, arm=lambda when: None)
        rounds = worker.drain

        async def drain(limit: int = 50) -> int:
            found = await rounds(limit)
            if not found and not went.is_set():  # the row arrives after this round looked
                async with store.unit() as u:
                    await u.outbox.add("news", due_at=T0, now=T0, recipient=ada)
                worker.wake()
            return found

        worker.drain = drain  # type: ignore[method-assign]
        worker.start()
        try:
            await asyncio.wait_for(went.wait(), 5)  # the idle safety net is 30 s away
        finally:
            await worker.stop()
