"""Group figures in the report: counts per programme, small numbers hidden, no names."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from bot.i18n import load_catalog
from bot.ops.reports_cli import make_report
from bot.services.groups import GroupsFlow
from storage import KeyRing, Store
from tests.unit.report_seed import SINCE, UNTIL, seed
from tests.unit.test_report import NOW, cell


async def test_group_figures_are_counted_and_small_ones_hidden(tmp_path: Path) -> None:
    key = KeyRing.generate()
    database = tmp_path / "peerdoor.db"
    seeded = await seed(database, key)
    hiv = seeded.config.programme("hiv")
    assert hiv is not None
    store = await Store.open(database, KeyRing(key))
    at = NOW - timedelta(days=10)  # within the report's period
    try:
        flow = GroupsFlow(store, seeded.config, load_catalog(), lambda: at)
        async with store.unit() as uow:
            groups = await flow.groups_of(uow, hiv)  # the example's two groups, both open
            group = next(g for g, d in groups if d.group.id == "talking_together")
            meeting = await uow.groups.meeting(group.id, at, at)
            for i in range(7):
                person = await uow.people.create(7000 + i, at)
                answers = json.dumps({"name": f"CANARY-MEMBER-{i}"}).encode()
                referral = await uow.referrals.create(person, "hiv", answers, False, at)
                await uow.groups.offer(group, person.id, referral, "invited", at)
                await uow.groups.move(group.id, person.id, ("invited",), "member", at)
                if i < 5:
                    await uow.groups.mark(meeting.id, person.id, True)
                if i == 6:
                    await uow.groups.move(group.id, person.id, ("member",), "left", at)
            await uow.groups.change_meeting(meeting.id, "held", at)
        report, written = await make_report(
            store, [hiv], tmp_path / "report", since=SINCE, until=UNTIL, now=NOW, close=False
        )
    finally:
        await store.close()
    figures = report.programmes[0].groups
    assert figures is not None
    assert (figures.running, figures.meetings_held, figures.attended) == (2, 1, 5)
    assert (figures.members, figures.waiting, figures.left) == (6, 0, 1)
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert cell(page, "hiv-groups-running") == "<5"
    assert cell(page, "hiv-groups-held") == "<5"
    assert cell(page, "hiv-groups-attended") == "5"
    assert cell(page, "hiv-groups-members") == "6"
    assert cell(page, "hiv-groups-waiting") == "0"
    assert cell(page, "hiv-groups-left") == "<5"
    assert "CANARY-MEMBER" not in page and "Talking Together" not in page
    assert not re.search(r'<tr id="hiv-groups-left">.*?<td class="n">1</td>', page)
    assert written
