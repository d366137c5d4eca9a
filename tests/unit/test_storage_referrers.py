"""Storage for referrals made on someone's behalf (migration 0013): people without Telegram, the
referrer's details sealed under the referrer's key, the two updates sent once each."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import KeyRing, NoTelegram, Store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    return await Store.open(tmp_path / "db.sqlite", KeyRing(KeyRing.generate()))


async def test_a_person_without_telegram_is_found_by_no_telegram_id(store: Store) -> None:
    try:
        async with store.unit() as uow:
            offline = await uow.people.create_offline(NOW)
            online = await uow.people.create(4242, NOW)
            assert not await uow.people.has_telegram(offline)
            assert await uow.people.has_telegram(online)
            with pytest.raises(NoTelegram):
                await uow.people.telegram_id(offline)
            assert await uow.people.telegram_id(online) == 4242
        async with store.unit() as uow:
            assert await uow.people.find(0) is None  # the empty id is nobody's
            assert await uow.people.get(offline.id) is not None
    finally:
        await store.close()


async def test_the_referrer_s_details_are_sealed_apart_and_updates_go_once(
    store: Store, tmp_path: Path
) -> None:
    try:
        async with store.unit() as uow:
            pro = await uow.people.create(5151, NOW)
            person = await uow.people.create_offline(NOW)
            referral = await uow.referrals.create(
                person, "hiv", b'{"name": "Ariel"}', False, NOW, route="professional"
            )
            await uow.referrals.add_referrer(
                referral, pro, b'{"pro_name": "Dr Zebedee"}', updates=True, questionnaire="refer"
            )
        assert b"Zebedee" not in (tmp_path / "db.sqlite").read_bytes()
        async with store.unit() as uow:
            assert await uow.referrals.referrer(referral) == (
                pro.id,
                b'{"pro_name": "Dr Zebedee"}',
            )
            assert await uow.referrals.questionnaire(referral) == "refer"
            assert await uow.referrals.update_due(referral, "received") == pro.id
            assert await uow.referrals.update_due(referral, "received") is None
            assert await uow.referrals.update_due(referral, "contacted") == pro.id
            assert await uow.referrals.update_due(referral, "contacted") is None
            assert [r.reference for r in await uow.referrals.made_by(pro)] == [referral.reference]
            await uow.people.erase(pro)  # the professional goes: their details with them
        async with store.unit() as uow:
            assert await uow.referrals.referrer(referral) is None
            assert await uow.referrals.get(referral.id) is not None  # the person's stays
    finally:
        await store.close()


async def test_a_referrer_who_did_not_ask_gets_no_updates(store: Store) -> None:
    try:
        async with store.unit() as uow:
            coordinator = await uow.people.create(6161, NOW)
            person = await uow.people.create_offline(NOW)
            referral = await uow.referrals.create(person, "hiv", b"{}", False, NOW, route="staff")
            await uow.referrals.add_referrer(referral, coordinator, b'{"by": "Cora"}')
            assert await uow.referrals.update_due(referral, "received") is None
            assert await uow.referrals.questionnaire(referral) is None
            await uow.people.erase(person)  # the person goes: the row about them too
        async with store.unit() as uow:
            assert await uow.referrals.made_by(coordinator) == []
    finally:
        await store.close()


async def test_giving_up_a_form_erases_only_someone_who_holds_nothing_else(store: Store) -> None:
    try:
        async with store.unit() as uow:
            fresh = await uow.people.create(7171, NOW)
            assert not await uow.people.holds_more_than_a_form(fresh)
            coordinator = await uow.people.create(7272, NOW)
            await uow.roles.grant(coordinator, "coordinator", "hiv", NOW)
            assert await uow.people.holds_more_than_a_form(coordinator)
            holder = await uow.people.create(7373, NOW)
            person = await uow.people.create_offline(NOW)
            referral = await uow.referrals.create(person, "hiv", b"{}", False, NOW, route="staff")
            await uow.referrals.claim(referral, holder, NOW)
            assert await uow.people.holds_more_than_a_form(holder)
            assert await uow.people.holds_more_than_a_form(person)
            pro = await uow.people.create(7474, NOW)
            await uow.referrals.add_referrer(referral, pro, b"{}")
            assert await uow.people.holds_more_than_a_form(pro)
    finally:
        await store.close()


async def test_retention_erases_a_professional_with_their_last_referral(store: Store) -> None:
    closed = datetime(2026, 1, 5, tzinfo=UTC)
    try:
        async with store.unit() as uow:
            pro = await uow.people.create(8181, NOW)
            old, kept = await uow.people.create_offline(NOW), await uow.people.create_offline(NOW)
            gone = await uow.referrals.create(old, "hiv", b"{}", False, closed)
            gone = await uow.referrals.set_status(gone, "closed", closed)
            await uow.referrals.mark(gone, closed_at=closed)
            still = await uow.referrals.create(kept, "hiv", b"{}", False, NOW)
            await uow.referrals.add_referrer(gone, pro, b'{"pro_name": "Dr Y"}')
            await uow.referrals.add_referrer(still, pro, b'{"pro_name": "Dr Y"}')
        cut = {"hiv": datetime(2026, 2, 1, tzinfo=UTC)}
        async with store.unit() as uow:
            purged = await uow.retention.purge(
                drafts_before=cut, closed_before=cut, draft_programme=lambda raw: None
            )
            assert purged.referrals == 1 and purged.people == 1  # the person; not yet Dr Y
            assert await uow.people.get(pro.id) is not None
            still = await uow.referrals.set_status(still, "closed", closed)
            await uow.referrals.mark(still, closed_at=closed)
        async with store.unit() as uow:
            purged = await uow.retention.purge(
                drafts_before=cut, closed_before=cut, draft_programme=lambda raw: None
            )
            assert purged.referrals == 1 and purged.people == 2  # the person, and Dr Y
            assert await uow.people.get(pro.id) is None
    finally:
        await store.close()
