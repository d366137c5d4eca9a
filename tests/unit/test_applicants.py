"""The volunteer pipeline's rules (conversations/applicants.py) and its storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config_file import load_config
from bot.ops import maintenance, report, report_html
from conversations import applicants
from conversations.applicants import MOVES, PIPELINE, Note, Record
from conversations.forms import Programme
from storage import KeyRing, Store
from tests.unit.storage_fixtures import T0, opened, people, raw_bytes

EXAMPLE = load_config(Path(__file__).resolve().parents[2] / "bot" / "example_config.toml")
_HIV = EXAMPLE.programme("hiv")
assert _HIV is not None
NAMES = {"en": "x", "sv": "x"}
TRAINED = Programme.model_validate(
    {
        **_HIV.model_dump(),
        "training_modules": [{"id": "basics", "name": NAMES}, {"id": "safety", "name": NAMES}],
        "checks": [{"id": "refs", "name": NAMES}],
        "supervision_every_days": 30,
    }
)
TODAY = date(2026, 12, 2)


def done(modules: tuple[str, ...] = (), checks: tuple[str, ...] = ()) -> Record:
    return Record(
        name="Vera",
        modules=dict.fromkeys(modules, TODAY),
        checks=dict.fromkeys(checks, TODAY),
    )


def test_one_step_forward_at_a_time_and_gates_on_checks_and_training() -> None:
    full = done(("basics", "safety"), ("refs",))
    for here, there in pairwise(PIPELINE):
        assert applicants.refusal(TRAINED, full, here, there) is None
        skipping = PIPELINE[PIPELINE.index(there) + 1 :]
        assert all(applicants.refusal(TRAINED, full, here, s) == "not_allowed" for s in skipping)
    assert MOVES["active"] == () and MOVES["withdrew"] == ()
    assert applicants.refusal(TRAINED, full, "not_now", "applied") is None
    assert applicants.refusal(TRAINED, full, "training", "forged") == "not_allowed"
    assert applicants.refusal(TRAINED, done(), "training", "checked") == "checks_missing"
    no_training = done(checks=("refs",))
    assert applicants.refusal(TRAINED, no_training, "training", "checked") is None
    assert applicants.refusal(TRAINED, no_training, "checked", "active") == "training_missing"
    assert applicants.refusal(TRAINED, done(("basics",), ("refs",)), "checked", "active")


def test_eligible_only_when_active_trained_and_checked() -> None:
    full = done(("basics", "safety"), ("refs",))
    assert applicants.eligible(TRAINED, "active", full)
    assert not applicants.eligible(TRAINED, "checked", full)
    assert not applicants.eligible(TRAINED, "active", done(("basics",), ("refs",)))
    assert not applicants.eligible(TRAINED, "active", done(("basics", "safety")))
    assert not applicants.eligible(TRAINED, None, None)  # no record: the programme asks for some
    assert applicants.eligible(_HIV, None, None)  # asks for none: as before records were kept
    assert applicants.eligible(_HIV, "active", Record())


def test_supervision_overdue_counts_from_the_last_session_else_from_becoming_active() -> None:
    record = applicants.move(Record(), "active", date(2026, 10, 1), "Cora")
    assert applicants.supervision_due(TRAINED, record) == date(2026, 10, 31)
    assert not applicants.overdue(TRAINED, "active", record, date(2026, 10, 31))
    assert applicants.overdue(TRAINED, "active", record, date(2026, 11, 1))
    assert not applicants.overdue(TRAINED, "not_now", record, date(2026, 11, 1))
    assert not applicants.overdue(_HIV, "active", record, date(2027, 11, 1))  # not tracked
    seen = record.model_copy(update={"supervision": [Note(on=date(2026, 11, 20), text="ok")]})
    assert applicants.supervision_due(TRAINED, seen) == date(2026, 12, 20)
    assert not applicants.overdue(TRAINED, "active", seen, TODAY)


def test_typed_note_takes_an_optional_past_date() -> None:
    assert applicants.typed_note("  Calm and kind ", TODAY) == (TODAY, "Calm and kind")
    assert applicants.typed_note("2026-11-30: boundaries", TODAY) == (
        date(2026, 11, 30),
        "boundaries",
    )
    assert applicants.typed_note("2027-01-01 later", TODAY) is None  # the future
    assert applicants.typed_note("2026-02-30 no such day", TODAY) is None
    assert applicants.typed_note("   ", TODAY) is None
    assert applicants.typed_note("x" * 2001, TODAY) is None


def test_callback_data_parses_only_what_the_buttons_make() -> None:
    data = applicants.button("to", "AB12CD34", "talked")
    assert applicants.parse(data) == applicants.Press("to", "AB12CD34", "talked")
    for forged in ("v:drop:AB12CD34", "v:to:ab12;--:x", "v:to", "r:to:AB12CD34", "", "v:" * 40):
        assert applicants.parse(forged) is None
    assert applicants.position("1", TRAINED.training_modules) == TRAINED.training_modules[1]
    assert applicants.position("2", TRAINED.training_modules) is None
    assert applicants.position("²", TRAINED.training_modules) is None


def test_config_refuses_twice_the_same_id_and_a_missing_language() -> None:
    base = _HIV.model_dump()
    with pytest.raises(ValidationError, match="training_modules: ids must be unique"):
        Programme.model_validate(
            {**base, "training_modules": [{"id": "a", "name": NAMES}, {"id": "a", "name": NAMES}]}
        )
    with pytest.raises(ValidationError, match=r"checks\[0\] \(refs\).name has no text for"):
        Programme.model_validate({**base, "checks": [{"id": "refs", "name": {"en": "x"}}]})
    with pytest.raises(ValidationError):
        Programme.model_validate({**base, "supervision_every_days": 0})


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with opened(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate())) as s:
        yield s


async def test_record_is_sealed_moves_are_guarded_and_erasure_removes_it(
    store: Store, tmp_path: Path
) -> None:
    (vera,) = await people(store, 400)
    record = Record(name="CANARY-VERA", notes=[Note(on=TODAY, text="CANARY-NOTE")])
    async with store.unit() as u:
        made = await u.applicants.create(vera, "hiv", "applied", record.to_bytes(), T0)
        assert made is not None
        assert await u.applicants.create(vera, "hiv", "applied", b"{}", T0) is None  # one each
        assert [a.id for a in await u.applicants.in_programme("hiv")] == [made.id]
        assert await u.applicants.in_programme("diabetes") == []
        assert await u.applicants.programme_id(made, ["diabetes", "hiv"]) == "hiv"
        assert await u.applicants.programme_id(made, ["diabetes"]) is None
        assert Record.from_bytes(await u.applicants.record(made)).name == "CANARY-VERA"
        assert await u.applicants.save(made, record.to_bytes(), T0, stage="talked")
        assert not await u.applicants.save(made, record.to_bytes(), T0, stage="talked")  # stale
        moved = await u.applicants.get(made.id)
        assert moved is not None and moved.stage == "talked"
    await store.close()
    raw = raw_bytes(tmp_path / "peerdoor.db")
    assert b"CANARY-VERA" not in raw and b"CANARY-NOTE" not in raw


async def test_erasing_the_volunteer_removes_their_record(store: Store) -> None:
    (vera,) = await people(store, 401)
    async with store.unit() as u:
        made = await u.applicants.create(vera, "hiv", "applied", b"{}", T0)
        assert made is not None
    async with store.unit() as u:
        await u.people.erase(vera)
    async with store.unit() as u:
        assert await u.applicants.get(made.id) is None
        assert await u.applicants.in_programme("hiv") == []


async def test_the_report_counts_volunteers_by_step_and_hides_small_numbers(store: Store) -> None:
    hiv = EXAMPLE.programme("hiv")
    assert hiv is not None
    folk = await people(store, *range(500, 512))
    async with store.unit() as u:
        for i, person in enumerate(folk):
            stage = "applied" if i < 7 else "training" if i < 10 else "active"
            record = Record(name="CANARY-REPORT").to_bytes()
            assert await u.applicants.create(person, "hiv", stage, record, T0) is not None
    found = await report.gather(store, [hiv], since=None, until=TODAY, now=T0)
    (section,) = found.programmes
    assert section.volunteers == [7, 0, 3, 0, 2, 0, 0]  # STAGES order
    page = report_html._volunteers(section, 5)
    assert "CANARY" not in page
    assert '<tr id="hiv-volunteers-applied"><td>applied</td><td class="n">7</td>' in page
    assert '<tr id="hiv-volunteers-training"><td>in training</td><td class="n">&lt;5</td>' in page
    assert (
        '<tr id="hiv-volunteers-active"><td>active supporters</td><td class="n">&lt;5</td>' in page
    )
    assert '<td class="n">12</td>' in page  # the total


async def test_the_purge_forgets_volunteers_who_stopped_a_retention_period_ago(
    store: Store,
) -> None:
    stopped, resting, applying = await people(store, 600, 601, 602)
    async with store.unit() as u:
        for person, stage in ((stopped, "withdrew"), (resting, "not_now"), (applying, "applied")):
            assert await u.applicants.create(person, "hiv", stage, b"{}", T0) is not None
    later = T0 + timedelta(days=_HIV.retention.closed_days - 1)
    async with store.unit() as u:
        moved = await u.applicants.of(resting, "hiv")
        assert moved is not None
        assert await u.applicants.save(moved, b"{}", later)  # "not now" again, recently
    await maintenance.purge(store, EXAMPLE, T0 + timedelta(days=_HIV.retention.closed_days + 1))
    async with store.unit() as u:
        assert await u.applicants.of(stopped, "hiv") is None
        assert await u.applicants.of(resting, "hiv") is not None
        assert await u.applicants.of(applying, "hiv") is not None  # still in the pipeline


def test_card_buttons_carry_their_screen_in_the_engines_format() -> None:
    data = applicants.button("mod", "AB12CD34", 2, screen=7)
    assert data == "v2:7:mod:AB12CD34:2"
    assert applicants.parse(data) == applicants.Press("mod", "AB12CD34", "2", 2, 7)
    for forged in ("v2:7:mod:AB12CD34:2:3", "v2:x:mod:AB12CD34", "v2:7:drop:AB12CD34", "v2:7:to"):
        assert applicants.parse(forged) is None
    # the listing's entry button and the card's buttons of the release before: version 1
    assert applicants.button("open", "AB12CD34") == "v:open:AB12CD34"
    assert applicants.parse("v:open:AB12CD34") == applicants.Press("open", "AB12CD34")
