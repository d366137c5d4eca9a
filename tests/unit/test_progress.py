"""The form's progress cue: "Question N of M" never shows a larger M than the person saw before,
and the welcome's count is the one `peerdoor check-config` prints."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config_file import load_config
from bot.i18n import load_catalog
from conversations.answers import choice_ids
from conversations.callbacks import ConsentPress, DraftPress
from conversations.draft import Draft, most_questions
from conversations.intake import Command, Intake, Outcome, Typed
from tests.e2e.harness import EXAMPLE_CONFIG

TODAY = date(2026, 12, 2)
CONFIG = load_config(EXAMPLE_CONFIG)
INTAKE = Intake(CONFIG, load_catalog())
HIV = CONFIG.programme("hiv")
assert HIV is not None
CUE = {
    "en": re.compile(r"Question (\d+)(?: of (\d+))?"),
    "sv": re.compile(r"Fråga (\d+)(?: av (\d+))?"),
}
TYPED = {"text": "Robin", "number": "30", "date": "01/02/2027"}  # every typed kind, valid


def cue(outcome: Outcome, language: str) -> tuple[int, int | None] | None:
    """The number and total the last screen shows, if it is a question."""
    for prompt in reversed(outcome.prompts):
        found = CUE[language].search(prompt.text)
        if found:
            return int(found[1]), int(found[2]) if found[2] else None
    return None


def step(draft: Draft, pick: int) -> Outcome:
    """One move a person can make: answer (any way the question allows), skip, go back, or from
    the review change an answer; `pick` chooses."""
    if draft.phase == "choices":
        return INTAKE.handle(draft, DraftPress(draft.screen, "cd", ""), TODAY)
    if draft.phase == "review":
        count = len([q for q in HIV.form if q.answerable])
        return INTAKE.handle(draft, DraftPress(draft.screen, "e", str(pick % count + 1)), TODAY)
    question = HIV.question(draft.current or "")
    assert question is not None
    if pick % 7 == 0:
        return INTAKE.handle(draft, Command("back"), TODAY)
    if pick % 7 == 1 and question.answerable and not question.required:
        return INTAKE.handle(draft, DraftPress(draft.screen, "s", ""), TODAY)
    press = lambda action, arg="": DraftPress(draft.screen, action, arg)  # noqa: E731
    if question.kind == "info":
        return INTAKE.handle(draft, press("i"), TODAY)
    if question.kind in ("single", "yesno"):
        return INTAKE.handle(draft, press("o", str(pick % len(choice_ids(question)))), TODAY)
    if question.kind == "multi":
        ticked = INTAKE.handle(draft, press("t", str(pick % len(choice_ids(question)))), TODAY)
        assert ticked.draft is not None
        return INTAKE.handle(ticked.draft, DraftPress(ticked.draft.screen, "d", ""), TODAY)
    return INTAKE.handle(draft, Typed(TYPED[question.kind]), TODAY)


@settings(max_examples=200, deadline=None)
@given(
    language=st.sampled_from(["en", "sv"]),
    picks=st.lists(st.integers(0, 10_000), min_size=1, max_size=60),
)
def test_the_total_never_grows(language: str, picks: list[int]) -> None:
    begin = INTAKE.consent_press(ConsentPress("y", "hiv", language)).begin
    assert begin is not None and begin.draft is not None
    draft: Draft = begin.draft
    shown: list[int] = []
    for pick in picks:
        outcome = step(draft, pick)
        if outcome.draft is None:
            return  # under age, or sent
        draft = outcome.draft
        found = cue(outcome, language)
        if found is None:
            continue
        number, total = found
        if total is not None:
            assert number <= total, (number, total)
            assert not shown or total <= min(shown), f"{total} after {shown}"
            shown.append(total)


def test_the_welcome_says_what_check_config_counts() -> None:
    most = most_questions(HIV)
    assert most == 22 == sum(1 for q in HIV.form if q.answerable)
    for language, words in (("en", f"up to {most} short questions"), ("sv", f"högst {most}")):
        begin = INTAKE.consent_press(ConsentPress("y", "hiv", language)).begin
        assert begin is not None and begin.draft is not None
        assert words in begin.prompts[-1].text  # the first step: the welcome ("start")
        first = INTAKE.handle(begin.draft, DraftPress(begin.draft.screen, "i", ""), TODAY)
        assert cue(first, language) == (1, most)


def test_a_question_that_appears_was_already_counted() -> None:
    """The cue the new user saw jump from "12 of 18" to "13 of 19"."""
    begin = INTAKE.consent_press(ConsentPress("y", "hiv", "en")).begin
    assert begin is not None and begin.draft is not None
    draft = begin.draft
    seen: list[tuple[int, int | None]] = []
    plan = {"contact_route": "chat", "age_band": 1, "support_type": "one_to_one"}
    for _ in range(3 * len(HIV.form)):
        if draft.phase != "asking":
            break
        question = HIV.question(draft.current or "")
        assert question is not None
        if question.id in plan:
            wanted = plan[question.id]
            index = choice_ids(question).index(wanted) if isinstance(wanted, str) else wanted
            outcome = INTAKE.handle(draft, DraftPress(draft.screen, "o", str(index)), TODAY)
        else:
            outcome = step(draft, 3)
        assert outcome.draft is not None
        draft = outcome.draft
        found = cue(outcome, "en")
        if found is not None:
            seen.append(found)
    assert draft.phase != "asking", "the form did not end"
    totals = [t for _n, t in seen]
    assert totals == sorted(totals, reverse=True), seen
    assert seen[-1][0] == seen[-1][1], "the last question says so"
