"""Peer support groups, the pure parts: schedule rules, config entries, who may be offered a
group, ranking with reasons, the waiting list, and how facilitators see a member."""

from __future__ import annotations

import itertools
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from conversations.forms import ServiceConfig
from conversations.group_schedule import GroupConfig, Rule, days, meetings, parse_rule
from conversations.groups import (
    GroupCandidate,
    initials,
    next_in_line,
    offer_kind,
    rank_groups,
    shown_name,
    wants_group,
)
from conversations.matching import Wish

CONFIG_PATH = Path(__file__).resolve().parents[2] / "bot" / "example_config.toml"
LONDON = ZoneInfo("Europe/London")
TUE, THU, MON, FRI = 1, 3, 0, 4


def _raw() -> dict[str, Any]:
    with CONFIG_PATH.open("rb") as f:
        return tomllib.load(f)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("every Tuesday 18:30", Rule(TUE, time(18, 30))),
        ("Every second Tuesday 18:30", Rule(TUE, time(18, 30), every_weeks=2)),
        ("every other tuesday at 18.30", Rule(TUE, time(18, 30), every_weeks=2)),
        ("every 3 weeks on Thursday at 10:00", Rule(THU, time(10, 0), every_weeks=3)),
        ("first Monday of the month 18:00", Rule(MON, time(18, 0), nth=1)),
        ("last Friday of each month at 19:00", Rule(FRI, time(19, 0), nth=-1)),
        ("varje tisdag 18.30", Rule(TUE, time(18, 30))),
        ("varannan tisdag kl 18.30", Rule(TUE, time(18, 30), every_weeks=2)),
        ("första måndagen i månaden 18.00", Rule(MON, time(18, 0), nth=1)),
        ("sista fredagen i varje månad kl 19.00", Rule(FRI, time(19, 0), nth=-1)),
    ],
)
def test_schedule_rules_as_people_write_them(text: str, rule: Rule) -> None:
    assert parse_rule(text) == rule


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tuesdays",
        "every Tuesday",
        "every Blursday 18:30",
        "every Tuesday 25:00",
        "every 9 weeks on Tuesday at 18:30",
        "fifth Monday of the month 18:00",
    ],
)
def test_unreadable_rules_are_none(text: str) -> None:
    assert parse_rule(text) is None


def test_fortnightly_keeps_its_rhythm_from_the_first_meeting() -> None:
    rule = parse_rule("every second Tuesday 18:30")
    assert rule is not None
    first = date(2026, 1, 13)
    # asked in the off week and in the on week: always 13 Jan + a multiple of 14 days
    for after in (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 10, 12, tzinfo=UTC)):
        found = meetings(rule, first, LONDON, after, 3)
        assert [(m.date() - first).days % 14 for m in found] == [0, 0, 0]
        assert all(m > after for m in found)
    assert meetings(rule, first, LONDON, datetime(2026, 2, 1, tzinfo=UTC), 2) == [
        datetime(2026, 2, 10, 18, 30, tzinfo=UTC),
        datetime(2026, 2, 24, 18, 30, tzinfo=UTC),
    ]


def test_local_time_holds_across_summer_time() -> None:
    rule = parse_rule("every Tuesday 18:30")
    assert rule is not None
    found = meetings(rule, date(2026, 3, 17), LONDON, datetime(2026, 3, 16, tzinfo=UTC), 3)
    # 17 March GMT, 24 March GMT, 31 March BST (clocks went forward on 29 March)
    assert [m.astimezone(LONDON).time() for m in found] == [time(18, 30)] * 3
    assert [m.hour for m in found] == [18, 18, 17]


def test_a_skipped_wall_time_is_the_clock_time_before_the_jump() -> None:
    rule = parse_rule("last Sunday of the month 01:30")
    assert rule is not None
    (march,) = meetings(rule, date(2026, 3, 1), LONDON, datetime(2026, 3, 1, tzinfo=UTC), 1)
    assert march == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 02:30 BST: happens, once


def test_monthly_rules_skip_months_without_that_day() -> None:
    rule = Rule(MON, time(18), nth=4)
    found = days(rule, date(2026, 1, 1), date(2026, 12, 31))
    assert len(found) == 12 and all(d.weekday() == MON and 22 <= d.day <= 28 for d in found)
    last = days(Rule(FRI, time(18), nth=-1), date(2026, 1, 1), date(2026, 3, 31))
    assert last == [date(2026, 1, 30), date(2026, 2, 27), date(2026, 3, 27)]


@given(
    weekday=st.integers(0, 6),
    every=st.integers(1, 4),
    offset=st.integers(0, 6),
    after_days=st.integers(0, 500),
    hour=st.integers(0, 23),
)
def test_meetings_are_on_the_rule_in_order_and_after(
    weekday: int, every: int, offset: int, after_days: int, hour: int
) -> None:
    rule = Rule(weekday, time(hour, 15), every_weeks=every)
    first = date(2026, 1, 5) + timedelta(days=offset)
    after = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=after_days, hours=hour)
    found = meetings(rule, first, LONDON, after, 4)
    assert len(found) == 4
    assert found == sorted(found) and all(m > after for m in found)
    local = [m.astimezone(LONDON) for m in found]
    assert all(d.weekday() == weekday for d in local)
    gaps = {(b.date() - a.date()).days for a, b in itertools.pairwise(local)}
    assert gaps == {7 * every}
    # nothing skipped: the first one found is within one period of "after" (or of the first day)
    since = max(after.astimezone(LONDON).date(), first)
    assert (local[0].date() - since).days <= 7 * every
    assert (local[0].date() - first).days % (7 * every) == (weekday - first.weekday()) % 7


def _group(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "g",
        "name": {"en": "Group"},
        "language": "en",
        "setting": "online",
        "schedule": "every Tuesday 18:30",
        "first_meeting": date(2026, 1, 13),
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"schedule": "Tuesdays-ish"}, "cannot be read"),
        ({"setting": "in_person"}, "needs a 'venue'"),
        ({"venue": {"en": "Hall"}}, "has a 'link', not a 'venue'"),
        ({"first_meeting": date(2026, 1, 14)}, "not on the schedule's weekday"),
        ({"capacity": 1}, "greater than or equal to 2"),
        ({"link": "http://plain.example"}, "should match pattern"),
    ],
)
def test_a_bad_group_entry_names_the_problem(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        GroupConfig.model_validate(_group(**changes))


def test_programme_rules_for_groups() -> None:
    raw = _raw()
    hiv = raw["programmes"][0]
    twice = {**hiv, "groups": [hiv["groups"][0], hiv["groups"][0]]}
    with pytest.raises(ValidationError, match="group ids must be unique"):
        ServiceConfig.model_validate({**raw, "programmes": [twice]})
    no_sv = {**hiv, "groups": [{**hiv["groups"][0], "name": {"en": "Only English"}}]}
    with pytest.raises(ValidationError, match=r"groups\[0\] \(talking_together\)\.name has no"):
        ServiceConfig.model_validate({**raw, "programmes": [no_sv]})
    french = {**hiv, "groups": [{**hiv["groups"][0], "language": "fr"}]}
    with pytest.raises(ValidationError, match="not one of the programme's languages"):
        ServiceConfig.model_validate({**raw, "programmes": [french]})
    wrong = {**hiv, "group_wish": {"question": "support_type", "any_of": ["groups"]}}
    with pytest.raises(ValidationError, match="unknown answers"):
        ServiceConfig.model_validate({**raw, "programmes": [wrong]})
    text = {**hiv, "group_wish": {"question": "area", "any_of": ["x"]}}
    with pytest.raises(ValidationError, match="must be a choice or yes/no question"):
        ServiceConfig.model_validate({**raw, "programmes": [text]})


def test_who_may_be_offered_a_group() -> None:
    config = ServiceConfig.model_validate(_raw())
    hiv, diabetes = config.programme("hiv"), config.programme("diabetes")
    assert hiv is not None and diabetes is not None
    assert wants_group(hiv, {"support_type": "group"})
    assert wants_group(hiv, {"support_type": "both"})
    assert not wants_group(hiv, {"support_type": "one_to_one"})
    assert not wants_group(hiv, {"support_type": "not_sure"})
    assert not wants_group(hiv, {})
    assert wants_group(diabetes, {})  # no group_wish: everyone may be
    none = hiv.model_copy(update={"groups": [], "group_wish": None})
    assert not wants_group(none, {"support_type": "group"})
    assert wants_group(none, {"support_type": "group"}, has_groups=True)  # made in the bot


def _candidate(gid: str, **changes: Any) -> GroupCandidate:
    base: dict[str, Any] = {
        "group_id": gid,
        "name": gid,
        "language": "en",
        "setting": "online",
        "area": "",
        "capacity": 10,
        "taken": 3,
        "waiting": 0,
    }
    base.update(changes)
    return GroupCandidate(**base)


def test_ranking_puts_fitting_groups_with_room_first_with_reasons() -> None:
    wanted = Wish(languages=("sv",), setting="in_person", area="Malmö centre")
    groups = [
        _candidate("online_en"),
        _candidate("malmo", language="sv", setting="in_person", area="Malmö"),
        _candidate("full", language="sv", setting="in_person", capacity=8, taken=8, waiting=2),
        _candidate("paused", language="sv", setting="in_person", status="paused"),
        _candidate("closed", language="sv", setting="in_person", status="closed"),
    ]
    ranked = rank_groups(wanted, groups)
    # fitting with room, then fitting but full (its waiting list), then the misfit
    assert [s.group_id for s in ranked] == ["malmo", "full", "online_en"]
    best = ranked[0]
    assert [(r.code, r.good) for r in best.reasons] == [
        ("languages", True),
        ("setting", True),
        ("area", True),
        ("room", True),
    ]
    misfit = ranked[2]
    assert misfit.score < 0
    assert ("languages", False) in [(r.code, r.good) for r in misfit.reasons]
    full = ranked[1]
    assert not full.has_room
    assert [(r.code, r.values, r.good) for r in full.reasons][-2:] == [
        ("room", ("0", "8"), False),
        ("waiting", ("2",), False),
    ]


def test_the_waiting_list_and_freed_places() -> None:
    assert offer_kind(capacity=8, taken=7) == "place"
    assert offer_kind(capacity=8, taken=8) == "waiting"
    queue = ["p1", "p2", "p3"]
    assert next_in_line(capacity=8, taken=8, waiting=queue) == []
    assert next_in_line(capacity=8, taken=7, waiting=queue) == ["p1"]
    assert next_in_line(capacity=8, taken=5, waiting=queue) == queue
    assert next_in_line(capacity=8, taken=9, waiting=queue) == []


def test_members_are_shown_as_they_chose() -> None:
    assert shown_name("Sam Rivera", "name") == "Sam Rivera"
    assert shown_name("Sam Rivera", "initials") == "S. R."
    assert shown_name("  ", "name") == "?"
    assert initials("åsa von berg lind") == "Å. V. B."


def test_group_buttons_parse_and_forged_ones_do_nothing() -> None:
    from conversations import group_screens

    assert group_screens.parse("u:j:ABC123") == group_screens.GroupPress("j", "ABC123")
    assert group_screens.parse("u:N:new:in_person") == group_screens.GroupPress(
        "N", "new", "in_person"
    )
    for forged in (None, "", "u:", "u:z:ABC", "u:j:", "u:j:AB C", "u:j:A:b:c", "g:j:ABC",
                   "u:j:" + "A" * 70, "u:c:12:<b>"):  # fmt: skip
        assert group_screens.parse(forged) is None, forged


def test_the_new_group_dialog_step_by_step() -> None:
    from conversations import group_dialog

    config = ServiceConfig.model_validate(_raw())
    hiv = config.programme("hiv")
    assert hiv is not None

    def _(text: str) -> str:
        return text

    today = date(2026, 12, 2)  # a Wednesday
    outcome = group_dialog.start(hiv, [("p1", "Sam"), ("p2", "Ria")], _)
    draft = outcome.draft
    assert draft is not None and draft.step == "name"
    assert group_dialog.typed(draft, "x" * 61, hiv, _).notice is not None  # too long: asked again
    draft = group_dialog.typed(draft, "  Friday   circle ", hiv, _).draft
    assert draft is not None and (draft.name, draft.step) == ("Friday circle", "language")
    assert group_dialog.press(draft, "fr", hiv, today, _).notice is not None  # not offered
    draft = group_dialog.press(draft, "sv", hiv, today, _).draft
    assert draft is not None and draft.step == "setting"
    draft = group_dialog.press(draft, "online", hiv, today, _).draft
    assert draft is not None and draft.step == "where"
    again = group_dialog.typed(draft, "meet.example.org/x", hiv, _)  # not https: asked again
    assert again.draft is not None and again.draft.step == "where"
    assert "could not use" in again.prompts[0].text
    draft = group_dialog.typed(draft, "https://meet.example.org/friday", hiv, _).draft
    assert draft is not None and draft.step == "schedule"
    assert "could not read" in group_dialog.typed(draft, "Fridays", hiv, _).prompts[0].text
    draft = group_dialog.typed(draft, "every second Friday 17:00", hiv, _).draft
    assert draft is not None and draft.step == "capacity"
    assert group_dialog.press(draft, "7", hiv, today, _).notice is not None  # not a choice
    draft = group_dialog.press(draft, "8", hiv, today, _).draft
    assert draft is not None and draft.step == "who"
    draft = group_dialog.press(draft, "1", hiv, today, _).draft
    assert draft is not None and draft.chosen == [1]
    draft = group_dialog.press(draft, "done", hiv, today, _).draft
    assert draft is not None and draft.step == "confirm"
    assert "Run by: Ria" in group_dialog.typed(draft, "anything", hiv, _).prompts[0].text
    saved = group_dialog.press(draft, "save", hiv, today, _)
    assert saved.draft is None and saved.save is not None
    group = saved.save
    assert group.name == {"en": "Friday circle", "sv": "Friday circle"}
    assert (group.language, group.setting, group.link) == ("sv", "online", draft.where)
    assert group.first_meeting == date(2026, 12, 4) and group.capacity == 8
    cancelled = group_dialog.press(draft, "cancel", hiv, today, _)
    assert cancelled.draft is None and cancelled.save is None
    # the draft survives the staff frame's round trip
    assert group_dialog.Draft.from_bytes(draft.to_bytes()) == draft
    assert group_dialog.Draft.from_bytes(b'{"pending": "match"}') is None


def test_changing_a_group_keeps_its_rhythm_and_returns_to_the_summary() -> None:
    from conversations import group_dialog

    config = ServiceConfig.model_validate(_raw())
    hiv = config.programme("hiv")
    assert hiv is not None

    def _(text: str) -> str:
        return text

    made = GroupConfig.model_validate(_group(first_meeting=date(2026, 1, 13), capacity=8))
    outcome = group_dialog.edit(hiv, "G1", made, [("p1", "Sam"), ("p2", "Ria")], ["p2"], _)
    draft = outcome.draft
    assert draft is not None and draft.step == "confirm" and draft.chosen == [1]
    labels = [b.label for row in outcome.prompts[0].buttons for b in row]
    assert labels[:4] == ["Name", "Link", "Places", "Who runs it"]
    assert group_dialog.press(draft, "schedule", hiv, date(2026, 12, 2), _).notice is not None
    draft = group_dialog.press(draft, "capacity", hiv, date(2026, 12, 2), _).draft
    assert draft is not None and draft.step == "capacity"
    draft = group_dialog.press(draft, "12", hiv, date(2026, 12, 2), _).draft
    assert draft is not None and draft.step == "confirm"  # straight back to the summary
    saved = group_dialog.press(draft, "save", hiv, date(2026, 12, 2), _).save
    assert saved is not None and saved.capacity == 12
    assert saved.first_meeting == date(2026, 1, 13) and saved.schedule == made.schedule
    assert group_dialog.press(draft, "cancel", hiv, date(2026, 12, 2), _).prompts[0].text == (
        "Nothing changed."
    )
