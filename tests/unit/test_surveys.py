"""The end-of-support survey machine: one question per message, skip, back, stop, re-asks."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations import surveys
from conversations.answers import choice_ids
from conversations.forms import Programme, ServiceConfig
from conversations.prompts import Prompt
from conversations.surveys import Outcome, SurveyPress, SurveyState, Typed
from tests.unit.intake_helpers import loc, programme_data

TODAY = date(2026, 11, 22)


def _(text: str) -> str:
    return text


def make_programme() -> Programme:
    data: dict[str, Any] = programme_data()
    score = [{"id": str(i), "label": loc(str(i))} for i in range(1, 6)]
    data["feedback"] = [
        {"id": "helpful", "kind": "single", "text": loc("How helpful?"), "options": score},
        {"id": "recommend", "kind": "yesno", "text": loc("Recommend?")},
        {
            "id": "liked",
            "kind": "multi",
            "text": loc("What did you like?"),
            "required": False,
            "options": [{"id": i, "label": loc(i.title())} for i in ("talks", "walks")],
        },
        {"id": "anything", "kind": "text", "text": loc("Anything else?"), "required": False},
    ]
    data["closing_report"] = [
        {
            "id": "sessions",
            "kind": "number",
            "minimum": 0,
            "maximum": 50,
            "text": loc("How many?"),
        },
        {"id": "note", "kind": "text", "text": loc("Note?"), "required": False, "max_length": 30},
    ]
    return ServiceConfig.model_validate({"programmes": [data]}).programmes[0]


PROGRAMME = make_programme()


def start(kind: surveys.SurveyKind = "feedback") -> SurveyState:
    return surveys.begin(PROGRAMME, kind, "ENG12345", "en")


def tap(state: SurveyState, prompt: Prompt, label: str) -> SurveyPress:
    buttons = [b for row in prompt.buttons for b in row]
    chosen = next((b for b in buttons if b.label == label), None) or next(
        b for b in buttons if label in b.label
    )
    press = surveys.parse(chosen.data)
    assert press is not None
    return press


def step(state: SurveyState, event: surveys.Event) -> Outcome:
    return surveys.handle(PROGRAMME, state, event, TODAY, _)


def screen(state: SurveyState) -> Prompt:
    return surveys.current(PROGRAMME, state, _)


def test_a_whole_feedback_survey_with_progress_and_skip() -> None:
    state = start()
    first = screen(state)
    assert first.text.startswith("Question 1 of 4")
    out = step(state, tap(state, first, "4"))
    assert out.state is not None and out.state.answers == {"helpful": "4"}
    assert out.prompts[0].text.startswith("Question 2 of 4")
    state = out.state
    out = step(state, Typed("yes"))  # a typed label counts as the tap
    assert out.state is not None
    state = out.state
    liked = out.prompts[0]
    out = step(state, tap(state, liked, "Talks"))
    assert out.state is not None and out.replace is not None
    assert "☑ Talks" in [b.label for row in out.replace.buttons for b in row]
    state = out.state
    out = step(state, tap(state, out.replace, "Done"))
    assert out.state is not None
    state = out.state
    out = step(state, tap(state, out.prompts[0], "Skip"))
    assert out.state is None
    assert out.finished == {
        "helpful": "4",
        "recommend": "yes",
        "liked": ["talks"],
        "anything": None,
    }
    assert "Thank you" in out.prompts[0].text


def test_bad_input_is_re_asked_and_nothing_is_lost() -> None:
    state = start("closing")
    for typed, problem in (("many", "type a number"), ("99", "from 0 to 50"), ("  ", "empty")):
        out = step(state, Typed(typed))
        assert out.state == state and not out.changed
        assert problem in out.prompts[0].text
    out = step(state, Typed("6"))
    assert out.state is not None and out.state.answers == {"sessions": 6}
    out2 = step(out.state, Typed("x" * 31))
    assert "30 characters or fewer" in out2.prompts[0].text
    assert out2.state == out.state


def test_a_stale_or_forged_press_changes_nothing() -> None:
    state = start()
    first = screen(state)
    out = step(state, tap(state, first, "2"))
    assert out.state is not None
    old = tap(state, first, "5")  # the first question's button, pressed again later
    again = step(out.state, old)
    assert again.state == out.state and not again.changed
    assert again.notice == surveys.stale_notice(_)
    forged = step(out.state, SurveyPress(out.state.screen, "o", "17"))
    assert forged.state == out.state and forged.notice


def test_back_and_stop() -> None:
    state = start()
    out = step(state, tap(state, screen(state), "3"))
    assert out.state is not None
    back = step(out.state, tap(out.state, out.prompts[0], "Back"))
    assert back.state is not None and back.state.index == 0 and back.state.answers == {}
    assert back.prompts[0].text.startswith("Question 1 of 4")
    assert "Back" not in [b.label for row in back.prompts[0].buttons for b in row]
    out = step(back.state, tap(back.state, back.prompts[0], "1"))
    assert out.state is not None
    stop = step(out.state, tap(out.state, out.prompts[0], "Stop"))
    assert stop.state is None and stop.finished == {"helpful": "1"}


def test_required_questions_have_no_skip_and_every_screen_a_way_out() -> None:
    state = start()
    labels = [b.label for row in screen(state).buttons for b in row]
    assert "Skip" not in labels and "Stop" in labels


def test_invitation_is_discreet_and_carries_no_answers() -> None:
    for kind in surveys.KINDS:
        prompt = surveys.invitation(PROGRAMME, kind, "ENG12345", "ABC-123", _)
        assert prompt.text.startswith("Hello, a short")
        for row in prompt.buttons:
            for b in row:
                assert b.data.startswith("f1:0:") and b.data.endswith(":ENG12345")


def test_callback_data_parse() -> None:
    assert surveys.parse("f:3:o:2") == SurveyPress(3, "o", "2")
    assert surveys.parse("f:3:x") == SurveyPress(3, "x", "")
    for bad in (None, "", "f", "f:x:o", "f:1", "r:1:o", "f:1:o:2:3", "f:" + "1" * 70 + ":o"):
        assert surveys.parse(bad) is None


def test_only_choices_and_numbers_are_counted() -> None:
    answers: dict[str, Any] = {
        "helpful": "5",
        "recommend": "no",
        "liked": ["talks"],
        "anything": "secret words",
        "gone": "1",
    }
    assert surveys.countable(PROGRAMME, answers) == [("helpful", "5"), ("recommend", "no")]
    assert surveys.countable(PROGRAMME, {"helpful": "9", "recommend": None}) == []


def test_readable_answers_in_config_order() -> None:
    got = surveys.readable(
        PROGRAMME, "feedback", {"recommend": "yes", "helpful": "2", "anything": None}, "en", _
    )
    assert got == [
        ("helpful", "How helpful?", "2"),
        ("recommend", "Recommend?", "Yes"),
        ("anything", "Anything else?", "(no answer)"),
    ]


@pytest.mark.parametrize("kind", surveys.KINDS)
def test_state_round_trips(kind: surveys.SurveyKind) -> None:
    state = start(kind)
    assert SurveyState.from_bytes(state.to_bytes()) == state


events = st.one_of(
    st.builds(Typed, st.one_of(st.text(max_size=40), st.sampled_from(["yes", "3", "<b>", ""]))),
    st.builds(
        SurveyPress,
        st.integers(0, 12),
        st.sampled_from(["o", "t", "d", "s", "b", "x", "i", "zz"]),
        st.one_of(st.just(""), st.integers(-1, 6).map(str)),
    ),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(kind=st.sampled_from(surveys.KINDS), script=st.lists(events, max_size=30))
def test_any_sequence_keeps_the_state_valid(kind: surveys.SurveyKind, script: list[Any]) -> None:
    """Whatever is typed or pressed: answers are for the survey's own questions, valid for
    their kind, the screen only moves forward, and the end comes once with every answer."""
    state = start(kind)
    qs = {q.id: q for q in surveys.questions(PROGRAMME, kind)}
    for event in script:
        out = step(state, event)
        assert out.prompts or out.notice or out.replace
        if out.state is None:
            assert out.finished is not None
            assert set(out.finished) <= set(qs)
            assert out.finished == {
                **state.answers,
                **{k: v for k, v in out.finished.items() if k not in state.answers},
            }
            return
        assert out.state.screen >= state.screen
        if not out.changed:
            assert out.state == state
        for qid, value in out.state.answers.items():
            q = qs[qid]
            if value is None:
                assert not q.required or q.kind == "multi"
            elif q.kind in ("single", "yesno"):
                assert value in choice_ids(q)
            elif q.kind == "multi":
                assert isinstance(value, list) and set(value) <= set(choice_ids(q))
            elif q.kind == "number":
                assert isinstance(value, int)
                assert q.minimum is not None and q.maximum is not None
                assert q.minimum <= value <= q.maximum
        state = out.state


def test_the_one_callback_format_and_its_older_forms() -> None:
    """Buttons name the dialog, its version and the screen; older buttons still read."""
    assert surveys.data(3, "o", 2) == "f1:3:o:2"
    assert surveys.parse("f1:3:o:2") == SurveyPress(3, "o", "2", version=1)
    assert surveys.parse("f:3:o:2") == SurveyPress(3, "o", "2", version=1)  # before the format
    assert surveys.parse("i1:3:o:2") is None  # the form's button, not a survey's
    assert surveys.parse("f1:" + "9" * 50 + ":o") is None  # forged: no giant screen numbers
