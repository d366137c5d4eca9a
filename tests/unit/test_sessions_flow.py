"""The session planning flow with a fixed clock, on the real store: the day picker's range, a
time the clocks skip, and who may plan (edge cases the end-to-end tests cannot reach on a given
day)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config_file import load_config
from bot.i18n import load_catalog
from bot.services.reply import Sender
from bot.services.sessions import SessionsFlow
from conversations import assessment_meeting
from storage import KeyRing, Store, engagements
from tests.e2e.harness import EXAMPLE_CONFIG

SUPPORTER, COORDINATOR, PERSON, STRANGER = 101, 102, 103, 104
#: Noon on the day before the clocks go forward in London (28 March 2027, 01:00 -> 02:00).
NOON = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)


async def setup(tmp_path: Path) -> tuple[Store, SessionsFlow, str]:
    store = await Store.open(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate()))
    flow = SessionsFlow(store, load_config(EXAMPLE_CONFIG), load_catalog(), lambda: NOON)
    async with store.unit() as uow:
        coordinator = await uow.people.create(COORDINATOR, NOON)
        person = await uow.people.create(PERSON, NOON)
        helper = await uow.people.create(SUPPORTER, NOON)
        await uow.people.create(STRANGER, NOON)
        referral = await uow.referrals.create(person, "hiv", b"{}", False, NOON)
        assert await uow.referrals.claim(referral, coordinator, NOON)
        engagement = await uow.engagements.offer(referral, helper, coordinator, b"{}", NOON)
        assert engagement is not None
        assert await uow.engagements.decide(engagement, "accepted", NOON)
    return store, flow, engagement.id


async def test_a_time_the_clocks_skip_is_asked_again(tmp_path: Path) -> None:
    store, flow, eid = await setup(tmp_path)
    sam = Sender(SUPPORTER, "en")
    try:
        picker = await flow.press(sam, f"m:p:{eid}")
        labels = [b.label for row in picker.prompts[0].buttons for b in row]
        assert labels[:3] == ["Today", "Tomorrow", "Mon 29 Mar"]
        day = await flow.press(sam, f"m:d:{eid}:20270328")
        assert day.replace is not None and "What time on Sunday 28 March?" in day.replace.text
        skipped = await flow.typed(sam, "01:30")
        assert skipped is not None
        assert "The clocks change on Sunday 28 March" in skipped.prompts[0].text
        ok = await flow.typed(sam, "02:30")
        assert ok is not None and "online or in person" in ok.prompts[0].text
        online = await flow.press(sam, f"m:o:{eid}")
        assert online.replace is not None
        assert "Sunday 28 March at 02:30" in online.replace.text  # 01:30 UTC, summer time
        saved = await flow.press(sam, f"m:s:{eid}")
        assert saved.replace is not None and saved.replace.text.startswith("Saved:")
        async with store.unit() as uow:
            engagement = await uow.engagements.get(eid)
            assert engagement is not None
            (session,) = await uow.sessions.for_engagement(engagement)
        assert session.starts_at == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    finally:
        await store.close()


async def test_days_outside_the_picker_and_times_gone_are_refused(tmp_path: Path) -> None:
    store, flow, eid = await setup(tmp_path)
    cora = Sender(COORDINATOR, "en")  # the holder may plan too
    try:
        await flow.press(cora, f"m:p:{eid}")
        late = await flow.press(cora, f"m:d:{eid}:20270501")  # beyond 14 days
        assert late.notice is not None and "expired" in late.notice
        await flow.press(cora, f"m:d:{eid}:20270327")  # today
        gone = await flow.typed(cora, "09:00")
        assert gone is not None and "already gone" in gone.prompts[0].text
        unread = await flow.typed(cora, "soon")
        assert unread is not None and "could not read" in unread.prompts[0].text
    finally:
        await store.close()


async def test_only_the_supporter_and_the_holder_may_plan(tmp_path: Path) -> None:
    store, flow, eid = await setup(tmp_path)
    try:
        for outsider in (STRANGER, PERSON):
            refused = await flow.press(Sender(outsider, "en"), f"m:p:{eid}")
            assert "cannot plan a meeting" in refused.prompts[0].text
        assert await flow.typed(Sender(STRANGER, "en"), "18:30") is None  # not asked
    finally:
        await store.close()


def test_an_engagement_id_beginning_with_a_is_a_supporter_s_meeting_not_an_assessment() -> None:
    """Engagement ids are 8 Crockford letters and digits: one in 32 begins with "A", the mark
    of an assessment meeting's target ("A" + a reference, which always has its dash)."""
    assert assessment_meeting.reference_of("A7K2M9QX") is None
    assert assessment_meeting.reference_of("ABCDEFGH") is None
    assert assessment_meeting.reference_of(assessment_meeting.target("PD-7K2M9Q")) == "PD-7K2M9Q"


async def test_a_supporter_plans_whatever_their_engagement_id_begins_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the id an engagement happens to get: "A…" one time in 32
    monkeypatch.setattr(engagements, "new_engagement_id", lambda: "A7K2M9QX")
    store, flow, eid = await setup(tmp_path)
    assert eid == "A7K2M9QX"
    try:
        picker = await flow.press(Sender(SUPPORTER, "en"), "m:p:A7K2M9QX")
        labels = [b.label for row in picker.prompts[0].buttons for b in row]
        assert labels[:2] == ["Today", "Tomorrow"]
    finally:
        await store.close()
