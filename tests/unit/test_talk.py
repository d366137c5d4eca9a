"""Messages between a supporter and the person (issue #15): the pure callback format and the
storage of the messages on a real store (sealed, bound to their engagement and direction, gone
with the engagement), and the flow's cap per hour and crisis words, with a fixed clock."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config_file import load_config
from bot.i18n import load_catalog
from bot.services.casework import Actor
from bot.services.talk import TalkFlow
from conversations import relationship
from conversations.relationship import TalkPress
from storage import KeyRing, Person, Referral, Store
from tests.e2e.harness import EXAMPLE_CONFIG
from tests.unit.storage_fixtures import raw

SUPPORTER, COORDINATOR, PERSON, STRANGER = 201, 202, 203, 204
NOW = datetime(2027, 5, 4, 12, 0, tzinfo=UTC)


def test_the_callback_format_reads_its_own_buttons_and_nothing_else() -> None:
    for action in relationship.ACTIONS:
        data = relationship.button(action, "AB12CD34")
        assert relationship.parse(data) == TalkPress(action, "AB12CD34")
        assert len(data.encode()) <= 64
    for forged in (
        None, "", "t:w", "t:w:", "t:x:AB12CD34", "t:w:ab12cd34", "t:w:AB12CD3", "t:w:AB12CD345",
        "t:w:AB12CD34:1", "s:w:AB12CD34", "t:w:AB12CDIL", "t:w:AB12CD3" + "\u0663",
    ):  # fmt: skip
        assert relationship.parse(forged) is None, forged


async def setup(tmp_path: Path) -> tuple[Store, TalkFlow, str, list[datetime]]:
    store = await Store.open(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate()))
    clock = [NOW]
    flow = TalkFlow(store, load_config(EXAMPLE_CONFIG), load_catalog(), lambda: clock[0])
    async with store.unit() as uow:
        coordinator = await uow.people.create(COORDINATOR, NOW)
        person = await uow.people.create(PERSON, NOW)
        helper = await uow.people.create(SUPPORTER, NOW)
        await uow.people.create(STRANGER, NOW)
        await uow.roles.grant(helper, "supporter", "hiv", NOW)
        referral = await uow.referrals.create(person, "hiv", b"{}", False, NOW)
        assert await uow.referrals.claim(referral, coordinator, NOW)
        engagement = await uow.engagements.offer(referral, helper, coordinator, b"{}", NOW)
        assert engagement is not None
        assert await uow.engagements.decide(engagement, "accepted", NOW)
    return store, flow, engagement.id, clock


async def _referral(store: Store) -> tuple[Referral, Person]:
    async with store.unit() as uow:
        person = await uow.people.find(PERSON)
        assert person is not None
        (referral,) = await uow.referrals.for_person(person)
    return referral, person


async def test_a_message_is_sealed_and_bound_to_its_engagement_and_direction(
    tmp_path: Path,
) -> None:
    store, _flow, eid, _clock = await setup(tmp_path)
    try:
        referral, _person = await _referral(store)
        async with store.unit() as uow:
            engagement = await uow.engagements.get(eid)
            assert engagement is not None
            mid = await uow.talk.add(
                engagement, referral, "to_supporter", b"PLAINTEXT-KESTREL", False, NOW
            )
            assert await uow.talk.stop(engagement, "person", NOW)
            assert not await uow.talk.stop(engagement, "supporter", NOW)  # stopped once
            assert await uow.talk.stopped_by(engagement) == "person"
            assert not await uow.talk.restart(engagement, "supporter")  # not theirs to undo
            assert await uow.talk.restart(engagement, "person")
            assert await uow.talk.stopped_by(engagement) is None
        assert b"KESTREL" not in (tmp_path / "peerdoor.db").read_bytes()
        with raw(tmp_path / "peerdoor.db") as conn:  # turned around: it no longer opens
            conn.execute("UPDATE talk SET direction = 'to_person' WHERE id = ?", (mid,))
        async with store.unit() as uow:
            with pytest.raises(Exception):  # noqa: B017 - the AEAD refuses, whatever its type
                await uow.talk.get(mid, referral)
        with raw(tmp_path / "peerdoor.db") as conn:
            conn.execute("UPDATE talk SET direction = 'to_supporter' WHERE id = ?", (mid,))
        async with store.unit() as uow:
            found = await uow.talk.get(mid, referral)
            assert found is not None and found.body == b"PLAINTEXT-KESTREL"
        with raw(tmp_path / "peerdoor.db") as conn:  # the engagement goes: its messages too
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("DELETE FROM engagements WHERE id = ?", (eid,))
            assert conn.execute("SELECT count(*) FROM talk").fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM talk_stops").fetchone()[0] == 0
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(
                    "INSERT INTO talk (engagement_id, referral_id, direction, at)"
                    " VALUES ('X', 'Y', 'sideways', 'now')"
                )
    finally:
        await store.close()


async def test_the_cap_per_hour_and_crisis_words_reach_the_holder_not_the_log(
    tmp_path: Path,
) -> None:
    store, flow, eid, clock = await setup(tmp_path)
    marked: list[str] = []

    async def mark(uow: object, person: Person, referral: Referral, now: datetime) -> None:
        marked.append(referral.reference)

    flow.mark_urgent = mark
    person = Actor(PERSON, "Robin", "en", True)
    stranger = Actor(STRANGER, "Mal", "en", True)
    try:
        refused = await flow.press(stranger, f"t:w:{eid}", 1)
        assert refused.notice is not None and "expired" in refused.notice
        assert await flow.typed(stranger, "hello", 2) is None  # no frame was opened
        opened = await flow.press(person, f"t:w:{eid}", 3)
        assert "I will pass it on to your supporter" in opened.prompts[0].text
        cap = flow.config.limits.relays_per_hour
        update = 10
        for n in range(cap):
            update += 1
            reply = await flow.typed(person, f"message {n}", update)
            assert reply is not None and reply.prompts[-1].text.startswith("Passed on.")
        capped = await flow.typed(person, "one too many", update + 1)
        assert capped is not None and "was not passed on" in capped.prompts[-1].text
        clock[0] = NOW + timedelta(hours=1, seconds=1)  # an hour on, they may write again
        crisis = flow.config.programme("hiv")
        assert crisis is not None
        words = crisis.crisis.phrases["en"][0]
        again = await flow.typed(person, f"I think {words}", update + 2)
        assert again is not None and again.prompts[-1].text.startswith("Passed on.")
        assert len(again.prompts) == 2  # the crisis lines first
        referral, _person = await _referral(store)
        assert marked == [referral.reference]
        async with store.unit() as uow:
            directions = [m.direction for m in await uow.talk.list(referral)]
        assert directions == ["to_supporter"] * (cap + 1)
    finally:
        await store.close()


async def test_feedback_per_supporter_shows_numbers_only_from_five_answers(
    tmp_path: Path,
) -> None:
    """/feedback: a supporter with four answers shows none of them; with five, the counts."""
    from bot.services.relationship_care import CareFlow
    from bot.services.reply import Sender

    store = await Store.open(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate()))
    config = load_config(EXAMPLE_CONFIG)
    config.programmes[0].coordinators.append(COORDINATOR)
    flow = CareFlow(store, config, load_catalog(), lambda: NOW)
    try:
        async with store.unit() as uow:
            coordinator = await uow.people.create(COORDINATOR, NOW)
            for n, (telegram_id, answers) in enumerate(  # two supporters
                ((301, ["well", "well", "unsure", "change", "well"]), (302, ["well"] * 4))
            ):
                helper = await uow.people.create(telegram_id, NOW)
                await uow.roles.grant(helper, "supporter", "hiv", NOW)
                await uow.supporters.save(helper, f'{{"name": "Helper {n}"}}'.encode(), NOW)
                for k, answer in enumerate(answers):
                    person = await uow.people.create(telegram_id * 100 + k, NOW)
                    referral = await uow.referrals.create(person, "hiv", b"{}", False, NOW)
                    offered = await uow.engagements.offer(
                        referral, helper, coordinator, b"{}", NOW
                    )
                    assert offered is not None
                    assert await uow.checks.answer(offered, answer, NOW)  # type: ignore[arg-type]
                    await uow.referrals.set_status(referral, "closed", NOW)
        shown = await flow.feedback(Sender(COORDINATOR, "en"), 1)
        assert shown is not None and shown.protect
        text = shown.prompts[0].text
        assert "Helper 0: 3 going well, 1 not sure, 1 asked for a change (5 answers)." in text
        assert "Helper 1: not enough answers yet to show." in text
        assert "4 going well" not in text
        assert await flow.feedback(Sender(STRANGER, "en"), 2) is None  # not a coordinator
    finally:
        await store.close()


async def test_writing_closes_when_support_ends_or_the_supporter_loses_the_role(
    tmp_path: Path,
) -> None:
    store, flow, eid, _clock = await setup(tmp_path)
    person = Actor(PERSON, "Robin", "en", True)
    helper = Actor(SUPPORTER, "Sam", "en", True)
    try:
        assert "I will pass it on" in (await flow.press(helper, f"t:w:{eid}", 1)).prompts[0].text
        assert "I will pass it on" in (await flow.press(person, f"t:w:{eid}", 2)).prompts[0].text
        async with store.unit() as uow:  # the role is taken away
            sam = await uow.people.find(SUPPORTER)
            assert sam is not None
            await uow.roles.revoke(sam, "supporter", "hiv")
        gone = await flow.typed(helper, "are you there?", 3)
        assert gone is not None and "was not passed on" in gone.prompts[0].text
        async with store.unit() as uow:  # and support ends
            engagement = await uow.engagements.get(eid)
            assert engagement is not None and await uow.engagements.end(engagement, NOW)
        ended = await flow.typed(person, "hello?", 4)
        assert ended is not None and "These messages are closed" in ended.prompts[0].text
        assert await flow.typed(person, "and again", 5) is None  # the frame is gone: not theirs
        referral, _person = await _referral(store)
        async with store.unit() as uow:
            assert await uow.talk.list(referral) == []  # nothing was kept or passed on
    finally:
        await store.close()


def test_the_agreement_buttons_and_when_it_is_needed() -> None:
    from conversations import agreement
    from conversations.agreement import AgreementPress

    assert agreement.parse("g:y:2024-1.b") == AgreementPress("y", "2024-1.b")
    for forged in (
        None,
        "",
        "g:y",
        "g:y:",
        "g:z:1",
        "g:y:1:2",
        "g:y:a b",
        "t:y:1",
        "g:y:" + "1" * 21,
    ):
        assert agreement.parse(forged) is None, forged
    config = load_config(EXAMPLE_CONFIG)
    programme = config.programmes[0]
    assert programme.agreement is None and not agreement.needed(programme, None)
    terms = {"version": "2", "text": dict.fromkeys(programme.languages, "Keep it private.")}
    from conversations.forms import Agreement

    agreed = programme.model_copy(update={"agreement": Agreement.model_validate(terms)})
    assert agreement.needed(agreed, None)
    assert agreement.needed(agreed, "1")  # an older version's yes does not count
    assert not agreement.needed(agreed, "2")


async def test_done_of_an_older_writing_screen_is_stale_and_writing_stays_open(
    tmp_path: Path,
) -> None:
    """Done is a button of the writing screen, numbered by the person's one counter: the Done
    under an earlier "Passed on." changes nothing; the newest one closes writing."""
    store, flow, eid, _clock = await setup(tmp_path)
    person = Actor(PERSON, "Robin", "en", True)
    try:
        opened = await flow.press(person, f"t:w:{eid}", 1)
        first_done = opened.prompts[0].buttons[0][0].data
        assert relationship.parse(first_done) == TalkPress("d", eid, 2, 1)
        passed = await flow.typed(person, "hello", 2)
        assert passed is not None
        stale = await flow.press(person, first_done, 3)
        assert stale.notice is not None and "expired" in stale.notice
        still = await flow.typed(person, "still writing", 4)
        assert still is not None and still.prompts[-1].text.startswith("Passed on.")
        newest_done = still.prompts[-1].buttons[0][0].data
        closed = await flow.press(person, newest_done, 5)
        assert closed.prompts and closed.notice is None
        assert await flow.typed(person, "now for the coordinator", 6) is None  # frame closed
        old_format = await flow.press(person, f"t:d:{eid}", 7)  # the release before's Done
        assert old_format.notice is None  # its own checks, as before: nothing open to close
    finally:
        await store.close()
