"""A supporter's profile edit as a pure dialog: what each press and answer decides."""

from __future__ import annotations

from pathlib import Path

from bot.config_file import load_config
from bot.i18n import load_catalog
from conversations import profile_edit, supporting
from conversations.matching import Profile
from conversations.profile_edit import Context

EXAMPLE = load_config(Path(__file__).resolve().parents[2] / "bot" / "example_config.toml")
HIV = EXAMPLE.programme("hiv")
assert HIV is not None
_ = load_catalog().translator("en")
CTX = Context(
    HIV, Profile(name="Sam", languages=["en"]), paused=False, live=1, language="en", screen=3
)


def test_a_typed_field_is_asked_then_stored_and_the_profile_shown() -> None:
    asked = profile_edit.press("edit", "area", "", CTX, _)
    assert asked.asking == "area" and asked.profile is None
    answered = profile_edit.typed("area", "  Brighton  ", CTX, _)
    assert answered.profile is not None and answered.profile.area == "Brighton"
    assert answered.asking == ""  # nothing asked any more
    assert "Brighton" in answered.prompts[0].text
    assert CTX.profile.area == ""  # the stored profile is not changed in place


def test_an_answer_that_does_not_fit_is_asked_again_and_nothing_is_stored() -> None:
    for field, text in (("capacity", "²"), ("capacity", "99"), ("name", ""), ("area", "x" * 500)):
        again = profile_edit.typed(field, text, CTX, _)
        assert again.profile is None and again.asking is None, field
    assert "number" in profile_edit.typed("capacity", "lots", CTX, _).prompts[0].text.lower()


def test_choices_toggle_in_place_and_gender_is_one_at_most() -> None:
    options = supporting.choices_for(HIV, "languages")
    index = str(next(i for i, o in enumerate(options) if o != "en"))
    ticked = profile_edit.press("tog", "languages", index, CTX, _)
    assert ticked.profile is not None and ticked.keep_buttons and ticked.replace is not None
    assert set(ticked.profile.languages) == {"en", options[int(index)]}
    assert profile_edit.toggled(Profile(gender="f"), "gender", "m").gender == "m"
    assert profile_edit.toggled(Profile(gender="m"), "gender", "m").gender is None


def test_pause_leave_and_forged_presses() -> None:
    paused = profile_edit.press("pause", "", "", CTX, _)
    assert paused.pause is True and paused.replace is not None
    assert profile_edit.press("resume", "", "", CTX, _).pause is False
    assert profile_edit.press("leave", "", "", CTX, _).leave is False  # asks first
    left = profile_edit.press("leaveok", "", "", CTX, _)
    assert left.leave and left.replace == supporting.left(_)
    for forged in (("tog", "languages", "99"), ("edit", "diagnosis", ""), ("zap", "", "")):
        out = profile_edit.press(*forged, CTX, _)
        assert out.notice and out.profile is None and not out.leave and out.pause is None
    stale = profile_edit.typed("diagnosis", "x", CTX, _)
    assert stale.asking == "" and stale.profile is None
