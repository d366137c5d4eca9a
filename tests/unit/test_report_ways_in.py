"""The report's ways in: referrals per source (matched by keyed tag, the source itself sealed)
and per route, with time to first contact per route, all under the small-number rule."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.ops.report import NO_SOURCE, Row, gather, summarise
from conversations.forms import ServiceConfig
from storage import KeyRing, Store
from tests.unit.intake_helpers import loc, programme_data

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def config() -> ServiceConfig:
    data = programme_data()
    data["sources"] = [
        {"id": "kent", "kind": "clinic", "name": loc("Kent clinic")},
        {"id": "web", "kind": "web", "name": loc("Web page")},
    ]
    return ServiceConfig.model_validate({"programmes": [data]})


def row(route: str, source: str | None, contact_hours: float | None) -> Row:
    contacted = None if contact_hours is None else T0 + timedelta(hours=contact_hours)
    return Row(T0, contacted, contacted, "contacted", False, None, route, source)


def test_counts_and_times_per_route_and_source() -> None:
    programme = config().programmes[0]
    rows = [row("self", "kent", h) for h in (1, 2, 3, 4, 5)]
    rows += [row("self", None, None), row("professional", "web", 10), row("staff", None, 6)]
    made = summarise(programme, rows, {}, None, T0.date(), threshold=5)
    routes = {w.key: w for w in made.routes}
    assert list(routes) == ["self", "professional", "staff"]
    assert [routes[k].count for k in routes] == [6, 1, 1]
    assert routes["self"].contact.n == 5 and routes["self"].contact.median == 3
    assert routes["professional"].contact.median is None  # one referral: no median
    sources = {w.key: w for w in made.sources}
    assert list(sources) == ["kent", "web", NO_SOURCE]
    assert [sources[k].count for k in sources] == [5, 1, 2]
    assert sources["kent"].label == "Kent clinic"
    assert sum(w.count for w in made.sources) == made.total


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    return await Store.open(tmp_path / "db.sqlite", KeyRing(KeyRing.generate()))


async def test_sources_are_counted_by_tag_without_opening_anything(
    store: Store, tmp_path: Path
) -> None:
    cfg = config()
    programme = cfg.programmes[0]
    answers = json.dumps({"name": "Sam"}).encode()
    try:
        async with store.unit() as uow:
            for i, source in enumerate(["kent", "kent", "web", None, "gone"]):
                person = await uow.people.create(9000 + i, T0)
                await uow.referrals.create(
                    person, programme.id, answers, urgent=False, now=T0, source=source
                )
            # the same source id in another programme is another tag
            other = await uow.people.create(9100, T0)
            await uow.referrals.create(other, "elsewhere", answers, False, T0, source="kent")
        report = await gather(
            store, [programme], since=None, until=date(2026, 3, 8), threshold=1, now=T0
        )
    finally:
        await store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "db.sqlite")) as db:
        rows = db.execute("SELECT source_tag FROM referrals WHERE source_tag IS NOT NULL")
        tags = [bytes(tag) for (tag,) in rows.fetchall()]
    counts = {w.key: w.count for w in report.programmes[0].sources}
    # "gone": a source no longer in the config counts as none
    assert counts == {"kent": 2, "web": 1, NO_SOURCE: 2}
    assert len(set(tags)) == 4  # kent, web, gone here; kent in the other programme
    assert not any(b"kent" in t or b"web" in t for t in tags)


async def test_routes_are_stored_plain_and_counted(store: Store) -> None:
    programme = config().programmes[0]
    answers = json.dumps({"name": "Sam"}).encode()
    try:
        async with store.unit() as uow:
            for i, route in enumerate(["self", "professional", "professional", "staff"]):
                person = await uow.people.create(9200 + i, T0)
                made = await uow.referrals.create(
                    person, programme.id, answers, False, T0, route=route
                )
                assert made.route == route
                again = await uow.referrals.get(made.id)
                assert again is not None and again.route == route
            person = await uow.people.create(9300, T0)
            with pytest.raises(ValueError, match="unknown route"):
                await uow.referrals.create(person, programme.id, answers, False, T0, route="x")
        report = await gather(
            store, [programme], since=None, until=date(2026, 3, 8), threshold=1, now=T0
        )
    finally:
        await store.close()
    assert {w.key: w.count for w in report.programmes[0].routes} == {
        "self": 1,
        "professional": 2,
        "staff": 1,
    }
