"""Supporters, engagements, sessions and surveys in storage (migration 0006)."""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from storage import KeyRing, Referral, Store
from tests.unit.storage_fixtures import T0, opened, people, raw_bytes


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with opened(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate())) as s:
        yield s


async def referral_of(store: Store, telegram_id: int = 1) -> Referral:
    async with store.unit() as u:
        person = await u.people.find(telegram_id) or await u.people.create(telegram_id, T0)
        return await u.referrals.create(person, "hiv", b'{"a": 1}', False, T0)


async def test_profile_is_sealed_and_paused_supporters_are_not_ready(
    store: Store, tmp_path: Path
) -> None:
    sam, ria = await people(store, 200, 201)
    async with store.unit() as u:
        await u.supporters.save(sam, b'{"name": "CANARY-SAM"}', T0)
        await u.supporters.save(ria, b'{"name": "Ria"}', T0)
        assert await u.supporters.set_paused(ria, True, T0)
        assert await u.supporters.ready([ria, sam]) == [sam]
        assert await u.supporters.profile(sam) == b'{"name": "CANARY-SAM"}'
    await store.close()
    assert b"CANARY-SAM" not in raw_bytes(tmp_path / "peerdoor.db")


async def test_one_live_engagement_per_referral_and_one_decision(store: Store) -> None:
    referral = await referral_of(store)
    sam, ria, cora = await people(store, 200, 201, 300)
    async with store.unit() as u:
        offer = await u.engagements.offer(referral, sam, cora, b'["name"]', T0)
        assert offer is not None and offer.status == "offered"
        assert await u.engagements.offer(referral, ria, cora, b"[]", T0) is None
        assert await u.engagements.load([sam.id, ria.id]) == {sam.id: 1, ria.id: 0}
        assert await u.engagements.handover(offer, referral) == b'["name"]'
        assert await u.engagements.decide(offer, "declined", T0)
        assert not await u.engagements.decide(offer, "accepted", T0)  # decided already
        second = await u.engagements.offer(referral, ria, cora, b"[]", T0)
        assert second is not None
        assert await u.engagements.decide(second, "accepted", T0)
        assert await u.engagements.live(referral) == await u.engagements.get(second.id)
        assert [e.id for e in await u.engagements.for_supporter(ria)] == [second.id]
        assert await u.engagements.end(second, T0)
        assert not await u.engagements.end(second, T0)
        assert await u.engagements.live(referral) is None


async def test_session_log_once_and_erasing_the_referrer_removes_everything(
    store: Store,
) -> None:
    referral = await referral_of(store)
    sam, cora = await people(store, 200, 300)
    starts = T0 + timedelta(days=2)
    async with store.unit() as u:
        offer = await u.engagements.offer(referral, sam, cora, b"[]", T0)
        assert offer is not None
        session = await u.sessions.add(offer, referral, starts, b"Online", sam, T0)
        assert session.starts_at == starts
        assert await u.sessions.place(session, referral) == b"Online"
        assert await u.sessions.log(session, "concern", starts)
        assert not await u.sessions.log(session, "happened", starts)
        await u.surveys.submit(referral, "feedback", sam, b'{"q": 1}', T0)
        assert await u.surveys.answers(referral, "feedback") == [b'{"q": 1}']
        owner = await u.people.get(referral.person_id)
        assert owner is not None
        await u.people.erase(owner)
    async with store.unit() as u:
        assert await u.engagements.get(offer.id) is None
        assert await u.sessions.get(session.id) is None
        assert await u.surveys.answers(referral, "feedback") == []


async def test_feedback_counts_are_per_programme_and_answer(store: Store) -> None:
    async with store.unit() as u:
        await u.surveys.count("hiv", "helpful", "5", T0)
        await u.surveys.count("hiv", "helpful", "5", T0 + timedelta(days=40))
        await u.surveys.count("hiv", "helpful", "3", T0)
        await u.surveys.count("dm", "helpful", "1", T0)
        counts = await u.surveys.counts(["hiv"])
    assert counts == {"hiv": {"helpful": {"5": 2, "3": 1}}}
