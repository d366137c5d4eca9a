"""Group use cases against a real store: a place freed by the retention purge (no update of
ours) goes to the next in line as soon as the programme's groups are looked at."""

from __future__ import annotations

import json
from pathlib import Path

from bot.config_file import load_config
from bot.delivery import kinds
from bot.i18n import load_catalog
from bot.services.groups import GroupsFlow
from storage import KeyRing
from tests.unit.report_seed import EXAMPLE_CONFIG
from tests.unit.storage_fixtures import T0, opened


async def test_a_place_freed_by_erasure_goes_to_the_next_in_line(tmp_path: Path) -> None:
    config = load_config(EXAMPLE_CONFIG)
    hiv = config.programme("hiv")
    assert hiv is not None
    async with opened(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate())) as store:
        flow = GroupsFlow(store, config, load_catalog(), lambda: T0)
        async with store.unit() as uow:
            group = next(
                g for g, d in await flow.groups_of(uow, hiv) if d.group.id == "malmo"
            )  # eight places
            people = []
            for i in range(9):
                person = await uow.people.create(9000 + i, T0)
                answers = json.dumps({"name": f"P{i}"}).encode()
                referral = await uow.referrals.create(person, "hiv", answers, False, T0)
                status = "invited" if i < 8 else "waiting"
                assert await uow.groups.offer(group, person.id, referral, status, T0)
                people.append(person)
            assert (await uow.groups.counts(group.id)).taken == 8
        async with store.unit() as uow:  # the purge erases a member, and tells no flow
            await uow.people.erase(people[0])
        async with store.unit() as uow:
            assert await uow.groups.waiting(group.id) == [people[8].id]  # not yet
            await flow.groups_of(uow, hiv)  # a coordinator looks at the groups
            place = await uow.groups.place(group.id, people[8].id)
            assert place is not None and place.status == "invited"
            assert (await uow.groups.counts(group.id)).taken == 8
            due = await uow.outbox.due(T0, 50)
        invites = [i for i in due if i.kind == kinds.GROUP_INVITE]
        assert len(invites) == 1
