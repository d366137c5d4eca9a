"""The benchmarks' seeding helpers write what the bot would have written, as many as asked."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import Counter
from pathlib import Path

from benchmarks import seeding
from benchmarks.queue import Timing, coordination_config, holders, summarise
from bot.config_file import load_config
from bot.i18n import load_catalog
from conversations.draft import Draft
from conversations.intake import Intake
from conversations.lifecycle import CLOSED, OPEN
from tests.e2e.coordination import CORA, DIANA
from tests.e2e.harness import EXAMPLE_CONFIG, BotFiles


def test_a_walk_through_the_shipped_forms_ends_in_the_answers_the_bot_stores() -> None:
    config = load_config(EXAMPLE_CONFIG)
    walks = seeding.walks(config)
    assert set(walks) == {p.id for p in config.programmes}
    hiv = json.loads(walks["hiv"].answers)
    assert hiv["name"] == "Robin" and hiv["languages"] == ["en"]
    diabetes = json.loads(walks["diabetes"].answers)
    assert diabetes["age_band"] == "45_64"  # not under 16: the form would end there
    stops = seeding.stopping_points(walks["hiv"])
    questions = [Draft.from_bytes(d).current for d in stops]
    assert len(stops) > 10 and len(set(questions)) == len(questions)
    assert all(Draft.from_bytes(d).phase == "asking" for d in stops)


def test_a_walk_answers_from_the_plan_and_defaults_the_rest() -> None:
    config = load_config(EXAMPLE_CONFIG)
    programme = config.programme("diabetes")
    assert programme is not None
    walk = seeding.walk_form(Intake(config, load_catalog()), programme)
    assert json.loads(walk.answers)["contact_route"] == "chat"
    assert len(walk.drafts) >= len([q for q in programme.form if q.when is None])


def test_planned_referrals_are_reproducible_and_spread_over_every_status() -> None:
    planned = seeding.plan_referrals(2_000, (("hiv", 0.7), ("diabetes", 0.3)))
    assert planned == seeding.plan_referrals(2_000, (("hiv", 0.7), ("diabetes", 0.3)))
    assert len(planned) == 2_000
    assert {status for _, status, _, _ in planned} == set(seeding.STATUS_WEIGHTS)
    assert Counter(p for p, _, _, _ in planned)["hiv"] > 1_200
    assert 0 < sum(urgent for _, _, urgent, _ in planned) < 200


async def test_seed_drafts_writes_one_sealed_draft_per_person(tmp_path: Path) -> None:
    files = BotFiles(tmp_path)
    files.data_dir.mkdir()
    config = files.config()
    store = await files.open_store()
    try:
        waiting = await seeding.seed_drafts(store, config, 100, 30)
        async with store.unit() as uow:
            person = await uow.people.find(100 + 7)
            assert person is not None
            raw = await uow.drafts.load(person)
    finally:
        await store.close()
    assert len(waiting) == 30
    assert raw is not None and Draft.from_bytes(raw).current == waiting[7]
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        assert db.execute("SELECT count(*) FROM dialogs").fetchone() == (30,)
        assert db.execute("SELECT count(*) FROM people").fetchone() == (30,)
    assert b"Robin" not in files.raw_bytes()  # sealed, as the bot stores it


async def test_seed_referrals_writes_n_referrals_with_holders(tmp_path: Path) -> None:
    files = BotFiles(tmp_path, config_path=coordination_config(tmp_path))
    files.data_dir.mkdir()
    config = files.config()
    assert [p.id for p in config.programmes if CORA in p.coordinators] == ["hiv", "diabetes"]
    store = await files.open_store()
    try:
        seeded = await seeding.seed_referrals(
            store, files.database, config, 500, 60, holders(config)
        )
        async with store.unit() as uow:
            shown = await uow.referrals.count(["diabetes"], OPEN)
    finally:
        await store.close()
    assert sum(seeded.counts.values()) == 60
    assert shown == sum(n for (p, s), n in seeded.counts.items() if p == "diabetes" and s in OPEN)
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        rows = db.execute("SELECT status, holder_id IS NOT NULL, closed_at FROM referrals")
        found = rows.fetchall()
    assert len(found) == 60
    assert all(held == (status != "submitted") for status, held, _ in found)
    assert all((closed is not None) == (status == CLOSED) for status, _, closed in found)
    assert sum(seeded.held.values()) == sum(1 for status, _, _ in found if status != "submitted")
    assert set(seeded.held) == {CORA, 7002, DIANA}


def test_queue_summary_is_the_difference_from_help() -> None:
    timings = [Timing("help", CORA, 10.0 + i, 12.0) for i in range(100)]
    timings += [Timing(kind, CORA, 30.0 + i, 40.0) for kind in ("queue", "page2", "page3", "mine")
                for i in range(100)]  # fmt: skip
    result = summarise(timings, {CORA: "Cora"})
    assert result["minus_help"] == {
        k: {"p50_ms": 20.0, "p99_ms": 20.0} for k in ("queue", "page2", "page3", "mine")
    }
    assert result["target_met"] is True
    timings.append(Timing("queue", CORA, 500.0, 500.0))
    timings.append(Timing("queue", CORA, 500.0, 500.0))
    assert summarise(timings, {CORA: "Cora"})["target_met"] is False
