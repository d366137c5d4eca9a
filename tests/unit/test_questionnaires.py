"""Named questionnaires: the same intake dialog asks a programme's other forms (issue 13)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from conversations.callbacks import ConsentPress, DraftPress
from conversations.draft import Draft
from conversations.forms import ServiceConfig
from conversations.intake import Intake, Outcome, Typed
from tests.unit.intake_helpers import loc, make_intake, press_of, programme_data

TODAY = date(2026, 11, 22)


def refer_data(**extra: Any) -> dict[str, Any]:
    return {
        "purpose": "professional",
        "link": True,
        "welcome": loc("For professionals"),
        "privacy": loc("What we keep about you and them"),
        "form": [
            {"id": "pro_name", "kind": "text", "text": loc("Your name?")},
            {
                "id": "pro_kind",
                "kind": "single",
                "text": loc("Your role?"),
                "options": [
                    {"id": "gp", "label": loc("GP")},
                    {"id": "nurse", "label": loc("Nurse")},
                ],
            },
            {
                "id": "ward",
                "kind": "text",
                "text": loc("Which ward?"),
                "when": {"question": "pro_kind", "any_of": ["nurse"]},
            },
            {"id": "agreed", "kind": "yesno", "role": "consent", "text": loc("Did they agree?")},
        ],
        **extra,
    }


def with_refer(**extra: Any) -> dict[str, Any]:
    data = programme_data()
    data["questionnaires"] = {"refer": refer_data(**extra)}
    return data


def drive(intake: Intake, outcome: Outcome, *steps: str) -> Outcome:
    """Tap labels (or type text, prefixed with '>') from ``outcome``'s screen on."""
    draft, screen = outcome.draft, outcome.prompts[-1]
    for step in steps:
        assert draft is not None
        event: Typed | DraftPress = (
            Typed(step[1:]) if step.startswith(">") else press_of(screen, step)
        )
        outcome = intake.handle(draft, event, TODAY)
        draft = outcome.draft if (outcome.changed or outcome.draft is None) else draft
        shown = outcome.replace or (outcome.prompts[-1] if outcome.prompts else None)
        if shown is not None and shown.buttons:
            screen = shown
    return outcome


def test_the_refer_link_opens_its_own_notice_and_the_draft_knows_its_questionnaire() -> None:
    intake, _ = make_intake(with_refer())
    [notice] = intake.opening("test-refer", "en")  # the welcome and the notice: one message
    assert notice.text.startswith("For professionals")
    assert "What we keep about you and them" in notice.text
    yes = next(b for row in notice.buttons for b in row if b.label == "Yes, I agree")
    assert yes.data == "c:y:test:en:refer"  # a name from the config, nothing typed
    begin = intake.consent_press(ConsentPress("y", "test", "en", "refer")).begin
    assert begin is not None and begin.draft is not None
    assert begin.draft.questionnaire == "refer"
    assert begin.draft.source is None
    assert "Question 1 of 4" in begin.prompts[-1].text  # counting the ward, which may come
    assert "Your name?" in begin.prompts[-1].text


def test_a_questionnaire_is_asked_and_reviewed_like_the_form_and_sent_for_its_purpose() -> None:
    intake, _ = make_intake(with_refer())
    begin = intake.consent_press(ConsentPress("y", "test", "en", "refer")).begin
    assert begin is not None
    review = drive(intake, begin, ">Dr Ada", "GP", "Yes")
    assert review.draft is not None and review.draft.phase == "review"  # no choices step
    assert "Your choices" not in review.prompts[-1].text
    back = drive(intake, review, "Back")  # from the review: the last question again
    assert back.draft is not None and back.draft.current == "agreed"
    sent = drive(intake, review, "Send my form")
    assert sent.submission is not None
    assert sent.submission.questionnaire == "refer"
    assert sent.submission.purpose == "professional"
    assert sent.submission.answers == {"pro_name": "Dr Ada", "pro_kind": "gp", "agreed": "yes"}
    assert sent.submission.choices == {}


def test_a_professional_whose_person_did_not_agree_ends_the_form_keeping_nothing() -> None:
    intake, _ = make_intake(with_refer())
    begin = intake.consent_press(ConsentPress("y", "test", "en", "refer")).begin
    assert begin is not None
    out = drive(intake, begin, ">Dr Ada", "GP", "No")
    assert out.draft is None and out.forget and out.submission is None
    assert "only take a referral when the person agrees" in out.prompts[0].text


def test_a_professional_questionnaire_needs_its_consent_question() -> None:
    data = programme_data()
    form = [q for q in refer_data()["form"] if q["id"] != "agreed"]
    data["questionnaires"] = {"refer": {**refer_data(), "form": form}}
    with pytest.raises(ValidationError, match="role = 'consent'"):
        ServiceConfig.model_validate({"programmes": [data]})


def test_the_programme_form_still_asks_the_person_s_choices() -> None:
    intake, _ = make_intake(with_refer())
    begin = intake.consent_press(ConsentPress("y", "test", "en")).begin
    assert begin is not None and begin.draft is not None
    assert begin.draft.questionnaire == "form"
    assert not begin.draft.choices_seen


def test_a_draft_can_be_begun_for_another_purpose_with_context() -> None:
    intake, programme = make_intake(with_refer())
    begun = intake.begin(programme, "en", purpose="phone", context={"consent": "verbal"})
    assert begun.draft is not None and not begun.draft.choices_seen  # asked on their behalf
    restored = Draft.from_bytes(begun.draft.to_bytes())
    assert restored.purpose == "phone" and restored.context == {"consent": "verbal"}
    refer = intake.consent_press(ConsentPress("y", "test", "en", "refer")).begin
    assert refer is not None and refer.draft is not None
    assert refer.draft.choices_seen  # a professional is asked no choices


def test_a_removed_questionnaire_cancels_its_draft_kindly() -> None:
    intake, _ = make_intake(with_refer())
    begin = intake.consent_press(ConsentPress("y", "test", "en", "refer")).begin
    assert begin is not None and begin.draft is not None
    without, _p = make_intake(programme_data())
    out = without.handle(begin.draft, Typed("Dr Ada"), TODAY)
    assert out.draft is None and out.forget


def test_a_forged_questionnaire_name_on_the_consent_button_opens_the_form() -> None:
    intake, _ = make_intake(with_refer(link=False))
    begin = intake.consent_press(ConsentPress("y", "test", "en", "refer")).begin
    assert begin is not None and begin.draft is not None
    assert begin.draft.questionnaire == "form"  # not linked: the name is refused


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"purpose": "referral"}, "the programme's own form"),
        ({"purpose": "unknown"}, "purpose"),
        ({"welcome": None}, "needs 'welcome' and 'privacy'"),
        (
            {"form": [{"id": "a", "kind": "text", "text": loc("A?"), "match": "area"}]},
            "'match'",
        ),
    ],
)
def test_a_questionnaire_is_checked_like_the_form(change: dict[str, Any], problem: str) -> None:
    data = programme_data()
    data["questionnaires"] = {"refer": {**refer_data(), **change}}
    with pytest.raises(ValidationError, match=problem):
        ServiceConfig.model_validate({"programmes": [data]})


def test_questionnaire_texts_need_every_language() -> None:
    data = with_refer()
    data["questionnaires"]["refer"]["form"][0]["text"] = {"en": "Your name?"}
    with pytest.raises(ValidationError, match=r"questionnaires.refer.form\[0\]"):
        ServiceConfig.model_validate({"programmes": [data]})


def test_a_questionnaire_name_may_not_clash_with_a_source() -> None:
    data = with_refer()
    data["sources"] = [{"id": "refer", "kind": "clinic", "name": loc("Clinic")}]
    with pytest.raises(ValidationError, match="links clash"):
        ServiceConfig.model_validate({"programmes": [data]})


def test_a_professional_source_opens_the_professional_questionnaire() -> None:
    data = with_refer(link=False)
    data["sources"] = [{"id": "gps", "kind": "professional", "name": loc("GPs")}]
    intake, _ = make_intake(data)
    begin = intake.consent_press(ConsentPress("y", "test", "en", "gps")).begin
    assert begin is not None and begin.draft is not None
    assert (begin.draft.questionnaire, begin.draft.source) == ("refer", "gps")
