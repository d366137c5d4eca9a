"""Outbox and referral thread: ordering, retries, sealing, and erasure."""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from storage import KeyRing, OutboxItem, Store, UnreadableRecord
from tests.unit.storage_fixtures import T0, opened, people, raw, raw_bytes

MIN = timedelta(minutes=1)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "peerdoor.db"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[Store]:
    async with opened(path, KeyRing(KeyRing.generate())) as s:
        yield s


async def only(store: Store, item_id: int) -> OutboxItem:
    async with store.unit() as u:
        item = await u.outbox.get(item_id)
    assert item is not None
    return item


# --- outbox -----------------------------------------------------------------------------------


async def test_outbox_due_order_and_next_due(store: Store) -> None:
    referrer, coord = await people(store, 1, 2)
    async with store.unit() as u:
        assert await u.outbox.next_due_at() is None
        assert await u.outbox.due(T0) == []
        ref = await u.referrals.create(referrer, "hiv", b"", False, T0)
        later = await u.outbox.add("reminder", due_at=T0 + 10 * MIN, now=T0, referral=ref)
        first = await u.outbox.add("notify", due_at=T0, now=T0, recipient=coord, payload=b"1")
        second = await u.outbox.add("notify", due_at=T0, now=T0, payload=b"2")
        earlier = await u.outbox.add("group", due_at=T0 - MIN, now=T0)
    async with store.unit() as u:
        assert await u.outbox.next_due_at() == T0 - MIN
        due = await u.outbox.due(T0)
        assert [i.id for i in due] == [earlier, first, second]
        assert [i.id for i in await u.outbox.due(T0, limit=2)] == [earlier, first]
        assert [i.id for i in await u.outbox.due(T0 + 10 * MIN)] == [
            earlier,
            first,
            second,
            later,
        ]
        item = due[1]
        assert (item.kind, item.recipient_id, item.referral_id) == ("notify", coord.id, None)
        assert (item.due_at, item.created_at, item.attempts, item.state) == (T0, T0, 0, "pending")
        assert (item.sent_at, item.telegram_message_id, item.error) == (None, None, None)
        assert await u.outbox.payload(due[1]) == b"1"
        assert await u.outbox.payload(due[2]) == b"2"
        assert await u.outbox.payload(due[0]) == b""


async def test_outbox_mark_sent_retry_give_up(store: Store) -> None:
    (coord,) = await people(store, 2)
    async with store.unit() as u:
        a = await u.outbox.add("notify", due_at=T0, now=T0, recipient=coord, payload=b"a")
        b = await u.outbox.add("notify", due_at=T0, now=T0, recipient=coord, payload=b"b")
        c = await u.outbox.add("notify", due_at=T0, now=T0, recipient=coord, payload=b"c")
    async with store.unit() as u:
        item_a, item_b, item_c = await u.outbox.due(T0)
        assert await u.outbox.mark_sent(item_a, T0 + MIN, 555)
        assert not await u.outbox.mark_sent(item_a, T0 + MIN, 556)  # exactly once
        assert await u.outbox.retry(item_b, T0 + 5 * MIN, "timedout")
        assert await u.outbox.give_up(item_c, T0 + MIN, "http_403")
        assert not await u.outbox.retry(item_c, T0 + 5 * MIN, "x")  # settled: no retry
    sent, retried, failed = [await only(store, i) for i in (a, b, c)]
    assert (sent.state, sent.sent_at, sent.telegram_message_id, sent.attempts) == (
        "sent",
        T0 + MIN,
        555,
        1,
    )
    assert (retried.state, retried.attempts, retried.due_at, retried.error) == (
        "pending",
        1,
        T0 + 5 * MIN,
        "timedout",
    )
    assert (failed.state, failed.error, failed.attempts) == ("failed", "http_403", 1)
    async with store.unit() as u:
        assert await u.outbox.due(T0 + MIN) == []
        assert await u.outbox.next_due_at() == T0 + 5 * MIN
        assert [i.id for i in await u.outbox.due(T0 + 5 * MIN)] == [b]
        assert await u.outbox.payload(retried) == b"b"  # a retry keeps the payload
        with pytest.raises(ValueError):
            await u.outbox.payload(sent)  # settled rows keep no content
        assert await u.outbox.retry(retried, T0 + 9 * MIN, "e" * 500)
    again = await only(store, b)
    assert (again.attempts, len(again.error or "")) == (2, 64)  # a code, never content
    async with store.unit() as u:
        assert await u.outbox.prune(T0 + 2 * MIN) == 2  # sent and failed go; pending stays
        assert await u.outbox.get(b) is not None


async def test_outbox_drop_and_pending(store: Store) -> None:
    (referrer,) = await people(store, 1)
    async with store.unit() as u:
        ref = await u.referrals.create(referrer, "hiv", b"", False, T0)
        await u.referrals.set_status(ref, "deferred", T0)  # one live referral at most
        other = await u.referrals.create(referrer, "hiv", b"", False, T0)
        for _ in range(2):
            await u.outbox.add("sla", due_at=T0 + MIN, now=T0, referral=ref)
        await u.outbox.add("sla", due_at=T0 + MIN, now=T0, referral=other)
        await u.outbox.add("group", due_at=T0 + MIN, now=T0, referral=ref)
        assert await u.outbox.pending("sla", ref) == 2
        assert await u.outbox.drop("sla", ref) == 2
        assert await u.outbox.drop("sla", ref) == 0
        assert await u.outbox.pending("sla", ref) == 0
        assert await u.outbox.pending("sla", other) == 1
        assert await u.outbox.pending("group", ref) == 1
        due = await u.outbox.due(T0 + MIN)
    assert sorted((i.kind, i.referral_id) for i in due) == [
        ("group", ref.id),
        ("sla", other.id),
    ]


async def test_outbox_payloads_are_sealed(path: Path, store: Store) -> None:
    referrer, coord = await people(store, 1, 2)
    canaries = [b"OUTBOX-REFERRAL-CANARY", b"OUTBOX-RECIPIENT-CANARY", b"OUTBOX-SERVICE-CANARY"]
    async with store.unit() as u:
        ref = await u.referrals.create(referrer, "hiv", b"", False, T0)
        await u.outbox.add("a", due_at=T0, now=T0, referral=ref, payload=canaries[0])
        await u.outbox.add("b", due_at=T0, now=T0, recipient=coord, payload=canaries[1])
        await u.outbox.add("c", due_at=T0, now=T0, payload=canaries[2])
    live = raw_bytes(path)
    assert [c for c in canaries if c in live] == []
    await store.close()
    on_disk = raw_bytes(path)
    assert [c for c in canaries if c in on_disk] == []


async def test_outbox_payload_cannot_be_redirected(path: Path) -> None:
    master = KeyRing.generate()
    async with opened(path, KeyRing(master)) as store:
        referrer, alice, bob = await people(store, 1, 2, 3)
        async with store.unit() as u:
            ref = await u.referrals.create(referrer, "hiv", b"", False, T0)
            item_id = await u.outbox.add(
                "details", due_at=T0, now=T0, recipient=alice, referral=ref, payload=b"secret"
            )
    with raw(path) as conn:
        conn.execute("UPDATE outbox SET recipient_id = ? WHERE id = ?", (bob.id, item_id))
    async with opened(path, KeyRing(master)) as store:
        item = await only(store, item_id)
        assert item.recipient_id == bob.id
        async with store.unit() as u:
            with pytest.raises(UnreadableRecord):
                await u.outbox.payload(item)


async def test_outbox_rows_go_with_the_referrer_and_the_recipient(store: Store) -> None:
    referrer, coord = await people(store, 1, 2)
    async with store.unit() as u:
        ref = await u.referrals.create(referrer, "hiv", b"", False, T0)
        await u.outbox.add("news", due_at=T0, now=T0, recipient=referrer, referral=ref)
        await u.outbox.add("details", due_at=T0, now=T0, recipient=coord, referral=ref)
        await u.outbox.add("welcome", due_at=T0, now=T0, recipient=referrer)
        await u.outbox.add("hello", due_at=T0, now=T0, recipient=coord)
        keep = await u.outbox.add("daily", due_at=T0, now=T0)
    async with store.unit() as u:
        await u.people.erase(referrer)
    async with store.unit() as u:
        assert [(i.kind, i.recipient_id) for i in await u.outbox.due(T0)] == [
            ("hello", coord.id),
            ("daily", None),
        ]
        await u.people.erase(coord)
    async with store.unit() as u:
        assert [i.id for i in await u.outbox.due(T0)] == [keep]


async def test_outbox_due_uses_its_index(store: Store) -> None:
    plan = await store._conn.execute_fetchall(
        "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE state = 'pending' AND due_at <= ?"
        " ORDER BY due_at, id LIMIT ?",
        ("x", 50),
    )
    details = " ".join(str(row[-1]) for row in plan)
    assert "outbox_due" in details
    assert "TEMP B-TREE" not in details


# --- thread -----------------------------------------------------------------------------------


async def test_thread_round_trip_oldest_first(store: Store) -> None:
    referrer, coord = await people(store, 1, 2)
    async with store.unit() as u:
        ref = await u.referrals.create(referrer, "hiv", b"", False, T0)
        await u.referrals.set_status(ref, "deferred", T0)  # one live referral at most
        other = await u.referrals.create(referrer, "hiv", b"", False, T0)
        assert await u.thread.list(ref) == []
        n1 = await u.thread.add(ref, "note", coord, b"first note", T0)
        n2 = await u.thread.add(ref, "to_referrer", coord, b"hello", T0 + MIN)
        n3 = await u.thread.add(ref, "from_referrer", None, b"hi back", T0 + 2 * MIN)
        await u.thread.add(other, "note", coord, b"elsewhere", T0)
        with pytest.raises(ValueError):
            await u.thread.add(ref, "gossip", coord, b"", T0)
    async with store.unit() as u:
        entries = await u.thread.list(ref)
    assert [(e.id, e.kind, e.author_id, e.body, e.at) for e in entries] == [
        (n1, "note", coord.id, b"first note", T0),
        (n2, "to_referrer", coord.id, b"hello", T0 + MIN),
        (n3, "from_referrer", None, b"hi back", T0 + 2 * MIN),
    ]


async def test_thread_is_sealed_and_goes_with_the_referrer(path: Path) -> None:
    master = KeyRing.generate()
    async with opened(path, KeyRing(master)) as store:
        referrer, coord = await people(store, 1, 2)
        async with store.unit() as u:
            ref = await u.referrals.create(referrer, "hiv", b"", False, T0)
            await u.thread.add(ref, "note", coord, b"THREAD-CANARY-NOTE", T0)
            await u.thread.add(ref, "from_referrer", None, b"THREAD-CANARY-REPLY", T0)
        live = raw_bytes(path)
        assert b"THREAD-CANARY" not in live
        with raw(path) as conn:
            sealed = [bytes(r[0]) for r in conn.execute("SELECT body FROM thread")]
        assert all(s[:16] in live for s in sealed)  # the check below can fail
        async with store.unit() as u:
            await u.people.erase(referrer)
        on_disk = raw_bytes(path)
        assert all(s[:16] not in on_disk for s in sealed)
        assert b"THREAD-CANARY" not in on_disk
        async with store.unit() as u:
            rows = await store._conn.execute_fetchall("SELECT count(*) FROM thread")
            assert next(iter(rows))[0] == 0
            assert await u.people.get(coord.id) == coord


async def test_thread_entry_cannot_move_to_another_referral(path: Path) -> None:
    master = KeyRing.generate()
    async with opened(path, KeyRing(master)) as store:
        referrer, coord = await people(store, 1, 2)
        async with store.unit() as u:
            ref = await u.referrals.create(referrer, "hiv", b"", False, T0)
            await u.referrals.set_status(ref, "deferred", T0)  # one live referral at most
            other = await u.referrals.create(referrer, "hiv", b"", False, T0)
            await u.thread.add(ref, "note", coord, b"private note", T0)
    with raw(path) as conn:
        conn.execute("UPDATE thread SET referral_id = ?", (other.id,))
    async with opened(path, KeyRing(master)) as store, store.unit() as u:
        with pytest.raises(UnreadableRecord):
            await u.thread.list(other)
    with raw(path) as conn:
        conn.execute("UPDATE thread SET referral_id = ?, kind = 'to_referrer'", (ref.id,))
    async with opened(path, KeyRing(master)) as store, store.unit() as u:
        with pytest.raises(UnreadableRecord):
            await u.thread.list(ref)
