"""Property tests: whatever a person sends, in whatever order, the draft stays valid."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from conversations import callbacks
from conversations.answers import choice_ids
from conversations.callbacks import ConsentPress, DraftPress
from conversations.draft import Draft, is_visible
from conversations.intake import Command, Outcome, Typed
from tests.unit.intake_helpers import make_intake

TODAY = date(2026, 11, 22)
INTAKE, PROGRAMME = make_intake()

odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "Chat",
            "phone",
            "3",
            "yes",
            "31/12/2026",
            "2027-01-01",
            "<b>",
            "&amp;",
            "\u200b",
            "שלום",
            "👍🏽",
            "x" * 600,
            "/back",
        ]
    ),
)


class IntakeMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        begin = INTAKE.consent_press(ConsentPress("y", "test", "en")).begin
        assert begin is not None
        self.draft: Draft | None = begin.draft
        self.submitted: Outcome | None = None
        self.last_screen = 0

    def _apply(self, out: Outcome) -> None:
        if self.draft is None:
            return
        if out.submission is not None:
            self.submitted = out
        if out.draft is None:
            self.draft = None
        elif out.changed:
            assert out.draft.screen >= self.draft.screen
            self.draft = out.draft
        else:
            assert out.draft == self.draft  # "unchanged" really means unchanged

    @rule(text=odd_text)
    def type_text(self, text: str) -> None:
        if self.draft is not None:
            self._apply(INTAKE.handle(self.draft, Typed(text), TODAY))

    @rule(
        action=st.sampled_from(["o", "t", "d", "s", "k", "i", "b", "e", "S", "R", "X", "L"]),
        arg=st.one_of(st.just(""), st.integers(-1, 25).map(str), st.just("sv")),
        stale=st.booleans(),
    )
    def press(self, action: str, arg: str, stale: bool) -> None:
        if self.draft is None:
            return
        screen = self.draft.screen - 1 if stale else self.draft.screen
        out = INTAKE.handle(self.draft, DraftPress(screen, action, arg), TODAY)
        if stale:
            assert not out.changed
            assert out.notice is not None
        self._apply(out)

    @rule(name=st.sampled_from(["back", "cancel", "language", "help", "resume"]))
    def command(self, name: str) -> None:
        if self.draft is not None:
            self._apply(INTAKE.handle(self.draft, Command(name), TODAY))  # type: ignore[arg-type]

    @invariant()
    def draft_is_valid(self) -> None:
        draft = self.draft
        if draft is None:
            return
        assert Draft.from_bytes(draft.to_bytes()) == draft  # survives storage
        if draft.phase == "asking":
            question = PROGRAMME.question(draft.current or "")
            assert question is not None
            assert is_visible(question, draft.answers)
        for qid, value in draft.answers.items():
            question = PROGRAMME.question(qid)
            assert question is not None
            assert question.answerable
            assert is_visible(question, draft.answers), f"{qid} answered but hidden"
            if value is None:
                assert not question.required
            elif question.kind in ("single", "yesno"):
                assert value in choice_ids(question)
            elif question.kind == "multi":
                assert isinstance(value, list)
                assert set(value) <= set(choice_ids(question))
            elif question.kind == "number":
                assert isinstance(value, int)
        for prompt in INTAKE.resume(draft):
            for row in prompt.buttons:
                for button in row:
                    assert len(button.data.encode()) <= callbacks.MAX_BYTES
                    assert callbacks.parse(button.data) is not None

    @invariant()
    def submission_is_complete(self) -> None:
        if self.submitted is None or self.submitted.submission is None:
            return
        answers = self.submitted.submission.answers
        for question in PROGRAMME.form:
            if question.answerable and question.required and is_visible(question, answers):
                assert question.id in answers


IntakeMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestIntakeMachine = IntakeMachine.TestCase
