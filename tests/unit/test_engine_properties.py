"""Property tests for the dialog engine, beyond the form's own machine
(tests/unit/test_intake_properties.py): for each dialog on the engine — a survey, the language
sub-dialog, a coordinator's case work, a new or changed group — any sequence of events never
raises, a stale press (an older screen, another version) never changes the state, the screen
number never goes down (a survey's comes from the person's counter, moved by other dialogs
too), and every state survives being stored and read back; a volunteer card's buttons read
back with their screen. Any callback data at all is either a press of one dialog or refused,
never an error. And the person's one screen counter
(`DialogState.screens`): across any frames started, shown, ended, pushed, popped, stored and
read back — including the row going when the last frame ends — it never goes down, and a press
on any screen shown before, of any dialog, is never current again."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.config_file import load_config
from bot.i18n import load_catalog
from conversations import (
    applicants,
    coordinating,
    engine,
    group_dialog,
    group_screens,
    language_choice,
    surveys,
)
from conversations.coordinating import CaseState
from conversations.dialogs import SUB, DialogName, DialogState
from conversations.engine import DIALOGS, ScreenPress
from conversations.group_schedule import GroupConfig
from conversations.language_choice import LanguageState
from conversations.matching import Suggestion
from conversations.surveys import SurveyPress, SurveyState
from tests.unit.test_intake_properties import odd_text

EXAMPLE = load_config(Path(__file__).resolve().parents[2] / "bot" / "example_config.toml")
PROGRAMME = EXAMPLE.programme("hiv")
assert PROGRAMME is not None
_ = load_catalog().translator("en")
TODAY = date(2026, 11, 22)
ACTIONS = st.sampled_from(["o", "t", "d", "i", "s", "b", "x", "L", "R", "pick", "share", "?"])
ARGS = st.one_of(st.just(""), st.integers(-2, 12).map(str), st.sampled_from(["sv", "en", "²"]))
SETTINGS = settings(
    max_examples=60, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip


class SurveyMachine(RuleBasedStateMachine):
    """A survey (feedback or closing report) under any presses and typed text."""

    def __init__(self) -> None:
        super().__init__()
        self.state: SurveyState | None = surveys.begin(PROGRAMME, "feedback", "e1", "en")
        self.counter = 1  # the person's one screen counter (the survey showed screen 1)

    def _apply(self, out: surveys.Outcome) -> None:
        before = self.state
        assert before is not None
        if out.state is not None:  # the counter the service gave is never stored
            assert out.state.counted == self.counter
            out.state = out.state.model_copy(update={"counted": 0})
        if not out.changed:
            assert out.state == before  # "unchanged" really means unchanged
            return
        if out.state is not None:
            assert out.state.screen >= before.screen  # the screen number never goes down
            if out.state.screen != before.screen:  # a new screen: after every one given out
                assert out.state.screen == self.counter + 1, (out.state.screen, self.counter)
                self.counter = out.state.screen
        self.state = out.state

    def _counted(self) -> SurveyState:
        assert self.state is not None
        return self.state.model_copy(update={"counted": self.counter})

    @rule(n=st.integers(1, 5))
    def another_dialog_shows_screens(self, n: int) -> None:
        self.counter += n

    @rule(kind=st.sampled_from(["feedback", "closing"]))
    @precondition(lambda self: self.state is None)
    def again(self, kind: surveys.SurveyKind) -> None:
        self.state = surveys.begin(PROGRAMME, kind, "e1", "sv")
        self.counter += 1
        self.state.screen = self.counter  # as the service numbers its first screen

    @rule(text=odd_text)
    @precondition(lambda self: self.state is not None)
    def type_text(self, text: str) -> None:
        assert self.state is not None
        self._apply(surveys.handle(PROGRAMME, self._counted(), surveys.Typed(text), TODAY, _))

    @rule(action=ACTIONS, arg=ARGS, stale=st.sampled_from(["no", "screen", "version"]))
    @precondition(lambda self: self.state is not None)
    def press(self, action: str, arg: str, stale: str) -> None:
        state = self.state
        assert state is not None
        screen = state.screen - 1 if stale == "screen" else state.screen
        version = 2 if stale == "version" else 1
        event = SurveyPress(screen, action, arg, version)
        out = surveys.handle(PROGRAMME, self._counted(), event, TODAY, _)
        if stale != "no":
            assert not out.changed and out.state == self._counted() and out.notice
        self._apply(out)

    @invariant()
    def stored_and_read_back(self) -> None:
        if self.state is not None:
            assert SurveyState.from_bytes(self.state.to_bytes()) == self.state
            for row in surveys.current(PROGRAMME, self.state, _).buttons:
                for button in row:
                    parsed = engine.parse(button.data)
                    assert parsed is not None and parsed.dialog == "survey"
                    assert engine.is_current("survey", parsed.version, parsed.screen,
                                             self.state.screen)  # fmt: skip


SurveyMachine.TestCase.settings = SETTINGS
TestSurveyMachine = SurveyMachine.TestCase


class LanguageMachine(RuleBasedStateMachine):
    """The language sub-dialog, pushed again and again, under any presses."""

    def __init__(self) -> None:
        super().__init__()
        self.state: LanguageState | None = None
        self.shown = 0

    @rule(after=st.integers(0, 50))
    def push(self, after: int) -> None:
        after = max(after, self.shown)  # pushed above the screen of the frame below
        out = language_choice.start(after, ["en", "sv"], _)
        assert out.state is not None and out.state.screen > self.shown
        self.state, self.shown = out.state, out.state.screen
        for row in out.prompts[0].buttons:
            for button in row:
                parsed = engine.parse(button.data)
                assert parsed is not None and parsed.dialog == "language"

    @rule(action=ACTIONS, arg=ARGS, stale=st.sampled_from(["no", "screen", "version"]))
    def press(self, action: str, arg: str, stale: str) -> None:
        screen = self.shown - 1 if stale == "screen" else self.shown
        pressed = ScreenPress("language", 2 if stale == "version" else 1, screen, action, arg)
        out = language_choice.press(self.state, pressed, _)
        if stale != "no" or self.state is None:
            assert out.state == self.state and out.notice and out.language is None
        if out.language is not None:
            assert self.state is not None and out.language in self.state.offered
        self.state = out.state

    @invariant()
    def stored_and_read_back(self) -> None:
        if self.state is not None:
            assert LanguageState.from_data(self.state.to_data()) == self.state


LanguageMachine.TestCase.settings = SETTINGS
TestLanguageMachine = LanguageMachine.TestCase

REFS = st.sampled_from(["PD-ABC123", "PD-XYZ789"])
ANSWERS = {"name": "Robin", "age_band": "25-34", "languages": ["en"]}


class CaseworkMachine(RuleBasedStateMachine):
    """A coordinator's case work under any presses and typed text, on two referrals."""

    def __init__(self) -> None:
        super().__init__()
        self.state: CaseState | None = None
        self.ctx = coordinating.Context(PROGRAMME, "en", _, ANSWERS)  # type: ignore[arg-type]

    def _apply(self, out: coordinating.Outcome | None) -> None:
        if out is None:  # not the coordinator's text: nothing decided
            return
        if out.notice is not None:  # stale: kind words, nothing done
            assert out.effect is None and not out.changed
        if not out.changed:
            assert out.state == self.state  # "unchanged" really means unchanged
            return
        self.state = out.state

    @rule(action=st.sampled_from(["note", "message", "match", "defer"]), ref=REFS)
    def ask(self, action: str, ref: str) -> None:
        self._apply(coordinating.ask(action, ref, self.ctx))

    @rule(ref=REFS, arg=ARGS)
    def toggle(self, ref: str, arg: str) -> None:
        out = coordinating.toggle(self.state, ref, arg, self.ctx)
        if self.state is None or self.state.pending != "defer" or self.state.reference != ref:
            assert not out.changed and out.notice  # stale: kind words, nothing changes
        self._apply(out)

    @rule(ref=REFS)
    def defer(self, ref: str) -> None:
        out = coordinating.defer(self.state, ref)
        assert isinstance(out.effect, coordinating.Defer) and out.state is None
        if self.state is not None and self.state.reference == ref:
            assert out.effect.resources == self.state.picked
        self._apply(out)

    @rule(text=odd_text)
    def type_text(self, text: str) -> None:
        self._apply(coordinating.typed(self.state, text, self.ctx))

    @rule(ref=REFS, n=st.integers(0, 4))
    def suggest(self, ref: str, n: int) -> None:
        shown = [Suggestion(f"p{i}", f"S{i}" if i % 2 else "", 1, 1, 2) for i in range(n)]
        self._apply(coordinating.suggested(ref, shown, self.ctx))

    @rule(ref=REFS, action=st.sampled_from(["pick", "share", "offer", "?"]), arg=ARGS)
    def choose(self, ref: str, action: str, arg: str) -> None:
        out = coordinating.choose(self.state, ref, action, arg, self.ctx)
        if self.state is None or self.state.pending != "choose" or self.state.reference != ref:
            assert not out.changed and out.notice
        if isinstance(out.effect, coordinating.Offer):
            assert self.state is not None and out.effect.supporter in self.state.suggested
            assert set(out.effect.share) <= {q.id for q in PROGRAMME.form}
        self._apply(out)

    @rule(yes=st.booleans(), private=st.booleans())
    def revoke(self, yes: bool, private: bool) -> None:
        self._apply(coordinating.revoke_answered(self.state, yes, private, self.ctx))

    @rule()
    def revoke_asked(self) -> None:
        self.state = coordinating.revoke_asked("person-1", "supporter", "hiv")

    @invariant()
    def stored_and_read_back(self) -> None:
        if self.state is not None:
            assert CaseState.parse(self.state.to_bytes()) == self.state
            if self.state.pending == "defer":
                ids = [r.id for r in PROGRAMME.signposting]
                assert self.state.picked == [i for i in ids if i in self.state.picked]


CaseworkMachine.TestCase.settings = SETTINGS
TestCaseworkMachine = CaseworkMachine.TestCase


class GroupDialogMachine(RuleBasedStateMachine):
    """A coordinator's new or changed group under any typed text and any choice: never raises,
    every screen it shows carries the number the service gave it (the person's counter) on
    every button, so a press on any older screen is not current, and the draft survives being
    stored."""

    def __init__(self) -> None:
        super().__init__()
        self.draft: group_dialog.Draft | None = None
        self.counter = 0
        self.pressed: list[str] = []  # every button of every screen shown

    def _apply(self, out: group_dialog.Outcome, screen: int) -> None:
        if out.prompts and out.draft is not None:
            for row in out.prompts[-1].buttons:
                for button in row:
                    press = group_screens.parse(button.data)
                    assert press is not None and (press.action, press.target) == ("N", "new")
                    assert press.screen == screen and press.version == 2
            self.counter = screen
            self.pressed += [b.data for row in out.prompts[-1].buttons for b in row]
        if out.save is not None:
            assert out.draft is None and out.save.capacity > 0
        self.draft = out.draft

    @rule(editing=st.booleans(), n=st.integers(0, 3))
    def start(self, editing: bool, n: int) -> None:
        people = [(f"p{i}", f"S{i}") for i in range(n)]
        screen = self.counter + 1
        if editing:
            made = GroupConfig.model_validate(
                {"id": "g1", "name": {"en": "Tuesday circle"}, "language": "en",
                 "setting": "online", "link": "https://meet.example.org/t",
                 "schedule": "every Tuesday 18:30", "first_meeting": "2026-12-01",
                 "capacity": 8}
            )  # fmt: skip
            out = group_dialog.edit(PROGRAMME, "G1", made, people, ["p0"], _, screen=screen)
        else:
            out = group_dialog.start(PROGRAMME, people, _, screen=screen)
        self._apply(out, screen)

    @rule(text=odd_text)
    @precondition(lambda self: self.draft is not None)
    def type_text(self, text: str) -> None:
        assert self.draft is not None
        screen = self.counter + 1
        self._apply(group_dialog.typed(self.draft, text, PROGRAMME, _, screen=screen), screen)

    @rule(choice=st.sampled_from(
        ["cancel", "en", "sv", "online", "in_person", "8", "7", "0", "1", "done", "save",
         "name", "where", "schedule", "capacity", "who", "language", "?"]
    ))  # fmt: skip
    @precondition(lambda self: self.draft is not None)
    def press(self, choice: str) -> None:
        assert self.draft is not None
        screen = self.counter + 1
        out = group_dialog.press(self.draft, choice, PROGRAMME, TODAY, _, screen=screen)
        self._apply(out, screen)

    @invariant()
    def older_screens_are_stale_and_the_draft_is_stored(self) -> None:
        for data in self.pressed:
            press = group_screens.parse(data)
            assert press is not None
            current = engine.is_current("group", press.version, press.screen, self.counter)
            assert current == (press.screen == self.counter)
        if self.draft is not None:
            assert group_dialog.Draft.from_bytes(self.draft.to_bytes()) == self.draft


GroupDialogMachine.TestCase.settings = SETTINGS
TestGroupDialogMachine = GroupDialogMachine.TestCase


@given(
    screen=st.integers(1, 10**9 - 1),
    action=st.sampled_from(sorted(applicants.ACTIONS)),
    applicant=st.from_regex(r"[0-9A-Z]{1,12}", fullmatch=True),
    arg=st.one_of(st.just(""), st.integers(0, 99), st.sampled_from(["talked", "active"])),
)
def test_a_volunteer_cards_button_reads_back_with_its_screen(
    screen: int, action: str, applicant: str, arg: str | int
) -> None:
    data = applicants.button(action, applicant, arg, screen=screen)
    press = applicants.parse(data)
    assert press == applicants.Press(action, applicant, str(arg), 2, screen)
    assert engine.is_current("applicant", press.version, press.screen, screen)
    assert not engine.is_current("applicant", press.version, press.screen, screen + 1)
    old = applicants.parse(applicants.button(action, applicant, arg))  # the release before's
    assert old is not None and (old.version, old.screen) == (1, 0)
    assert engine.is_current("applicant", old.version, old.screen, screen)  # its own checks


NAMES: list[DialogName] = [
    "intake", "survey", "casework", "meeting", "profile", "applicant", "group", "language",
]  # fmt: skip


class ScreenCounterMachine(RuleBasedStateMachine):
    """One person's stack under any dialog starting, showing screens, ending, being pushed and
    popped, and being stored: the row as storage/dialogs.py keeps it (deleted when no frame is
    left) and the counter as screen_counters keeps it (never deleted)."""

    def __init__(self) -> None:
        super().__init__()
        self.state = DialogState()
        self.column = 0  # screen_counters.screens
        self.row: bytes | None = None  # the sealed row's content (None: no row)
        self.shown: set[tuple[DialogName, int]] = set()  # every (dialog, screen) ever shown
        self.highest = 0

    @rule(dialog=st.sampled_from(NAMES), show=st.booleans())
    def put(self, dialog: DialogName, show: bool) -> None:
        if dialog in SUB:
            self.state.push(dialog, "{}", screen=self.state.next_screen if show else None)
        else:
            self.state.put(dialog, "{}", screen=self.state.next_screen if show else None)
        if show:
            self.shown.add((dialog, self.state.screens))

    @rule(dialog=st.sampled_from(NAMES))
    def show(self, dialog: DialogName) -> None:
        if self.state.get(dialog) is not None:
            self.shown.add((dialog, self.state.show(dialog)))

    @rule(dialog=st.sampled_from(NAMES))
    def end(self, dialog: DialogName) -> None:
        if dialog in SUB:
            self.state.pop(dialog)
        else:
            self.state.put(dialog, None)

    @rule()
    def stored_and_read_back(self) -> None:
        """The unit ends and a new one loads the person (storage/dialogs.py's load and save)."""
        self.column = max(self.column, self.state.screens)
        self.row = self.state.to_bytes() if self.state.frames else None
        read = DialogState.from_bytes(self.row) if self.row is not None else DialogState()
        read.screens = max(read.screens, self.column)
        self.state = read

    @rule(dialog=st.sampled_from(NAMES), screen=st.integers(0, 80))
    def press(self, dialog: DialogName, screen: int) -> None:
        """A press on a screen shown before is current only if its frame shows it now."""
        frame = self.state.get(dialog)
        current = self.state.shows(dialog, screen)
        assert current == (frame is not None and frame.screen == screen and screen > 0)
        if (dialog, screen) in self.shown and current:
            later = [n for d, n in self.shown if d == dialog and n > screen]
            assert not later, "an older screen of the dialog matched"

    @invariant()
    def the_counter_never_goes_down_and_every_frame_shows_a_screen_given_out(self) -> None:
        assert self.state.screens >= self.highest
        self.highest = self.state.screens
        numbers = [f.screen for f in self.state.frames if f.screen > 0]
        assert len(numbers) == len(set(numbers))  # no two frames show the same screen
        assert all(n <= self.state.screens for n in numbers)


ScreenCounterMachine.TestCase.settings = SETTINGS
TestScreenCounterMachine = ScreenCounterMachine.TestCase


@given(st.one_of(st.text(max_size=70), st.from_regex(r"[a-z]?[0-9]{0,4}(:[^:]{0,12}){0,4}")))
@settings(max_examples=400, deadline=None)
def test_any_callback_data_is_a_dialogs_press_or_refused(data: str) -> None:
    press = engine.parse(data)
    if press is not None:
        assert press.dialog in DIALOGS and 0 <= press.screen < 10**9 and press.action


@given(
    dialog=st.sampled_from(sorted(DIALOGS)),
    screen=st.integers(0, 10**9 - 1),
    action=st.sampled_from(["o", "L", "R", "pick"]),
    arg=st.one_of(st.just(""), st.integers(0, 99).map(str), st.sampled_from(["sv"])),
)
def test_a_button_of_any_dialog_reads_back_as_made_and_is_current_only_on_its_screen(
    dialog: engine.DialogName, screen: int, action: str, arg: str
) -> None:
    if DIALOGS[dialog].unnumbered:  # numbered by the person's counter: from 1 on
        screen = max(screen, 1)
    press = engine.parse(engine.button(dialog, screen, action, arg))
    assert press == ScreenPress(dialog, DIALOGS[dialog].version, screen, action, arg)
    assert engine.is_current(dialog, press.version, press.screen, screen)
    assert not engine.is_current(dialog, press.version, press.screen, screen + 1)
    assert not engine.is_current(dialog, press.version + 1, press.screen, screen)
