"""Sources: validated in the config, read from a /start payload, carried by the consent buttons
(ids only, within Telegram's 64 bytes), re-checked when pressed, and handed to the referral."""

from __future__ import annotations

import copy
import tomllib
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from conversations import callbacks
from conversations.callbacks import ConsentPress, DraftPress
from conversations.forms import (
    MAX_START_PAYLOAD,
    SOURCE_KINDS,
    ServiceConfig,
    ServiceLevels,
    error_path,
)
from conversations.intake import Outcome
from tests.unit.intake_helpers import loc, make_intake, programme_data
from tests.unit.test_example_config import CONFIG_PATH

KENT = {"id": "kent", "kind": "clinic", "name": loc("Kent clinic")}
WEB = {"id": "web", "kind": "web", "name": loc("Our web page")}


def with_sources(*sources: dict[str, Any], programme_id: str = "test") -> dict[str, Any]:
    data = programme_data()
    data["id"] = programme_id
    data["sources"] = [copy.deepcopy(s) for s in sources]
    return data


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as failure:
        ServiceConfig.model_validate(data)
    return [(error_path(e["loc"]), e["msg"]) for e in failure.value.errors()]


# -- the config -------------------------------------------------------------------------------


def test_the_example_lists_sources_with_names_in_every_language() -> None:
    with CONFIG_PATH.open("rb") as f:
        config = ServiceConfig.model_validate(tomllib.load(f))
    hiv = config.programme("hiv")
    assert hiv is not None
    assert [s.id for s in hiv.sources] == ["kent", "community", "web"]
    assert {s.kind for s in hiv.sources} <= set(SOURCE_KINDS)
    for source in hiv.sources:
        assert set(source.name) == set(hiv.languages)
    assert config.bot.username == "SideBySideExampleBot"
    assert hiv.service_levels.urgent_claim_within_minutes == 30


def test_source_ids_must_be_unique() -> None:
    found = problems({"programmes": [with_sources(KENT, {**WEB, "id": "kent"})]})
    assert any("source ids must be unique" in m and "kent" in m for _, m in found), found


def test_a_source_kind_must_be_known() -> None:
    found = problems({"programmes": [with_sources({**KENT, "kind": "hospital"})]})
    assert any(p == "programmes[0].sources[0].kind" for p, _ in found), found
    assert any("clinic" in m and "community" in m for _, m in found), found


def test_a_source_needs_a_name_in_each_language() -> None:
    found = problems({"programmes": [with_sources({**KENT, "name": {"en": "Kent"}})]})
    assert any("sources[0] (kent).name has no text for language(s) sv" in m for _, m in found)


def test_a_source_id_must_fit_a_link() -> None:
    found = problems({"programmes": [with_sources({**KENT, "id": "kent clinic"})]})
    assert any(p == "programmes[0].sources[0].id" for p, _ in found), found
    long_programme = "p" * 24
    too_long = {**KENT, "id": "s" * 24}
    assert len(f"{long_programme}-{too_long['id']}") <= MAX_START_PAYLOAD  # ids cap it at 49
    ServiceConfig.model_validate({"programmes": [with_sources(too_long, programme_id="p" * 24)]})


def test_a_source_link_must_not_open_another_programme() -> None:
    clash = with_sources({**KENT, "id": "north"}, programme_id="hiv")
    other = programme_data()
    other["id"] = "hiv-north"
    found = problems({"programmes": [clash, other]})
    assert any("would open the programme 'hiv-north'" in m for _, m in found), found


def test_the_bot_username_is_checked() -> None:
    base = {"programmes": [programme_data()]}
    ServiceConfig.model_validate({**base, "bot": {"username": "SideBySideBot"}})
    found = problems({**base, "bot": {"username": "side by side"}})
    assert any(p == "bot.username" for p, _ in found), found
    found = problems({**base, "bot": {"username": "SideBySide"}})
    assert any("ends in 'bot'" in m for _, m in found), found


def test_the_urgent_claim_window_is_in_minutes() -> None:
    levels = ServiceLevels(claim_within_hours=24, urgent_claim_within_minutes=20)
    assert levels.claim_window(False).total_seconds() == 24 * 3600
    assert levels.claim_window(True).total_seconds() == 20 * 60
    assert ServiceLevels().claim_window(True).total_seconds() == 30 * 60
    with pytest.raises(ValidationError):
        ServiceLevels(urgent_claim_within_minutes=0)


# -- the payload ------------------------------------------------------------------------------


def test_a_payload_names_a_programme_and_maybe_a_source() -> None:
    hiv = with_sources(KENT, programme_id="hiv")
    dash = with_sources(WEB, programme_id="peer-group")
    config = ServiceConfig.model_validate({"programmes": [hiv, dash]})
    cases = {
        "hiv": ("hiv", None),
        "hiv-kent": ("hiv", "kent"),
        "hiv-nowhere": ("hiv", None),  # unknown source: the form still opens
        "hiv-": ("hiv", None),
        "peer-group": ("peer-group", None),  # a dash inside the programme id
        "peer-group-web": ("peer-group", "web"),
        "peer-group-kent": ("peer-group", None),  # another programme's source
        "peer": (None, None),
        "nothing": (None, None),
        "": (None, None),
    }
    for payload, (programme, source) in cases.items():
        found_programme, found_source = config.entry(payload)
        assert (found_programme.id if found_programme else None) == programme, payload
        assert (found_source.id if found_source else None) == source, payload
    assert config.entry(None) == (None, None)


# -- the buttons before consent ---------------------------------------------------------------


def test_consent_data_round_trips_and_fits_at_the_longest_ids() -> None:
    data = callbacks.consent("y", "p" * 24, "sv", "s" * 24)
    assert len(data.encode()) <= callbacks.MAX_BYTES
    assert callbacks.parse(data) == ConsentPress("y", "p" * 24, "sv", "s" * 24)
    assert callbacks.parse(callbacks.consent("y", "hiv", "en")) == ConsentPress("y", "hiv", "en")
    assert callbacks.parse("c:y:hiv:en:") is None  # an empty source is malformed
    assert callbacks.parse("c:y:hiv:en:kent:extra") is None


def buttons(outcome_prompts: list[Any]) -> dict[str, str]:
    return {b.label: b.data for p in outcome_prompts for row in p.buttons for b in row}


def test_the_source_rides_the_yes_and_language_buttons_only() -> None:
    intake, _ = make_intake(with_sources(KENT))
    prompts = intake.opening("test-kent", "en")
    found = buttons(prompts)
    assert found["Yes, I agree"] == "c:y:test:en:kent"
    assert found["Svenska"] == "c:L:test:sv:kent"
    assert found["No, thank you"] == "c:n:test:en"  # no form, nothing to record
    # an unknown source opens the same programme, with nothing on the buttons
    plain = buttons(intake.opening("test-elsewhere", "en"))
    assert plain["Yes, I agree"] == "c:y:test:en"


def test_switching_language_keeps_the_source() -> None:
    intake, _ = make_intake(with_sources(KENT))
    opening = intake.consent_press(ConsentPress("L", "test", "sv", "kent"))
    assert opening.replace is not None
    found = buttons([opening.replace])
    assert "c:y:test:sv:kent" in found.values(), found
    assert "c:L:test:en:kent" in found.values(), found


def begun(intake: Any, press: ConsentPress) -> Outcome:
    opening = intake.consent_press(press)
    assert opening.begin is not None
    return opening.begin


def test_yes_starts_a_form_that_remembers_a_known_source_only() -> None:
    intake, _ = make_intake(with_sources(KENT))
    kept = begun(intake, ConsentPress("y", "test", "en", "kent"))
    assert kept.draft is not None and kept.draft.source == "kent"
    forged = begun(intake, ConsentPress("y", "test", "en", "forged"))
    assert forged.draft is not None and forged.draft.source is None
    none = begun(intake, ConsentPress("y", "test", "en"))
    assert none.draft is not None and none.draft.source is None


def test_the_submission_carries_the_source_unless_the_config_dropped_it() -> None:
    intake, programme = make_intake(with_sources(KENT))
    draft = begun(intake, ConsentPress("y", "test", "en", "kent")).draft
    assert draft is not None
    draft.phase, draft.choices_seen = "review", True
    for question in programme.form:
        if question.answerable and question.required:
            draft.answers[question.id] = {
                "text": "Sam",
                "single": question.options[-1].id if question.options else "yes",
                "multi": [question.options[0].id] if question.options else [],
                "yesno": "yes",
            }[question.kind]
    send = callbacks.parse(callbacks.draft(draft.screen, "S"))
    assert isinstance(send, DraftPress)
    sent = intake.handle(draft, send, date(2026, 1, 1))
    assert sent.submission is not None, sent
    assert sent.submission.source == "kent"
    # the source was removed from the config while the form was open: dropped, not kept
    intake_without, _ = make_intake(with_sources(WEB))
    later = intake_without.handle(draft, send, date(2026, 1, 1))
    assert later.submission is not None and later.submission.source is None
