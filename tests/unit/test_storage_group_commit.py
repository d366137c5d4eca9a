"""Group commit: units of work share one COMMIT, and none returns before its data is durable.

And the connection under the store: statements that cannot wait run on the loop's thread, the
ones that can (BEGIN, COMMIT) in aiosqlite's worker, in the order they were issued.
"""

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from storage import KeyRing, StorageError, Store, db
from tests.unit.storage_fixtures import T0


def claimed(path: Path) -> set[int]:
    """The update ids another connection can read: only what is committed."""
    other = sqlite3.connect(path)
    try:
        return {int(r[0]) for r in other.execute("SELECT update_id FROM processed_updates")}
    finally:
        other.close()


def count_commits(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    conn = store._conn
    commit = conn.commit
    made = [0]

    async def counted() -> None:
        made[0] += 1
        await commit()

    monkeypatch.setattr(conn, "commit", counted)
    return made


async def test_units_ready_together_share_one_commit_and_return_only_once_durable(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = count_commits(store, monkeypatch)
    seen_on_return: dict[int, bool] = {}

    async def one_update(i: int) -> None:
        async with store.unit() as u:
            assert await u.updates.claim(i, T0)
        # another process's connection sees it as soon as the unit has returned
        seen_on_return[i] = i in claimed(tmp_path / "peerdoor.db")

    await asyncio.gather(*(one_update(i) for i in range(20)))
    assert seen_on_return == dict.fromkeys(range(20), True)
    assert 1 <= commits[0] < 20  # shared: measured, the 20 go in one or two
    assert store.write_transactions >= 20  # one unit of work each, still


async def test_a_failing_unit_rolls_back_alone(store: Store, tmp_path: Path) -> None:
    async def one_update(i: int) -> None:
        async with store.unit() as u:
            assert await u.updates.claim(i, T0)
            if i == 3:
                raise RuntimeError("this update's handler failed")

    results = await asyncio.gather(*(one_update(i) for i in range(6)), return_exceptions=True)
    assert [type(r) for r in results].count(RuntimeError) == 1
    assert claimed(tmp_path / "peerdoor.db") == {0, 1, 2, 4, 5}


async def test_a_failed_commit_fails_every_unit_that_shared_it(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = store._conn
    commit = conn.commit
    failures = [1]

    async def failing() -> None:
        if failures[0]:
            failures[0] -= 1
            await conn._execute(conn._conn.rollback)  # what SQLite does on an I/O error
            raise sqlite3.OperationalError("disk I/O error")
        await commit()

    monkeypatch.setattr(conn, "commit", failing)

    async def one_update(i: int) -> None:
        async with store.unit() as u:
            assert await u.updates.claim(i, T0)

    results = await asyncio.gather(*(one_update(i) for i in range(5)), return_exceptions=True)
    assert all(isinstance(r, StorageError) for r in results), results
    assert failures == [0]  # the fault hit
    assert claimed(tmp_path / "peerdoor.db") == set()
    async with store.unit() as u:  # the store goes on
        assert await u.updates.claim(9, T0)
    assert claimed(tmp_path / "peerdoor.db") == {9}


async def test_a_unit_cancelled_while_waiting_for_the_commit_is_still_committed(
    store: Store, tmp_path: Path
) -> None:
    released = asyncio.Event()

    async def one_update() -> None:
        async with store.unit() as u:
            assert await u.updates.claim(1, T0)
            released.set()

    task = asyncio.create_task(one_update())
    await released.wait()
    await asyncio.sleep(0)  # out of the lock, waiting on the commit
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with store.unit() as u:
        assert await u.updates.claim(2, T0)
    assert claimed(tmp_path / "peerdoor.db") == {1, 2}


async def test_closing_commits_units_still_waiting(tmp_path: Path, master: bytes) -> None:
    s = await Store.open(tmp_path / "peerdoor.db", KeyRing(master))

    async def one_update() -> None:
        async with s.unit() as u:
            assert await u.updates.claim(7, T0)

    task = asyncio.create_task(one_update())
    await asyncio.sleep(0)  # the unit is in, its committer has not run
    await s.close()
    await task
    assert claimed(tmp_path / "peerdoor.db") == {7}


async def test_a_unit_sends_only_begin_and_commit_to_the_worker_thread(store: Store) -> None:
    conn = store._conn
    assert isinstance(conn, db.Connection)
    before = conn._sent
    async with store.unit() as u:
        person = await u.people.find(1) or await u.people.create(1, T0)
    async with store.unit() as u:
        found = await u.people.find(1)
        assert found == person
        await u.drafts.save(person, b"answers", T0)
        assert await u.drafts.load(person) == b"answers"
        assert await u.updates.claim(1, T0)
    assert conn._sent - before == 4  # BEGIN and COMMIT, twice; dozens of statements inline


async def test_a_statement_behind_queued_work_waits_its_turn(tmp_path: Path) -> None:
    conn = await db.connect(tmp_path / "order.db")
    try:
        await conn.execute("CREATE TABLE t (x INTEGER)")
        order: list[str] = []

        def backup() -> None:  # a name the connection sends to the worker thread
            order.append("worker")
            conn._conn.execute("INSERT INTO t VALUES (1)")

        queued = asyncio.create_task(conn._execute(backup))
        await asyncio.sleep(0)  # handed to the worker; a SELECT now must not overtake it
        rows = await conn.execute_fetchall("SELECT count(*) FROM t")
        order.append("select")
        await queued
        assert order == ["worker", "select"]
        assert next(iter(rows))[0] == 1
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("call", "waits"),
    [
        (lambda c: (c.execute, "BEGIN IMMEDIATE"), True),
        (lambda c: (c.execute, "  commit"), True),
        (lambda c: (c.execute, "PRAGMA wal_checkpoint(TRUNCATE)"), True),
        (lambda c: (c.commit, None), True),
        (lambda c: (c.execute, "SELECT 1"), False),
        (lambda c: (c.execute, "INSERT INTO t VALUES (1)"), False),
        (lambda c: (c.execute, "SAVEPOINT unit"), False),
    ],
)
def test_which_statements_go_to_the_worker(
    call: Callable[[sqlite3.Connection], tuple[Any, str | None]], waits: bool
) -> None:
    raw = sqlite3.connect(":memory:")
    try:
        fn, sql = call(raw)
        assert db._waits(fn, (sql,) if sql is not None else ()) is waits
    finally:
        raw.close()


async def test_the_key_store_reads_inline_and_waits_behind_a_write(tmp_path: Path) -> None:
    """A lookup runs on the loop's thread when the key store is free; while a write of it holds
    its lock (in a worker thread), the lookup waits in a thread instead of blocking the loop."""
    import threading

    from storage.keystore import KeyStore

    ks = await KeyStore.open(tmp_path / "keys.db")
    try:
        await ks.add({"p1": b"s" * 32}, {"p1": b"t" * 32})
        loop_thread = threading.get_ident()
        seen: list[int] = []
        find = ks._call

        def call(work: Any, doing: str) -> Any:
            seen.append(threading.get_ident())
            return find(work, doing)

        ks._call = call  # type: ignore[method-assign]
        assert await ks.find(b"t" * 32) == "p1"
        assert seen == [loop_thread]  # inline

        ks._lock.acquire()  # a write under way in another thread
        try:
            # this thread holds the lock: a blocking acquire on the loop's thread would hang here
            waiting = asyncio.create_task(ks.find(b"t" * 32))
            await asyncio.sleep(0)
            assert not waiting.done()  # it waits for the write, and the loop runs meanwhile
        finally:
            ks._lock.release()
        assert await waiting == "p1"
        assert seen[1] != loop_thread  # it ran in a worker thread
    finally:
        await ks.close()
