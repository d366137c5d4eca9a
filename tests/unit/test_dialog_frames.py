"""The frames of a person's dialog stack: their own frame per dialog, layered, converted from
the older release's shared "staff" frame, and sub-dialogs pushed and popped."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.dialogs import LAYER, STAFF, SUB, DialogName, DialogState


def main_state(*frames: tuple[str, str]) -> DialogState:
    """A stack as the release with the one "staff" frame wrote it, read by this one."""
    raw = {"frames": [{"dialog": d, "version": 1, "data": data} for d, data in frames]}
    return DialogState.from_bytes(json.dumps(raw).encode())


@pytest.mark.parametrize(
    ("data", "dialog", "now"),
    [
        (
            '{"pending": "session:time", "engagement": "e1", "day": "2026-12-03"}',
            "meeting",
            '{"pending": "session:time", "engagement": "e1", "day": "2026-12-03"}',
        ),
        ('{"pending": "profile:area"}', "profile", '{"asking": "area"}'),
        (
            '{"pending": "note", "reference": "PD-ABC123", "picked": []}',
            "casework",
            '{"pending": "note", "reference": "PD-ABC123", "picked": []}',
        ),
        ('{"pending": "match:offer", "reference": "PD-ABC123"}', "casework", None),
        ('{"action":"note","reference":"PD-ABC123"}', "casework", None),
        ("not json", "casework", "not json"),
    ],
)
def test_the_older_staff_frame_becomes_the_frame_of_its_own_dialog(
    data: str, dialog: str, now: str | None
) -> None:
    state = main_state(("intake", "draft"), ("staff", data))
    assert [f.dialog for f in state.frames] == ["intake", dialog]
    found = state.get(dialog)  # type: ignore[arg-type]
    assert found is not None
    assert found.data == (data if now is None else now)
    again = DialogState.from_bytes(state.to_bytes())  # written back: read the same
    assert again == state


def test_a_member_of_staffs_frame_sits_above_a_survey_and_ends_their_other_one() -> None:
    state = DialogState()
    state.put("casework", "note")
    state.put("survey", "s")  # a survey arrives while a note is asked: the note stays on top
    assert [f.dialog for f in state.frames] == ["survey", "casework"]
    state.put("meeting", "plan")  # planning a meeting ends the note (one at a time)
    assert [f.dialog for f in state.frames] == ["survey", "meeting"]
    state.put("intake", "draft")
    assert [f.dialog for f in state.frames] == ["survey", "intake", "meeting"]
    state.put("meeting", "plan2")  # a change keeps its place
    assert [f.dialog for f in state.frames] == ["survey", "intake", "meeting"]
    assert state.top is not None and state.top.data == "plan2"
    state.put("meeting", None)
    assert state.top is not None and state.top.dialog == "intake"


def test_a_sub_dialog_is_pushed_on_top_and_popped_back_to_where_the_person_was() -> None:
    state = DialogState()
    state.put("intake", "draft")
    state.put("profile", '{"asking": "area"}')
    state.push("language", "{}")
    assert state.top is not None and state.top.dialog == "language"
    state.put("casework", "note")  # started meanwhile: under the sub-dialog
    assert [f.dialog for f in state.frames] == ["intake", "casework", "language"]
    back = state.pop("language")
    assert back is not None and back.dialog == "casework"
    assert state.pop("language") == state.top  # popping what is not there changes nothing
    assert [f.dialog for f in state.frames] == ["intake", "casework"]


NAMES = st.sampled_from(["intake", "survey", "casework", "meeting", "profile", "language"])
OPS = st.lists(
    st.tuples(st.sampled_from(["put", "end", "push", "pop"]), NAMES, st.text(max_size=5)),
    max_size=30,
)


@given(OPS)
def test_any_changes_keep_the_stack_layered_with_one_frame_per_dialog(
    ops: list[tuple[str, DialogName, str]],
) -> None:
    state = DialogState()
    for op, dialog, data in ops:
        if op == "put":
            state.put(dialog, data)
        elif op == "end":
            state.put(dialog, None)
        elif op == "push" and dialog not in SUB:
            with pytest.raises(ValueError, match="not a sub-dialog"):
                state.push(dialog, data)
        elif op == "push":
            state.push(dialog, data)
        else:
            state.pop(dialog)
        names = [f.dialog for f in state.frames]
        assert len(names) == len(set(names))  # at most one frame per dialog
        assert len([n for n in names if n in STAFF]) <= 1  # one staff dialog at a time
        if op == "put":
            found = state.get(dialog)
            assert found is not None and found.data == data
        if op in ("end", "pop"):
            assert state.get(dialog) is None
        layers = [LAYER[n] for n in names]
        assert layers == sorted(layers)  # bottom to top: form and survey, staff, sub-dialogs
        assert DialogState.from_bytes(state.to_bytes()) == state
