"""The intake machine without Telegram: every question kind, navigation, validation, limits."""

from __future__ import annotations

from datetime import date

import pytest

from conversations.callbacks import ConsentPress, DraftPress
from conversations.draft import Draft
from conversations.intake import Command, Event, Intake, Outcome, Typed
from tests.unit.intake_helpers import make_intake, press_of

TODAY = date(2026, 11, 22)


class Person:
    """Drives the machine the way the bot does: keeps the stored draft, applies each outcome."""

    def __init__(self, intake: Intake, language: str = "en") -> None:
        self.intake = intake
        begin = intake.consent_press(ConsentPress("y", "test", language)).begin
        assert begin is not None
        self.draft: Draft | None = begin.draft
        self.last = begin
        self.screen = begin.prompts[-1]

    def send(self, event: Event) -> Outcome:
        assert self.draft is not None
        out = self.intake.handle(self.draft, event, TODAY)
        if out.changed or out.draft is None:
            self.draft = out.draft
        self.last = out
        if out.replace is not None:
            self.screen = out.replace
        elif out.prompts and out.prompts[-1].buttons:
            self.screen = out.prompts[-1]
        return out

    def tap(self, label: str) -> Outcome:
        return self.send(press_of(self.screen, label))

    def type(self, text: str) -> Outcome:
        return self.send(Typed(text))

    @property
    def text(self) -> str:
        return self.screen.text

    def said(self) -> str:
        return "\n".join(p.text for p in self.last.prompts) + (self.last.notice or "")


@pytest.fixture
def person() -> Person:
    intake, _ = make_intake()
    return Person(intake)


def fill_to_review(p: Person) -> None:
    p.tap("Continue")
    p.type("Sam")
    p.tap("Chat")
    p.tap("Adult")
    p.tap("Morning")
    p.tap("Weekend")
    p.tap("Done")
    p.type("3")
    p.tap("Prefer not to say")
    p.tap("Yes")
    p.type("I like <b>art</b> & walks")
    p.tap("Done")  # the choices step


def test_happy_path_reaches_review_and_submits_only_given_answers(person: Person) -> None:
    assert "Good to know" in person.text
    fill_to_review(person)
    assert person.draft is not None
    assert person.draft.phase == "review"
    review = person.text
    assert "I like &lt;b&gt;art&lt;/b&gt; &amp; walks" in review  # echoed text is escaped
    assert "Morning, Weekend" in review
    out = person.tap("Send my form")
    assert out.draft is None
    assert out.submission is not None
    assert out.submission.answers == {
        "name": "Sam",
        "route": "chat",
        "age": "adult",
        "times": ["morning", "weekend"],
        "pets": 3,
        "start": None,
        "voicemail": "yes",
        "notes": "I like <b>art</b> & walks",
    }


def test_progress_cue_counts_what_can_still_be_asked(person: Person) -> None:
    """The phone question counts until the answer it rests on rules it out: the total only
    ever shrinks (it never went from 8 to 9 when the phone question appeared)."""
    person.tap("Continue")
    assert person.text.startswith("Question 1 of 9")
    person.type("Sam")
    assert person.text.startswith("Question 2 of 9")
    person.tap("Phone")
    assert person.text.startswith("Question 3 of 9")  # the phone question applies
    person.send(Command("back"))
    assert person.text.startswith("Question 2 of 9")
    person.tap("Chat")
    assert person.text.startswith("Question 3 of 8")  # no phone question: one fewer
    person.send(Command("back"))
    assert person.text.startswith("Question 2\n"), "9 again would be a total that grew"
    person.tap("Phone")
    assert person.text.startswith("Question 3\n")


def test_conditional_question_and_its_answer_go_when_the_condition_changes(person: Person) -> None:
    person.tap("Continue")
    person.type("Sam")
    person.tap("Phone")
    assert "Question phone?" in person.text
    person.type("07700 900123")
    person.send(Command("back"))
    person.send(Command("back"))
    assert "Question route?" in person.text
    person.tap("Chat")
    assert person.draft is not None
    assert "phone" not in person.draft.answers
    assert "Question age?" in person.text


def test_invalid_input_gets_a_specific_reask_and_keeps_state(person: Person) -> None:
    person.tap("Continue")
    before = person.draft
    out = person.type("x" * 21)
    assert "20 characters or fewer" in out.prompts[0].text
    assert not out.changed
    assert person.draft == before
    person.type("Sam")
    assert person.type("maybe").prompts[0].text == "Please tap one of the buttons above."
    person.type("phone")  # typing a button's label counts as tapping it
    assert "Question phone?" in person.text


def test_number_and_date_validation(person: Person) -> None:
    fill_until = ["Continue"]
    for label in fill_until:
        person.tap(label)
    person.type("Sam")
    person.tap("Chat")
    person.tap("Adult")
    person.tap("Evening")
    person.tap("Done")
    assert "from 0 to 20" in person.type("21").prompts[0].text
    assert "Please type a number" in person.type("three").prompts[0].text
    person.type("2")
    assert "has passed" in person.type("01/01/2020").prompts[0].text
    assert "day/month/year" in person.type("31/02/2027").prompts[0].text
    person.type("24.12.2026")
    assert person.draft is not None
    assert person.draft.answers["start"] == "2026-12-24"


def test_multi_select_toggles_in_place_and_requires_one(person: Person) -> None:
    person.tap("Continue")
    person.type("Sam")
    person.tap("Chat")
    person.tap("Adult")
    out = person.tap("Done")
    assert out.notice == "Please tap at least one answer, then Done."
    out = person.tap("Morning")
    assert out.replace is not None
    assert "☑ Morning" in out.replace.text or any(
        "☑ Morning" in b.label for row in out.replace.buttons for b in row
    )
    person.tap("Morning")  # untick
    assert person.draft is not None
    assert person.draft.picked == []


def test_stale_and_forged_presses_change_nothing(person: Person) -> None:
    old_screen = person.screen
    person.tap("Continue")
    before = person.draft
    out = person.send(press_of(old_screen, "Continue"))
    assert out.notice is not None
    assert "expired" in out.notice
    assert person.draft == before
    assert person.draft is not None
    forged = person.send(DraftPress(person.draft.screen, "o", "99"))
    assert forged.notice is not None
    assert "expired" in forged.notice
    assert person.draft == before


def test_back_from_first_question_and_keep_answer(person: Person) -> None:
    out = person.send(Command("back"))
    assert "first question" in out.prompts[0].text
    person.tap("Continue")
    person.type("Sam")
    person.send(Command("back"))
    assert "Your answer now: Sam" in person.text
    person.tap("Keep my answer")
    assert "Question route?" in person.text


def test_edit_from_review_returns_to_review(person: Person) -> None:
    fill_to_review(person)
    person.tap("✎ 1")
    assert "Question name?" in person.text
    person.type("Alex")
    assert person.draft is not None
    assert person.draft.phase == "review"
    assert "Alex" in person.text
    person.tap("✎ 2")  # change the route to phone: the new question must be asked
    person.tap("Phone")
    assert "Question phone?" in person.text
    person.type("07700 900123")
    assert person.draft.phase == "review"


def test_under_age_stores_nothing_and_signposts(person: Person) -> None:
    person.tap("Continue")
    person.type("Sam")
    person.tap("Chat")
    out = person.tap("Under18")
    assert out.draft is None
    assert out.forget
    assert out.submission is None
    assert "under_age text" in out.prompts[0].text


def test_cancel_asks_then_deletes(person: Person) -> None:
    person.tap("Continue")
    person.send(Command("cancel"))
    assert "Delete your answers?" in person.text
    person.tap("No, go back to the form")
    assert "Question name?" in person.text
    person.send(Command("cancel"))
    out = person.tap("Yes, delete them")
    assert out.draft is None
    assert out.forget


def test_language_switch_keeps_place() -> None:
    intake, _ = make_intake()
    p = Person(intake)
    p.tap("Continue")
    p.send(Command("language"))
    p.tap("Svenska")
    assert p.draft is not None
    assert p.draft.language == "sv"
    assert p.text.startswith("Fråga 1 av 9")
    assert "[sv] Question name?" in p.text


def test_no_consent_and_programme_choice_store_nothing() -> None:
    intake, _ = make_intake()
    no = intake.consent_press(ConsentPress("n", "test", "en"))
    assert no.begin is None
    assert "no_consent text" in no.prompts[0].text
    forged = intake.consent_press(ConsentPress("y", "nope", "en"))
    assert forged.begin is None
    assert forged.notice is not None
    opening = intake.opening("test", "sv-SE")
    assert len(opening) == 1  # welcome and notice in one message: one call
    assert opening[0].text.startswith("[sv] welcome text")
    assert any(b.data == "c:y:test:sv" for row in opening[0].buttons for b in row)
