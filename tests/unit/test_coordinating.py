"""A coordinator's note, message, deferral and hand-over choices as a pure dialog: what each
press and typed text decides, and the older release's states read back."""

from __future__ import annotations

import json
from pathlib import Path

from bot.config_file import load_config
from bot.i18n import load_catalog
from conversations import coordinating, screens
from conversations.coordinating import CaseState, Context, Defer, Offer, Revoke, Write
from conversations.matching import Suggestion

EXAMPLE = load_config(Path(__file__).resolve().parents[2] / "bot" / "example_config.toml")
HIV = EXAMPLE.programme("hiv")
assert HIV is not None
_ = load_catalog().translator("en")
CTX = Context(HIV, "en", _)
REF, OTHER = "PD-ABC123", "PD-XYZ789"
EXPIRED = screens.expired_notice(_)


def test_a_note_is_asked_then_typed_text_is_the_note_and_the_frame_ends() -> None:
    asked = coordinating.ask("note", REF, CTX)
    assert asked.state == CaseState(pending="note", reference=REF)
    assert "Type the note for PD-ABC123" in asked.prompts[0].text
    typed = coordinating.typed(asked.state, "  Called, will ring back \n", CTX)
    assert typed is not None and typed.state is None and typed.changed
    assert typed.effect == Write("note", REF, "Called, will ring back")


def test_typed_text_is_not_the_coordinators_while_nothing_typed_is_asked() -> None:
    assert coordinating.typed(None, "hello", CTX) is None
    choosing = CaseState(pending="choose", reference=REF, suggested=["p1"], names=["Sam"])
    assert coordinating.typed(choosing, "hello", CTX) is None
    removing = coordinating.revoke_asked("person-1", "supporter", "hiv")
    assert coordinating.typed(removing, "yes", CTX) is None
    ticking = CaseState(pending="defer", reference=REF)  # that screen was left: kind words
    left = coordinating.typed(ticking, "hello", CTX)
    assert left is not None and left.state is None and left.effect is None
    assert EXPIRED in left.prompts[0].text


def test_resources_tick_and_untick_for_their_referral_only_then_go_with_the_deferral() -> None:
    assert HIV is not None and len(HIV.signposting) >= 2
    asked = coordinating.ask("defer", REF, CTX)
    assert asked.state == CaseState(pending="defer", reference=REF)
    second = coordinating.toggle(asked.state, REF, "1", CTX)
    first = coordinating.toggle(second.state, REF, "0", CTX)
    assert first.state is not None
    assert first.state.picked == [HIV.signposting[0].id, HIV.signposting[1].id]  # list order
    untick = coordinating.toggle(first.state, REF, "1", CTX)
    assert untick.state is not None and untick.state.picked == [HIV.signposting[0].id]
    for state, ref, arg in (
        (untick.state, OTHER, "0"),  # another referral's screen
        (untick.state, REF, str(len(HIV.signposting))),  # past the directory
        (untick.state, REF, "²"),  # forged
        (None, REF, "0"),  # nothing being deferred
    ):
        stale = coordinating.toggle(state, ref, arg, CTX)
        assert (stale.state, stale.changed, stale.notice) == (state, False, EXPIRED)
    sent = coordinating.defer(untick.state, REF)
    assert sent.state is None and sent.effect == Defer(REF, [HIV.signposting[0].id])
    assert coordinating.defer(untick.state, OTHER).effect == Defer(OTHER, [])


def suggestion(person_id: str, name: str) -> Suggestion:
    return Suggestion(person_id, name, score=1, free=1, capacity=2)


def test_a_supporter_is_picked_what_to_share_ticked_and_the_offer_made() -> None:
    assert HIV is not None
    shown = [suggestion("p1", "Sam"), suggestion("p2", "")]
    listed = coordinating.suggested(REF, shown, CTX)
    assert listed.state is not None and listed.state.suggested == ["p1", "p2"]
    answers = {"name": "Robin", "age_band": "25-34"}
    ctx = Context(HIV, "en", _, answers)  # type: ignore[arg-type]
    assert coordinating.choose(listed.state, REF, "offer", "", ctx).notice == EXPIRED  # none
    picked = coordinating.choose(listed.state, REF, "pick", "1", ctx)
    assert picked.state is not None and picked.state.chosen == 1
    assert "(no name)" in (picked.replace.text if picked.replace else "")
    shareable = {q.id for q in HIV.form if q.id in answers and q.role != "verification"}
    at = str(next(i for i, q in enumerate(HIV.form) if q.id in shareable))
    ticked = coordinating.choose(picked.state, REF, "share", at, ctx)
    assert ticked.state is not None and set(ticked.state.share) ^ set(picked.state.share)
    bad = coordinating.choose(ticked.state, REF, "share", "999", ctx)
    assert (bad.changed, bad.notice, bad.keep_buttons) == (False, EXPIRED, True)
    offered = coordinating.choose(ticked.state, REF, "offer", "", ctx)
    assert offered.state is None
    assert offered.effect == Offer(REF, "p2", "(no name)", ticked.state.share)
    other = coordinating.choose(ticked.state, OTHER, "offer", "", ctx)
    assert (other.state, other.changed, other.effect) == (ticked.state, False, None)


def test_a_removal_waits_for_yes_in_a_private_chat() -> None:
    asked = coordinating.revoke_asked("person-1", "coordinator", "hiv")
    yes = coordinating.revoke_answered(asked, True, True, CTX)
    assert yes.state is None and yes.effect == Revoke("person-1", "coordinator", "hiv")
    no = coordinating.revoke_answered(asked, False, True, CTX)
    assert no.state is None and no.effect is None and no.replace is not None
    for state, private in ((asked, False), (None, True), (CaseState(pending="note"), True)):
        stale = coordinating.revoke_answered(state, True, private, CTX)
        assert (stale.changed, stale.effect, stale.notice) == (False, None, EXPIRED)


def test_the_states_the_older_release_stored_are_read_back() -> None:
    older = {
        b'{"pending": "note", "reference": "PD-ABC123", "picked": []}': ("note", REF),
        b'{"action":"note","reference":"PD-ABC123"}': ("note", REF),
        b'{"pending": "defer", "reference": "PD-ABC123", "picked": ["a"]}': ("defer", REF),
        b'{"pending": "match", "reference": "PD-ABC123"}': ("match", REF),
        json.dumps(
            {
                "pending": "match:offer",
                "reference": REF,
                "suggested": ["p1"],
                "names": ["S"],
                "chosen": 0,
                "share": ["name"],
            }
        ).encode(): ("choose", REF),
        b'{"pending": "revoke:supporter:hiv", "reference": "person-1", "picked": []}': (
            "revoke",
            "person-1",
        ),
    }
    for raw, (pending, reference) in older.items():
        state = CaseState.parse(raw)
        assert state is not None and (state.pending, state.reference) == (pending, reference)
        assert CaseState.parse(state.to_bytes()) == state
    removal = CaseState.parse(b'{"pending": "revoke:supporter:hiv", "reference": "person-1"}')
    assert removal is not None and (removal.role, removal.programme) == ("supporter", "hiv")
    for unreadable in (b"", None, b"not json", b'{"pending": "session:time"}', b"[]"):
        assert CaseState.parse(unreadable) is None
