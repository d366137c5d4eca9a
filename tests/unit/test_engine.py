"""The dialog engine's one callback format and its one stale check."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations import engine
from conversations.engine import ScreenPress


def test_a_button_names_the_dialog_its_version_and_the_screen() -> None:
    assert engine.button("intake", 12, "o", 3) == "i1:12:o:3"
    assert engine.parse("i1:12:o:3") == ScreenPress("intake", 1, 12, "o", "3")
    assert engine.parse("f1:4:x") == ScreenPress("survey", 1, 4, "x", "")


def test_buttons_from_before_the_format_are_version_one_of_their_dialog() -> None:
    assert engine.parse("12:o:3") == ScreenPress("intake", 1, 12, "o", "3")
    assert engine.parse("f:4:x") == ScreenPress("survey", 1, 4, "x", "")


@pytest.mark.parametrize(
    "forged",
    [
        None,
        "",
        "i1",
        "i1:12",
        "i1:x:o",
        "i1:12:",
        "z1:12:o",
        "i1:12:o:3:4:5:6",  # more arguments than MAX_ARGS
        "i1:12:o:a b",  # an argument that is not an id
        "m:cx:12",  # a meeting-or-session action, not a screen of the planner
        "i1:-1:o",
        "i1:" + "9" * 50 + ":o",
        "i1:١٢:o",
        "i9999:1:o",
        "r:claim:PD-1",
        "q:all:0",
        "x" * 65,
    ],
)
def test_anything_else_is_not_a_dialog_press(forged: str | None) -> None:
    assert engine.parse(forged) is None


def test_more_than_one_argument_ids_and_dates_never_free_text() -> None:
    data = engine.button("meeting", 40, "d", "ABCD1234", "20270701")
    assert data == "m2:40:d:ABCD1234:20270701"
    press = engine.parse(data)
    assert press is not None and press.args == ("ABCD1234", "20270701")
    assert engine.button("casework", 9, "res", "PD-ABC123", 2) == "w2:9:res:PD-ABC123:2"
    with pytest.raises(ValueError, match="not callback arguments"):
        engine.button("meeting", 1, "d", "a place: the café")


def test_the_old_planner_profile_buttons_are_version_one_without_a_screen() -> None:
    assert engine.parse("m:d:ABCD1234:20270701") == ScreenPress(
        "meeting", 1, 0, "d", "ABCD1234", ("20270701",)
    )
    assert engine.parse("p:tog:languages:3") == ScreenPress(
        "profile", 1, 0, "tog", "languages", ("3",)
    )
    assert engine.parse("m:cx:12") is None  # a meeting's own button, not the planner's
    # No screen number to compare: left to the dialog's own checks, as that release did.
    assert engine.is_current("meeting", 1, 0, 57)
    # A screen numbered by the person's counter is never 0: a forged one is not current.
    assert not engine.is_current("meeting", 2, 0, 0)
    assert not engine.is_current("profile", 2, 3, 4)
    assert engine.is_current("casework", 2, 4, 4)


def test_only_the_screen_showing_now_of_the_current_version_is_current() -> None:
    assert engine.is_current("intake", 1, 7, 7)
    assert not engine.is_current("intake", 1, 6, 7)  # an older screen
    assert not engine.is_current("intake", 2, 7, 7)  # another version of the dialog


@given(st.text(max_size=70))
def test_parse_never_fails_and_never_gives_what_it_cannot_make(data: str) -> None:
    press = engine.parse(data)
    if press is not None:
        again = engine.parse(engine.button(press.dialog, press.screen, press.action, press.arg))
        assert again is not None and (again.dialog, again.screen) == (press.dialog, press.screen)


def test_callback_data_stays_within_telegrams_64_bytes() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        engine.button("intake", 1, "o", "x" * 60)
