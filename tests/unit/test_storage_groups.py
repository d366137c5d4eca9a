"""Peer support groups in storage (migration 0012): sealed details, places decided once, the
waiting list's order, meetings made once per slot, attendance, and erasure."""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from storage import KeyRing, Store
from storage.groups import Counts
from tests.unit.storage_fixtures import T0, opened, people, raw, raw_bytes

DETAILS = b'{"name": "CANARY-GROUP-NAME", "venue": "CANARY-VENUE"}'


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with opened(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate())) as s:
        yield s


async def test_details_are_sealed_and_config_groups_are_found_again(
    store: Store, tmp_path: Path
) -> None:
    async with store.unit() as u:
        made = await u.groups.create("hiv", DETAILS, 8, T0, config_id="talking_together")
        other = await u.groups.create("diabetes", b'{"name": "x"}', 4, T0)
    async with store.unit() as u:
        assert (await u.groups.from_config("hiv", "talking_together")) == made
        assert await u.groups.from_config("diabetes", "talking_together") is None
        assert [g.id for g in await u.groups.of_programme("hiv")] == [made.id]
        assert [g.id for g in await u.groups.of_programme("diabetes")] == [other.id]
        assert made.details == DETAILS and made.config and not other.config
        assert await u.groups.set_status(made.id, "paused", T0)
        assert not await u.groups.set_status(made.id, "paused", T0)
        assert await u.groups.set_status(made.id, "closed", T0)
        assert not await u.groups.set_status(made.id, "open", T0)  # closing is final
        assert await u.groups.of_programme("hiv") == []
        assert len(await u.groups.of_programme("hiv", closed=True)) == 1
    await store.close()
    on_disk = raw_bytes(tmp_path / "peerdoor.db")
    for canary in (b"CANARY-GROUP-NAME", b"CANARY-VENUE", b"talking_together"):
        assert canary not in on_disk


async def test_places_are_decided_once_and_the_waiting_list_keeps_its_order(
    store: Store,
) -> None:
    ann, bo, cy, di = await people(store, 1, 2, 3, 4)
    async with store.unit() as u:
        group = await u.groups.create("hiv", DETAILS, 2, T0)
        assert await u.groups.offer(group, ann.id, None, "invited", T0)
        assert not await u.groups.offer(group, ann.id, None, "invited", T0)  # live already
        assert await u.groups.offer(group, bo.id, None, "invited", T0)
        # later in the day, two join the list, in this order
        assert await u.groups.offer(group, di.id, None, "waiting", T0 + timedelta(minutes=1))
        assert await u.groups.offer(group, cy.id, None, "waiting", T0 + timedelta(minutes=2))
        assert await u.groups.counts(group.id) == Counts(taken=2, waiting=2)
        assert await u.groups.move(group.id, ann.id, ("invited",), "member", T0)
        assert not await u.groups.move(group.id, ann.id, ("invited",), "declined", T0)
        assert await u.groups.move(group.id, bo.id, ("invited",), "declined", T0)
        assert await u.groups.waiting(group.id) == [di.id, cy.id]
        assert [p.person_id for p in await u.groups.members(group.id)] == [ann.id]
        assert await u.groups.counts(group.id) == Counts(taken=1, waiting=2)
        # who declined may be offered again, at the back of the list
        assert await u.groups.offer(group, bo.id, None, "waiting", T0 + timedelta(minutes=3))
        assert await u.groups.waiting(group.id) == [di.id, cy.id, bo.id]
        place = await u.groups.place(group.id, bo.id)
        assert place is not None and place.status == "waiting"


async def test_how_a_member_is_shown_is_sealed_under_their_key(
    store: Store, tmp_path: Path
) -> None:
    (ann,) = await people(store, 1)
    async with store.unit() as u:
        group = await u.groups.create("hiv", DETAILS, 4, T0)
        await u.groups.offer(group, ann.id, None, "invited", T0)
        await u.groups.choose(group.id, ann.id, "CANARY-ANN-NAME", reminders=True)
    async with store.unit() as u:
        assert await u.groups.shown_as(group.id, ann.id) == "CANARY-ANN-NAME"
        place = await u.groups.place(group.id, ann.id)
        assert place is not None and place.reminders
    await store.close()
    assert b"CANARY-ANN-NAME" not in raw_bytes(tmp_path / "peerdoor.db")


async def test_meetings_once_per_slot_states_and_missed_in_a_row(store: Store) -> None:
    ann, bo = await people(store, 1, 2)
    week = timedelta(days=7)
    async with store.unit() as u:
        group = await u.groups.create("hiv", DETAILS, 4, T0)
        first = await u.groups.meeting(group.id, T0, T0)
        assert await u.groups.meeting(group.id, T0, T0 + week) == first
        second = await u.groups.meeting(group.id, T0 + week, T0)
        third = await u.groups.meeting(group.id, T0 + 2 * week, T0)
        moved_to = T0 + 2 * week + timedelta(hours=2)
        assert await u.groups.change_meeting(third.id, "moved", T0, starts_at=moved_to)
        got = await u.groups.get_meeting(third.id)
        assert got is not None and got.state == "moved" and got.starts_at == moved_to
        assert got.slot == third.slot
        for meeting in (first, second, third):
            assert await u.groups.change_meeting(meeting.id, "held", T0)
        assert not await u.groups.change_meeting(first.id, "cancelled", T0)  # held stays held
        await u.groups.answer(first.id, ann.id, "coming")
        await u.groups.mark(first.id, ann.id, True)
        await u.groups.mark(second.id, ann.id, False)
        await u.groups.mark(first.id, bo.id, True)
        await u.groups.mark(third.id, bo.id, True)
        assert await u.groups.attendance(first.id) == {
            ann.id: ("coming", True),
            bo.id: (None, True),
        }
        assert await u.groups.missed_in_a_row(group.id, ann.id) == 2  # unmarked counts as missed
        assert await u.groups.missed_in_a_row(group.id, bo.id) == 0


async def test_erasing_a_person_removes_them_from_every_group_and_list(
    store: Store, tmp_path: Path
) -> None:
    ann, bo = await people(store, 1, 2)
    async with store.unit() as u:
        one = await u.groups.create("hiv", DETAILS, 2, T0)
        two = await u.groups.create("hiv", DETAILS, 2, T0)
        await u.groups.offer(one, ann.id, None, "invited", T0)
        await u.groups.move(one.id, ann.id, ("invited",), "member", T0)
        await u.groups.offer(two, ann.id, None, "waiting", T0)
        await u.groups.offer(two, bo.id, None, "waiting", T0)
        await u.groups.set_facilitators(one.id, [bo])
        meeting = await u.groups.meeting(one.id, T0, T0)
        await u.groups.answer(meeting.id, ann.id, "coming")
        await u.groups.mark(meeting.id, ann.id, True)
    async with store.unit() as u:
        person = await u.people.get(ann.id)
        assert person is not None
        await u.people.erase(person)
    async with store.unit() as u:
        assert await u.groups.places_of(ann.id) == []
        assert await u.groups.waiting(two.id) == [bo.id]
        assert await u.groups.attendance(meeting.id) == {}
        assert await u.groups.facilitators(one.id) == [bo.id]
    await store.close()
    with raw(tmp_path / "peerdoor.db") as conn:
        for table in ("group_places", "group_attendance", "group_facilitators"):
            found = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE person_id = ?", (ann.id,))
            assert found.fetchone()[0] == 0, table
