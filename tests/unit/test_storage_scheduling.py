"""The outbox as a calendar: one row per (referral, kind, slot), claims on the wire settled as
ambiguous after a crash, /stop dropping a person's check-ins, and the worker's at-most-once."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.delivery.port import OnWire, Unreachable, current_wire
from bot.delivery.worker import DeliveryWorker, Discard, Sent
from storage import KeyRing, OutboxItem, Store
from tests.unit.storage_fixtures import T0, opened, people

DAY = timedelta(days=1)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with opened(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate())) as s:
        yield s


async def waiting_referral(store: Store, telegram_id: int = 501):  # type: ignore[no-untyped-def]
    (person,) = await people(store, telegram_id)
    async with store.unit() as u:
        referral = await u.referrals.create(person, "hiv", b"{}", urgent=False, now=T0)
    return person, referral


async def rows(store: Store) -> list[tuple[str | None, str]]:
    async with store.unit() as u:
        items = [await u.outbox.get(i) for i in range(1, 20)]
    return [(i.slot, i.state) for i in items if i is not None]


async def test_a_slot_is_queued_once_until_dropped(store: Store) -> None:
    person, referral = await waiting_referral(store)
    async with store.unit() as u:
        first = await u.outbox.schedule("checkin", slot="w0", referral=referral, due_at=T0, now=T0)
        again = await u.outbox.schedule("checkin", slot="w0", referral=referral, due_at=T0, now=T0)
        other = await u.outbox.schedule("checkin", slot="w1", referral=referral, due_at=T0, now=T0)
    assert first is not None and again is None and other is not None
    async with store.unit() as u:
        assert await u.outbox.drop_for_person(person, ("checkin",), T0) == 2
        # Dropped (a /stop): may be queued again; a sent one may not.
        assert await u.outbox.schedule("checkin", slot="w0", referral=referral, due_at=T0, now=T0)
        item = await u.outbox.get(first)
        assert item is not None
    async with store.unit() as u:
        (due,) = await u.outbox.due(T0)
        await u.outbox.mark_sent(due, T0, 7)
        again = await u.outbox.schedule("checkin", slot="w0", referral=referral, due_at=T0, now=T0)
    assert again is None
    assert await rows(store) == [
        ("w0", "dropped"),
        ("w1", "dropped"),
        ("w0", "sent"),
    ]


async def test_claims_left_by_a_crash_are_settled_as_ambiguous(store: Store) -> None:
    _, referral = await waiting_referral(store)
    async with store.unit() as u:
        await u.outbox.schedule("checkin", slot="w0", referral=referral, due_at=T0, now=T0)
        await u.outbox.add("news", referral=referral, due_at=T0, now=T0)
        checkin, news = await u.outbox.due(T0)
        assert await u.outbox.claim(checkin, T0)
        assert await u.outbox.claim(news, T0)
    async with store.unit() as u:
        assert await u.outbox.settle_interrupted(("checkin",), T0) == 1
        settled = await u.outbox.get(checkin.id)
        assert settled is not None and (settled.state, settled.error) == ("failed", "ambiguous")
        assert [i.id for i in await u.outbox.due(T0)] == [news.id]  # sent again


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_worker_never_sends_a_checkin_twice_after_an_ambiguous_timeout(
    store: Store,
) -> None:
    _, referral = await waiting_referral(store)
    async with store.unit() as u:
        await u.outbox.schedule("checkin", slot="w0", referral=referral, due_at=T0, now=T0)
        await u.outbox.schedule("checkin", slot="w1", referral=referral, due_at=T0, now=T0)
        await u.outbox.schedule("checkin", slot="w2", referral=referral, due_at=T0, now=T0)
    attempts: list[str | None] = []

    async def send(item: OutboxItem) -> Sent | None:
        attempts.append(item.slot)
        if item.slot == "w0":  # went on the wire, then timed out
            wire = current_wire()
            assert isinstance(wire, OnWire)
            wire.ran = True
            await wire.hook()
            raise Unreachable("timedout", timed_out=True)  # as the messenger says it
        if item.slot == "w1":  # timed out before anything left (a pool timeout): retried
            raise Unreachable("timedout", timed_out=True)  # as the messenger says it
        raise Discard("not_waiting")

    worker = DeliveryWorker(store, send, Clock(T0 + DAY), at_most_once=("checkin",))
    assert await worker.drain() == 3
    async with store.unit() as u:
        states = [await u.outbox.get(i) for i in (1, 2, 3)]
    assert [(i.state, i.error) for i in states if i] == [
        ("failed", "ambiguous"),
        ("pending", "timedout"),
        ("dropped", "not_waiting"),
    ]
    assert attempts == ["w0", "w1", "w2"]
