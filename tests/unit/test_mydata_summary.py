"""/mydata's summary speaks to the person: their settings as plain sentences in their language,
never the stored JSON or the code's names for things."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.i18n import load_catalog
from conversations import mydata
from conversations.matching import Profile
from conversations.mydata import Holding
from conversations.preferences import Preferences

AT = datetime(2026, 12, 2, 0, 23, 52, 597856, tzinfo=UTC)
CATALOG = load_catalog()


def stored(prefs: Preferences) -> dict[str, Any]:
    """The settings as bot/mydata.py reads them: the stored JSON, parsed."""
    value = json.loads(prefs.to_bytes())
    assert isinstance(value, dict)
    return value


def everything_set() -> Preferences:
    prefs = Preferences(
        language="sv",
        discreet=False,
        silent=True,
        paused_until=datetime(2026, 12, 9, 18, tzinfo=UTC),
        blocked=True,
        checkins_stopped_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
        session_reminders=True,
    )
    prefs.record("referral", True, "v3", AT)
    prefs.record("checkins", True, "v3", AT)
    prefs.record("feedback", False, "v3", AT)
    return prefs


def overview(settings: dict[str, Any], language: str) -> str:
    holding = Holding(language, AT, settings, None, [])
    return mydata.summary(holding, CATALOG.translator(language))[0].text


@pytest.mark.parametrize("language", ["en", "sv"])
def test_settings_read_as_sentences_without_internal_names(language: str) -> None:
    text = overview(stored(everything_set()), language)
    for raw in ('{"', "given", "version", "2026-12-02T", "True", "False", ": Yes", ": No"):
        assert raw not in text, (raw, text)
    for name in Preferences.model_fields:  # "blocked: No", "session_reminders", ...
        assert f"{name}:" not in text and (("_" not in name) or name not in text), (name, text)


def test_the_english_sentences() -> None:
    text = overview(stored(everything_set()), "en")
    for sentence in (
        "We write to you in Swedish.",
        "On 2 Dec 2026 00:23 you agreed that we keep your answers to find you a peer supporter.",
        "On 2 Dec 2026 00:23 you said yes to check-in messages from us.",
        "On 2 Dec 2026 00:23 you said no to questions about our service at the end.",
        "The first line of our messages may say what they are about.",
        "Our messages come without a sound.",
        "You paused our messages until 9 Dec 2026 18:00.",
        "You stopped check-in messages on 1 Dec 2026 09:00.",
        "Telegram told us you blocked us, so we stopped writing to you.",
        "We remind you before each meeting with your supporter.",
    ):
        assert f"• {sentence}" in text, (sentence, text)


def test_the_swedish_sentences() -> None:
    text = overview(stored(everything_set()), "sv")
    assert "Vi skriver till dig på svenska." in text
    assert "Våra meddelanden kommer utan ljud." in text
    assert "Den 2 dec. 2026 00:23 sa du ja till avstämningar från oss." in text
    assert "We write" not in text and "Our messages" not in text


@pytest.mark.parametrize("name", sorted(Preferences.model_fields))
def test_every_setting_a_person_can_have_is_said(name: str) -> None:
    """A setting changed from how it starts gets a sentence (a new field needs one too)."""
    start = stored(Preferences())
    changed = stored(everything_set())
    alone = {**start, name: changed[name]} if name in changed else start
    assert overview(alone, "en") != overview(start, "en"), name


def test_a_supporters_profile_reads_with_its_labels() -> None:
    profile = {**Profile(name="Sam", languages=["en"], capacity=0).model_dump(), "paused": True}
    holding = Holding("en", AT, {}, None, [], profile=profile)
    text = "\n".join(p.text for p in mydata.summary(holding, CATALOG.translator("en")))
    for line in ("Name: Sam", "Languages: en", "Gender: (not set)", "People at once: 0"):
        assert line in text, (line, text)
    assert "You are paused: coordinators will not suggest you for now." in text
    for raw in ("\ncapacity:", "\npaused:", "None", "\ngender:"):
        assert raw not in text, (raw, text)
