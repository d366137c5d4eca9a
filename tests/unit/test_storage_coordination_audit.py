"""The audit trail's hash chain, and master-key rotation of the coordination secrets."""

import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from storage import AuditReport, AuditTampered, KeyRing, StorageError, Store, WrongMasterKey
from storage.db import migrations
from storage.keystore import keystore_path
from tests.unit.storage_fixtures import T0, opened, people, raw

SEC = timedelta(seconds=1)


@pytest.fixture
async def trail(tmp_path: Path, master: bytes) -> Path:
    """A closed database whose audit trail holds 50 entries."""
    path = tmp_path / "trail.db"
    async with opened(path, KeyRing(master)) as store:
        (coord,) = await people(store, 7)
        async with store.unit() as u:
            for i in range(50):
                actor = coord if i % 3 else None
                reference = f"PD-{i % 5:06d}" if i % 2 else None
                await u.audit.record(
                    actor, "referral.claim", T0 + i * SEC, reference=reference, detail=f"s{i}"
                )
    return path


async def verify_copy(trail: Path, master: bytes, *tampering: str) -> AuditReport:
    """Copy the database, apply raw SQL to the copy (as someone with the file), verify it."""
    copy = trail.with_name("copy.db")
    shutil.copyfile(trail, copy)
    with raw(copy) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")  # triggers stop bugs, not attackers
        conn.execute("DROP TRIGGER audit_log_no_delete")
        for sql in tampering:
            conn.execute(sql)
    async with opened(copy, KeyRing(master), keystore_path(trail)) as store:
        return await store.verify_audit()


async def test_audit_round_trip(tmp_path: Path) -> None:
    async with opened(tmp_path / "a.db", KeyRing(KeyRing.generate())) as store:
        assert await store.verify_audit() == AuditReport(True, 0)
        (coord,) = await people(store, 7)
        async with store.unit() as u:
            await u.audit.record(coord, "referral.claim", T0, reference="PD-AAAAAA")
            await u.audit.record(None, "outbox.failed", T0 + SEC, detail="http_403")
            await u.audit.record(coord, "referral.status", T0 + 2 * SEC, reference="PD-AAAAAA",
                                 detail="contacted")  # fmt: skip
            await u.audit.record(coord, "referral.claim", T0 + 3 * SEC, reference="PD-BBBBBB")
        async with store.unit() as u:
            everything = await u.audit.entries()
            assert [(e.seq, e.action, e.reference) for e in everything] == [
                (1, "referral.claim", "PD-AAAAAA"),
                (2, "outbox.failed", None),
                (3, "referral.status", "PD-AAAAAA"),
                (4, "referral.claim", "PD-BBBBBB"),
            ]
            first, second = everything[:2]
            assert (first.at, first.actor_id, first.detail) == (T0, coord.id, "")
            assert (second.actor_id, second.detail) == (None, "http_403")
            assert [e.seq for e in await u.audit.entries("PD-AAAAAA")] == [1, 3]
            assert [e.seq for e in await u.audit.entries(limit=2)] == [3, 4]  # latest, in order
            assert await u.audit.entries("PD-ZZZZZZ") == []
        assert await store.verify_audit() == AuditReport(True, 4)


async def test_audit_survives_erasing_the_actor(tmp_path: Path) -> None:
    async with opened(tmp_path / "a.db", KeyRing(KeyRing.generate())) as store:
        (coord,) = await people(store, 7)
        async with store.unit() as u:
            await u.audit.record(coord, "role.grant", T0, detail="coordinator")
        async with store.unit() as u:
            await u.people.erase(coord)
        assert await store.verify_audit() == AuditReport(True, 1)


async def test_audit_log_refuses_update_and_delete(tmp_path: Path) -> None:
    async with opened(tmp_path / "a.db", KeyRing(KeyRing.generate())) as store:
        async with store.unit() as u:
            await u.audit.record(None, "x", T0)
        for sql in ("UPDATE audit_log SET detail = 'y'", "DELETE FROM audit_log"):
            with pytest.raises(StorageError, match="append-only"):
                async with store.unit():
                    await store._conn.execute(sql)
        assert await store.verify_audit() == AuditReport(True, 1)


async def test_verify_is_ok_after_50_entries(trail: Path, master: bytes) -> None:
    async with opened(trail, KeyRing(master)) as store:
        assert await store.verify_audit() == AuditReport(True, 50)
    assert await verify_copy(trail, master) == AuditReport(True, 50)  # the harness is neutral


async def test_verify_detects_a_changed_entry(trail: Path, master: bytes) -> None:
    report = await verify_copy(trail, master, "UPDATE audit_log SET detail = 's?' WHERE seq = 17")
    assert (report.ok, report.seq) == (False, 17)
    assert report.problem is not None
    assert "17" in report.problem


@pytest.mark.parametrize(
    "column", ["at", "actor_id", "action", "reference", "detail"], ids=lambda c: c
)
async def test_verify_detects_any_changed_field(trail: Path, master: bytes, column: str) -> None:
    report = await verify_copy(
        trail, master, f"UPDATE audit_log SET {column} = 'PD-000009' WHERE seq = 30"
    )
    assert (report.ok, report.seq) == (False, 30)


async def test_verify_detects_a_removed_middle_entry(trail: Path, master: bytes) -> None:
    report = await verify_copy(trail, master, "DELETE FROM audit_log WHERE seq = 25")
    assert (report.ok, report.seq, report.entries) == (False, 25, 49)
    assert report.problem is not None
    assert "missing" in report.problem


async def test_verify_detects_a_removed_last_entry(trail: Path, master: bytes) -> None:
    report = await verify_copy(trail, master, "DELETE FROM audit_log WHERE seq = 50")
    assert (report.ok, report.seq) == (False, 50)
    assert report.problem is not None
    assert "missing" in report.problem


async def test_verify_detects_a_truncated_tail_with_the_head_moved_back(
    trail: Path, master: bytes
) -> None:
    """The attacker also points the head at entry 49: its MAC gives them away."""
    report = await verify_copy(
        trail,
        master,
        "DELETE FROM audit_log WHERE seq = 50",
        "UPDATE audit_head SET seq = 49, mac = (SELECT mac FROM audit_log WHERE seq = 49)",
    )
    assert (report.ok, report.seq) == (False, 49)
    assert report.problem is not None
    assert "head" in report.problem


async def test_verify_detects_a_removed_head(trail: Path, master: bytes) -> None:
    report = await verify_copy(trail, master, "DELETE FROM audit_head")
    assert not report.ok
    assert report.problem is not None
    assert "head" in report.problem


async def test_verify_detects_swapped_entries(trail: Path, master: bytes) -> None:
    report = await verify_copy(
        trail,
        master,
        "UPDATE audit_log SET seq = -1 WHERE seq = 10",
        "UPDATE audit_log SET seq = 10 WHERE seq = 20",
        "UPDATE audit_log SET seq = 20 WHERE seq = -1",
    )
    assert (report.ok, report.seq) == (False, 10)


async def test_verify_detects_swapped_contents(trail: Path, master: bytes) -> None:
    """Rows keep their seq but trade everything else (macs included)."""
    cols = "at, actor_id, action, reference, detail, prev_mac, mac"
    report = await verify_copy(
        trail,
        master,
        "CREATE TABLE t AS SELECT * FROM audit_log WHERE seq IN (10, 11)",
        f"UPDATE audit_log SET ({cols}) = (SELECT {cols} FROM t WHERE t.seq = 21 - audit_log.seq)"
        " WHERE seq IN (10, 11)",
    )
    assert (report.ok, report.seq) == (False, 10)


async def test_verify_detects_an_inserted_entry(trail: Path, master: bytes) -> None:
    forged = (
        "INSERT INTO audit_log (seq, at, actor_id, action, reference, detail, prev_mac, mac)"
        " SELECT 51, at, actor_id, action, reference, detail,"
        " (SELECT mac FROM audit_log WHERE seq = 50), mac FROM audit_log WHERE seq = 3"
    )
    report = await verify_copy(trail, master, forged)
    assert (report.ok, report.seq) == (False, 51)
    shifted = [f"UPDATE audit_log SET seq = seq + 100 WHERE seq >= {n}" for n in (30,)] + [
        "UPDATE audit_log SET seq = seq - 99 WHERE seq >= 130",
        "INSERT INTO audit_log SELECT 30, at, actor_id, action, reference, detail, prev_mac, mac"
        " FROM audit_log WHERE seq = 29",
    ]
    report = await verify_copy(trail, master, *shifted)
    assert (report.ok, report.seq) == (False, 30)


async def test_missing_audit_secret_is_reported_and_not_papered_over(
    trail: Path, master: bytes
) -> None:
    with raw(trail) as conn:
        conn.execute("DELETE FROM secrets WHERE name = 'audit'")
    async with opened(trail, KeyRing(master)) as store:
        report = await store.verify_audit()
        assert (report.ok, report.entries) == (False, 50)
        assert report.problem is not None
        assert "secret" in report.problem
        with pytest.raises(AuditTampered):
            async with store.unit() as u:
                await u.audit.record(None, "x", T0)


async def test_missing_head_is_not_papered_over(trail: Path, master: bytes) -> None:
    with raw(trail) as conn:
        conn.execute("DELETE FROM audit_head")
    async with opened(trail, KeyRing(master)) as store:
        with pytest.raises(AuditTampered):
            async with store.unit() as u:
                await u.audit.record(None, "x", T0)
        assert not (await store.verify_audit()).ok


async def test_recording_after_a_truncation_keeps_the_evidence(trail: Path, master: bytes) -> None:
    with raw(trail) as conn:
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("DELETE FROM audit_log WHERE seq = 50")
    async with opened(trail, KeyRing(master)) as store:
        async with store.unit() as u:
            await u.audit.record(None, "x", T0)  # continues from the head: seq 51
        report = await store.verify_audit()
    assert (report.ok, report.seq) == (False, 50)


# --- rotation ---------------------------------------------------------------------------------


async def test_rotation_keeps_outbox_audit_and_invites(tmp_path: Path) -> None:
    path = tmp_path / "peerdoor.db"
    old, new = KeyRing.generate(), KeyRing.generate()
    async with opened(path, KeyRing(old)) as store:
        referrer, coord, newcomer = await people(store, 1, 2, 3)
        async with store.unit() as u:
            ref = await u.referrals.create(referrer, "hiv", b"answers", False, T0)
            ids = [
                await u.outbox.add("a", due_at=T0, now=T0, referral=ref, payload=b"ref"),
                await u.outbox.add("b", due_at=T0, now=T0, recipient=coord, payload=b"coord"),
                await u.outbox.add("c", due_at=T0, now=T0, payload=b"service"),
            ]
            code = await u.invites.create("coordinator", "hiv", T0, T0 + timedelta(days=1))
            await u.roles.grant(coord, "coordinator", "hiv", T0)
            await u.thread.add(ref, "note", coord, b"note", T0)
            for i in range(5):
                await u.audit.record(coord, "referral.note", T0 + i * SEC, reference=ref.reference)

    async with opened(path, KeyRing(new, retired=[old])) as store:
        # three person keys; lookup, service and audit secrets
        assert await store.rotate() == 6
        assert await store.rotate() == 0
    with raw(path) as conn:
        key_ids = {r[0] for r in conn.execute("SELECT key_id FROM secrets")}
        names = sorted(r[0] for r in conn.execute("SELECT name FROM secrets"))
    assert key_ids == {KeyRing(new).key_id}
    assert names == ["audit", "lookup", "service"]

    with pytest.raises(WrongMasterKey):
        await Store.open(path, KeyRing(old))
    async with opened(path, KeyRing(new)) as store:
        assert await store.verify_audit() == AuditReport(True, 5)
        async with store.unit() as u:
            due = await u.outbox.due(T0)
            assert [i.id for i in due] == ids
            assert [await u.outbox.payload(i) for i in due] == [b"ref", b"coord", b"service"]
            assert await u.invites.redeem(code, newcomer, T0, ["hiv"]) == ("coordinator", "hiv")
            assert await u.roles.has(coord, "coordinator", "hiv")
            assert [e.body for e in await u.thread.list(ref)] == [b"note"]
            await u.audit.record(None, "after.rotation", T0 + 9 * SEC)
        assert await store.verify_audit() == AuditReport(True, 6)


async def test_rolled_back_unit_leaves_no_new_secret(tmp_path: Path) -> None:
    path = tmp_path / "peerdoor.db"
    async with opened(path, KeyRing(KeyRing.generate())) as store:

        async def fails() -> None:
            async with store.unit() as u:
                await u.outbox.add("c", due_at=T0, now=T0, payload=b"x")
                await u.audit.record(None, "x", T0)
                raise RuntimeError

        with pytest.raises(RuntimeError):
            await fails()
        assert store._secrets == {}
        async with store.unit() as u:
            await u.outbox.add("c", due_at=T0, now=T0, payload=b"y")
            [item] = await u.outbox.due(T0)
            assert await u.outbox.payload(item) == b"y"
    with raw(path) as conn:
        names = sorted(r[0] for r in conn.execute("SELECT name FROM secrets"))
    assert names == ["lookup", "service"]


def test_sqlite_triggers_really_exist(tmp_path: Path) -> None:
    """Guard for the harness above: the copy would be meaningless if the triggers were absent."""
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path)
    try:
        for m in migrations():
            conn.executescript(m.sql)
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    finally:
        conn.close()
    assert names == {"audit_log_no_update", "audit_log_no_delete"}
