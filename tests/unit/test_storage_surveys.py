"""Survey answers and counts in storage: one of each kind per engagement, entries, months."""

import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from storage import KeyRing, Store
from tests.unit.storage_fixtures import T0, opened, people, raw_bytes


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with opened(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate())) as s:
        yield s


async def test_one_survey_of_each_kind_per_engagement_sealed(store: Store, tmp_path: Path) -> None:
    robin, sam, cora = await people(store, 1, 200, 300)
    async with store.unit() as u:
        referral = await u.referrals.create(robin, "hiv", b"{}", False, T0)
        offer = await u.engagements.offer(referral, sam, cora, b"[]", T0)
        assert offer is not None
        assert not await u.surveys.submitted(offer.id, "feedback")
        await u.surveys.submit(referral, "feedback", robin, b'{"t": "CANARY-FB"}', T0, offer.id)
        later = T0 + timedelta(hours=1)
        await u.surveys.submit(referral, "closing", sam, b'{"t": "CANARY-CL"}', later, offer.id)
        assert await u.surveys.submitted(offer.id, "feedback")
        entries = await u.surveys.entries(referral)
    assert [(e.kind, e.engagement_id, e.submitted_at) for e in entries] == [
        ("feedback", offer.id, T0),
        ("closing", offer.id, later),
    ]
    assert entries[0].answers == b'{"t": "CANARY-FB"}'
    async with store.unit() as u:  # a second feedback for the same match: refused
        with pytest.raises(sqlite3.IntegrityError):
            await u.surveys.submit(referral, "feedback", robin, b"{}", T0, offer.id)
        assert len(await u.surveys.entries(referral)) == 2
    await store.close()
    raw = raw_bytes(tmp_path / "peerdoor.db")
    assert b"CANARY-FB" not in raw and b"CANARY-CL" not in raw


async def test_counts_over_the_months_of_a_period(store: Store) -> None:
    march, april = T0.replace(month=3, day=15), T0.replace(month=4, day=2)
    async with store.unit() as u:
        for at, answer in (
            (march, "5"),
            (march, "5"),
            (april, "4"),
            (march - timedelta(days=60), "1"),
        ):
            await u.surveys.count("hiv", "helpful", answer, at)
        whole = await u.surveys.counts(["hiv"])
        only_march = await u.surveys.counts(["hiv"], march.date(), march.date())
        from_march = await u.surveys.counts(["hiv"], march.date().replace(day=1), None)
    assert whole == {"hiv": {"helpful": {"5": 2, "4": 1, "1": 1}}}
    assert only_march == {"hiv": {"helpful": {"5": 2}}}
    assert from_march == {"hiv": {"helpful": {"5": 2, "4": 1}}}
