"""One dialog stack per person, in one table; the states of the older release moved into it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from conversations.dialogs import DialogState
from storage import KeyRing
from tests.unit.legacy_states import put_legacy
from tests.unit.storage_fixtures import opened

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CANARY = b"Canary-Ines-9x7"


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


async def test_the_states_of_the_older_release_move_into_one_sealed_stack(tmp_path: Path) -> None:
    path, keyring = tmp_path / "p.db", KeyRing(KeyRing.generate())
    draft = b'{"programme":"hiv","language":"sv","current":"name","screen":4,"answers":{"x":"'
    draft += CANARY + b'"}}'
    async with opened(path, keyring) as store:
        async with store.unit() as uow:
            ines = await uow.people.create(1, NOW)
            cora = await uow.people.create(2, NOW)
            gone = await uow.people.create(3, NOW)
        await put_legacy(
            store,
            [
                (ines, "drafts", draft),
                (ines, "survey_state", b'{"kind":"feedback","screen":2}'),
                (cora, "staff_state", b'{"action":"note","reference":"PD-ABC123"}'),
                (gone, "drafts", b'{"programme":"hiv"}'),
            ],
            NOW,
        )
        async with store.unit() as uow:
            await uow.people.erase(gone)  # erased: their legacy row goes with them
    assert {"drafts", "staff_state", "survey_state"} <= tables(path)

    async with opened(path, keyring) as store:
        async with store.unit() as uow:
            ines = await uow.people.find(1)
            cora = await uow.people.find(2)
            assert ines is not None and cora is not None
            assert await uow.drafts.load(ines) == draft
            assert await uow.surveys.load_state(ines) == b'{"kind":"feedback","screen":2}'
            assert await uow.staff.load(ines) is None
            assert await uow.staff.load(cora) == b'{"action":"note","reference":"PD-ABC123"}'
            stack = await uow.dialogs.load(ines)
        assert [f.dialog for f in stack.frames] == ["intake", "survey"]
    assert not {"drafts", "staff_state", "survey_state"} & tables(path)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT form, programme_tag IS NULL FROM dialogs").fetchall()
    assert sorted(rows) == [(0, 1), (1, 1)]  # one form, one staff stack; no tag was kept before
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("p.db"))
    assert CANARY not in on_disk  # sealed again, never written out in the clear


async def test_frames_come_and_go_and_an_empty_stack_leaves_no_row(tmp_path: Path) -> None:
    async with opened(tmp_path / "p.db", KeyRing(KeyRing.generate())) as store:
        async with store.unit() as uow:
            sam = await uow.people.create(7, NOW)
            await uow.drafts.save(sam, b'{"programme":"hiv"}', NOW, "hiv")
            await uow.staff.save(sam, b"staff", NOW)
            await uow.surveys.save_state(sam, b"survey", NOW)
        async with store.unit() as uow:
            stack = await uow.dialogs.load(sam)
            # a member of staff's frame sits above a survey (a question asked of them first)
            assert [f.dialog for f in stack.frames] == ["intake", "survey", "casework"]
            assert stack.top is not None and stack.top.dialog == "casework"
            await uow.drafts.delete(sam)
            await uow.staff.clear(sam)
        with sqlite3.connect(tmp_path / "p.db") as db:
            assert db.execute("SELECT form FROM dialogs").fetchall() == [(0,)]
        async with store.unit() as uow:
            await uow.surveys.clear_state(sam)
            assert await uow.dialogs.load(sam) == DialogState()
        with sqlite3.connect(tmp_path / "p.db") as db:
            assert db.execute("SELECT count(*) FROM dialogs").fetchone() == (0,)
