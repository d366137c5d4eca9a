"""The caps per person: config values with defaults and bounds, and the daily failure count."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from bot.services.limits import DailyCounter
from conversations.forms import ServiceConfig
from tests.e2e.harness import EXAMPLE_CONFIG


def raw() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))


def test_the_example_sets_the_caps_and_a_config_without_them_gets_defaults() -> None:
    shipped = ServiceConfig.model_validate(raw())
    assert (shipped.limits.relays_per_hour, shipped.limits.failed_joins_per_day) == (20, 5)
    without = raw()
    del without["limits"]
    assert ServiceConfig.model_validate(without).limits == shipped.limits


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("relays_per_hour", 0),
        ("relays_per_hour", 1001),
        ("relays_per_hour", "many"),
        ("failed_joins_per_day", 0),
        ("failed_joins_per_day", 101),
        ("per_minute", 5),  # not a cap we have: a typo is named, not ignored
    ],
)
def test_a_cap_out_of_range_is_named(key: str, value: object) -> None:
    data = raw()
    data["limits"][key] = value
    with pytest.raises(ValidationError, match=key):
        ServiceConfig.model_validate(data)


def test_failures_are_counted_per_account_and_forgotten_the_next_day() -> None:
    counter = DailyCounter(cap=2)
    day = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    assert not counter.capped(1, day)
    assert counter.fail(1, day) == 1
    assert counter.fail(1, day) == 2
    assert counter.capped(1, day)
    assert not counter.capped(2, day)  # another account is not affected
    assert not counter.capped(1, day + timedelta(hours=1))  # midnight UTC: a new day
    assert counter.fail(1, day + timedelta(hours=1)) == 1
