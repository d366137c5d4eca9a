"""One writer at a time: concurrent units of work queue up, none is lost."""

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from storage import KeyRing, StorageError, Store
from tests.unit.storage_fixtures import T0


async def test_fifty_concurrent_units_all_commit(
    store: Store, tmp_path: Path, master: bytes
) -> None:
    inside = 0
    most_inside = 0

    async def one_update(i: int) -> None:
        nonlocal inside, most_inside
        async with store.unit() as u:
            inside += 1
            most_inside = max(most_inside, inside)
            person = await u.people.find(1000 + i) or await u.people.create(1000 + i, T0)
            await asyncio.sleep(0)  # let the other tasks try to get in
            draft = await u.drafts.load(person)
            assert draft is None
            assert await u.updates.claim(i, T0 + timedelta(seconds=i))
            await u.drafts.save(person, f"state {i}".encode(), T0)
            inside -= 1

    await asyncio.gather(*(one_update(i) for i in range(50)))
    assert most_inside == 1
    await store.close()

    reopened = await Store.open(tmp_path / "peerdoor.db", KeyRing(master))
    try:
        async with reopened.unit() as u:
            for i in range(50):
                person = await u.people.find(1000 + i)
                assert person is not None
                assert await u.drafts.load(person) == f"state {i}".encode()
                assert not await u.updates.claim(i, T0)
    finally:
        await reopened.close()


async def test_concurrent_claims_of_one_update_succeed_once(store: Store) -> None:
    async def claim() -> bool:
        async with store.unit() as u:
            return await u.updates.claim(42, T0)

    results = await asyncio.gather(*(claim() for _ in range(20)))
    assert results.count(True) == 1


async def test_failing_task_does_not_block_others(store: Store) -> None:
    async def fails() -> None:
        async with store.unit() as u:
            await u.people.create(1, T0)
            raise RuntimeError("handler bug")

    async def works(i: int) -> None:
        async with store.unit() as u:
            await u.people.create(100 + i, T0)

    results = await asyncio.gather(
        fails(), *(works(i) for i in range(10)), fails(), return_exceptions=True
    )
    assert sum(isinstance(r, RuntimeError) for r in results) == 2
    async with store.unit() as u:
        assert await u.people.find(1) is None
        assert all([await u.people.find(100 + i) for i in range(10)])


async def test_cancelled_unit_rolls_back(store: Store) -> None:
    started = asyncio.Event()

    async def slow() -> None:
        async with store.unit() as u:
            await u.people.create(5, T0)
            started.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(slow())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with store.unit() as u:
        assert await u.people.find(5) is None
        await u.people.create(5, T0)


async def test_locked_database_gives_a_clear_storage_error(tmp_path: Path, master: bytes) -> None:
    path = tmp_path / "peerdoor.db"
    store = await Store.open(path, KeyRing(master), busy_timeout_ms=50)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageError, match="locked by another"):
            async with store.unit():
                pass
        other.execute("ROLLBACK")
        async with store.unit() as u:  # usable again once the other writer is gone
            assert await u.updates.claim(1, T0)
    finally:
        other.close()
        await store.close()


async def test_unit_cancelled_while_waiting_to_begin(tmp_path: Path, master: bytes) -> None:
    """BEGIN still runs after its waiter is cancelled; the next unit must not inherit it."""
    path = tmp_path / "peerdoor.db"
    store = await Store.open(path, KeyRing(master), busy_timeout_ms=2000)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")

        async def blocked() -> None:
            async with store.unit() as u:
                await u.people.create(1, T0)

        task = asyncio.create_task(blocked())
        await asyncio.sleep(0.1)  # BEGIN is now waiting on the other writer's lock
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        other.execute("ROLLBACK")
        async with store.unit() as u:
            await u.people.create(2, T0)
        async with store.unit() as u:
            assert await u.people.find(1) is None
            assert await u.people.find(2) is not None
    finally:
        other.close()
        await store.close()
