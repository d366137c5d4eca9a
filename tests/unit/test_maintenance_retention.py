"""Retention: expired drafts and closed referrals are crypto-shredded, recent ones kept."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config_file import load_config
from bot.ops import maintenance
from conversations.draft import Draft
from conversations.forms import Retention, ServiceConfig
from storage import KeyRing, Person, Purged, Store, UnknownPerson
from tests.unit.storage_fixtures import T0, opened, raw, raw_bytes

EXAMPLE = Path(__file__).resolve().parents[2] / "bot" / "example_config.toml"
DAY = timedelta(days=1)
NOW = T0 + 400 * DAY
CANARY = "CANARY-RETENTION-7Q"


def config(
    hiv: tuple[int, int] = (30, 365), diabetes: tuple[int, int] = (90, 1000)
) -> ServiceConfig:
    """The example config with these (drafts_days, closed_days) per programme."""
    base = load_config(EXAMPLE)
    periods = {"hiv": hiv, "diabetes": diabetes}
    programmes = [
        p.model_copy(
            update={
                "retention": Retention(drafts_days=periods[p.id][0], closed_days=periods[p.id][1])
            }
        )
        for p in base.programmes
    ]
    return base.model_copy(update={"programmes": programmes})


def draft(programme: str) -> bytes:
    return Draft(programme=programme, language="en", answers={"name": CANARY}).to_bytes()


async def referral(
    store: Store, person: Person, programme: str, closed_days_ago: int | None
) -> str:
    """A referral submitted long ago; closed ``closed_days_ago`` before NOW (None: still open)."""
    async with store.unit() as u:
        ref = await u.referrals.create(
            person, programme, json.dumps({"story": CANARY}).encode(), False, T0
        )
        if closed_days_ago is not None:
            at = NOW - closed_days_ago * DAY
            ref = await u.referrals.set_status(ref, "closed", at)
            await u.referrals.mark(ref, closed_at=at)
        await u.thread.add(ref, "note", None, CANARY.encode(), T0)
        await u.outbox.add("news", referral=ref, due_at=T0, now=T0, payload=CANARY.encode())
    return ref.id


async def person(store: Store, telegram_id: int) -> Person:
    async with store.unit() as u:
        return await u.people.create(telegram_id, T0)


async def save_draft(
    store: Store, who: Person, programme: str, days_ago: int, tagged: bool
) -> None:
    async with store.unit() as u:
        await u.drafts.save(
            who, draft(programme), NOW - days_ago * DAY, programme if tagged else None
        )


def sealed(path: Path, sql: str, *args: object) -> list[bytes]:
    with raw(path) as conn:
        return [bytes(r[0]) for r in conn.execute(sql, args) if r[0] is not None]


async def test_purge_erases_what_expired_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    async with opened(path, KeyRing(KeyRing.generate())) as store:
        # Ada: only an old draft (hiv keeps drafts 30 days) -> erased entirely.
        ada = await person(store, 1)
        await save_draft(store, ada, "hiv", 31, tagged=True)
        # Ben: a closed referral past a year, and an open one -> the old one goes, Ben stays.
        ben = await person(store, 2)
        bens_old = await referral(store, ben, "hiv", closed_days_ago=366)
        bens_open = await referral(store, ben, "hiv", closed_days_ago=None)
        # Cy: diabetes keeps closed referrals 1000 days -> kept.
        cy = await person(store, 3)
        await referral(store, cy, "diabetes", closed_days_ago=366)
        # Di: a closed referral just inside a year -> kept.
        di = await person(store, 4)
        await referral(store, di, "hiv", closed_days_ago=364)
        # Eli: an untagged diabetes draft 60 days old: past the shortest period (30), inside its
        # own (90) -> kept, and tagged so that it is not opened again.
        eli = await person(store, 5)
        await save_draft(store, eli, "diabetes", 60, tagged=False)
        # Fay: an untagged hiv draft 45 days old -> erased; a coordinator's old draft -> the
        # draft goes, the coordinator (a role) stays.
        fay = await person(store, 6)
        await save_draft(store, fay, "hiv", 45, tagged=False)
        gus = await person(store, 7)
        async with store.unit() as u:
            await u.roles.grant(gus, "coordinator", "hiv", T0)
        await save_draft(store, gus, "hiv", 31, tagged=True)
        # Hal: a programme no longer in the config -> the shortest period applies.
        hal = await person(store, 8)
        await save_draft(store, hal, "retired-programme", 31, tagged=True)
        await referral(store, hal, "retired-programme", closed_days_ago=366)
        # Ivy: a fresh draft -> kept.
        ivy = await person(store, 9)
        await save_draft(store, ivy, "hiv", 1, tagged=True)

        ada_key = sealed(path, "SELECT wrapped FROM person_keys WHERE person_id = ?", ada.id)
        ada_draft = sealed(path, "SELECT state FROM dialogs WHERE person_id = ?", ada.id)
        bens_old_rows = sealed(path, "SELECT answers FROM referrals WHERE id = ?", bens_old)
        bens_old_rows += sealed(
            path, "SELECT body FROM thread WHERE referral_id = ?", bens_old
        ) + sealed(path, "SELECT payload FROM outbox WHERE referral_id = ?", bens_old)
        assert len(ada_key) == 1 and len(bens_old_rows) == 3

        opened_drafts: list[bytes] = []

        def programme_of(state: bytes) -> str | None:
            opened_drafts.append(state)
            return Draft.from_bytes(state).programme

        async with store.unit() as u:
            purged = await u.retention.purge(
                drafts_before={"hiv": NOW - 30 * DAY, "diabetes": NOW - 90 * DAY},
                closed_before={"hiv": NOW - 365 * DAY, "diabetes": NOW - 1000 * DAY},
                draft_programme=programme_of,
            )
        # Ada, Fay, Gus, Hal drafts; Ben's and Hal's referrals; Ada, Fay, Hal erased.
        assert purged == Purged(drafts=4, referrals=2, people=3)
        assert len(opened_drafts) == 2, "only untagged drafts past the shortest period are opened"

        on_disk = raw_bytes(path)  # straight after the commit: the WAL was truncated
        assert ada_key[0] not in on_disk, "Ada's data key is shredded"
        assert ada_draft[0] not in on_disk
        assert all(s not in on_disk for s in bens_old_rows), "Ben's old rows are zeroed"

        async with store.unit() as u:
            for gone in (ada, fay, hal):
                assert await u.people.get(gone.id) is None
                assert await u.drafts.load(gone) is None
                with pytest.raises(UnknownPerson):  # the data key is gone
                    await u.people.telegram_id(gone)
            assert await u.people.get(gus.id) is not None
            assert await u.drafts.load(gus) is None
            assert [r.id for r in await u.referrals.for_person(ben)] == [bens_open]
            assert CANARY.encode() in await u.referrals.answers(
                (await u.referrals.for_person(ben))[0]
            )
            assert len(await u.referrals.for_person(cy)) == 1
            assert len(await u.referrals.for_person(di)) == 1
            assert await u.drafts.load(eli) is not None
            assert await u.drafts.load(ivy) is not None

        # A second purge opens nothing (Eli's draft is tagged now) and erases nothing.
        opened_drafts.clear()
        async with store.unit() as u:
            again = await u.retention.purge(
                drafts_before={"hiv": NOW - 30 * DAY, "diabetes": NOW - 90 * DAY},
                closed_before={"hiv": NOW - 365 * DAY, "diabetes": NOW - 1000 * DAY},
                draft_programme=programme_of,
            )
        assert again == Purged()
        assert opened_drafts == []

        # Eli's draft expires by its own programme's period, without being opened.
        async with store.unit() as u:
            later = await u.retention.purge(
                drafts_before={"hiv": NOW, "diabetes": NOW - 59 * DAY},
                closed_before={"hiv": NOW - 365 * DAY, "diabetes": NOW - 1000 * DAY},
                draft_programme=programme_of,
            )
        assert later == Purged(drafts=2, people=2)  # Eli's and Ivy's
        assert opened_drafts == []


async def test_a_save_clears_a_stale_tag(tmp_path: Path) -> None:
    async with opened(tmp_path / "p.db", KeyRing(KeyRing.generate())) as store:
        who = await person(store, 1)
        await save_draft(store, who, "diabetes", 60, tagged=True)
        await save_draft(store, who, "hiv", 45, tagged=False)  # saver did not say: tag cleared
        async with store.unit() as u:
            purged = await u.retention.purge(
                drafts_before={"hiv": NOW - 30 * DAY, "diabetes": NOW - 90 * DAY},
                closed_before={},
                draft_programme=lambda s: Draft.from_bytes(s).programme,
            )
        assert purged == Purged(drafts=1, people=1)


async def test_the_purge_command_path_audits_and_logs_counts_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with opened(tmp_path / "p.db", KeyRing(KeyRing.generate())) as store:
        old = await person(store, 1)
        await save_draft(store, old, "hiv", 31, tagged=False)
        await referral(store, old, "hiv", closed_days_ago=400)
        keep = await person(store, 2)
        await save_draft(store, keep, "hiv", 29, tagged=False)
        with caplog.at_level(logging.INFO, "peerdoor"):
            purged = await maintenance.purge(store, config(), NOW)
        assert purged == Purged(drafts=1, referrals=1, people=1)
        async with store.unit() as u:
            (entry,) = await u.audit.entries()
        assert (entry.action, entry.actor_id, entry.reference) == ("retention_purge", None, None)
        assert entry.detail == "drafts=1 referrals=1 people=1"
        assert "retention.purged drafts=1 referrals=1 people=1 more=False" in caplog.text
        assert CANARY not in caplog.text and old.id not in caplog.text
        assert (await store.verify_audit()).ok


async def test_a_large_purge_goes_in_short_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenance, "PURGE_BATCH", 2)
    async with opened(tmp_path / "p.db", KeyRing(KeyRing.generate())) as store:
        for i in range(5):
            who = await person(store, 100 + i)
            await save_draft(store, who, "hiv", 31, tagged=i % 2 == 0)
            await referral(store, who, "hiv", closed_days_ago=400)
        for i in range(3):  # kept: untagged, inside their programme's period (diabetes: 90)
            who = await person(store, 200 + i)
            await save_draft(store, who, "diabetes", 60, tagged=False)
        purged = await maintenance.purge(store, config(), NOW)
        assert purged == Purged(drafts=5, referrals=5, people=5)
        async with store.unit() as u:
            entries = [e for e in await u.audit.entries() if e.action == "retention_purge"]
            for i in range(3):
                kept = await u.people.find(200 + i)
                assert kept is not None and await u.drafts.load(kept) is not None
        assert len(entries) > 1, "several short transactions, each audited"
        assert sum(int(e.detail.split()[0].split("=")[1]) for e in entries) == 5
        assert await maintenance.purge(store, config(), NOW) == Purged()


async def test_a_closed_referral_stays_while_its_person_holds_a_group_place(
    tmp_path: Path,
) -> None:
    """A member's place in a group goes by the referral it came through (messages, reminders,
    the waiting list): the purge keeps that referral, however old, until the place ends or the
    group closes, and then takes it (and the person, left with nothing) as usual."""
    async with opened(tmp_path / "p.db", KeyRing(KeyRing.generate())) as store:
        members = [await person(store, 1), await person(store, 2), await person(store, 3)]
        refs = [await referral(store, m, "hiv", closed_days_ago=400) for m in members]
        async with store.unit() as u:
            group = await u.groups.create("hiv", b"{}", 8, T0)
            other = await u.groups.create("hiv", b"{}", 8, T0)
            statuses = ("invited", "waiting", "invited")
            for m, ref, status in zip(members, refs, statuses, strict=True):
                where = other if m is members[2] else group
                assert await u.groups.offer(where, m.id, await u.referrals.get(ref), status, T0)
            assert await u.groups.move(group.id, members[0].id, ["invited"], "member", T0)
            assert await u.groups.set_status(other.id, "closed", T0)  # member 3's group ended
        assert await maintenance.purge(store, config(), NOW) == Purged(referrals=1, people=1)
        async with store.unit() as u:
            kept = [await u.referrals.get(r) for r in refs]
            assert [r is not None for r in kept] == [True, True, False]
            place = await u.groups.place(group.id, members[0].id)
            assert place is not None and place.referral_id == refs[0]
            assert await u.groups.move(group.id, members[0].id, ["member"], "left", NOW)
        assert await maintenance.purge(store, config(), NOW) == Purged(referrals=1, people=1)
        async with store.unit() as u:
            assert await u.referrals.get(refs[0]) is None
            assert await u.referrals.get(refs[1]) is not None  # still waiting for a place
