"""The referral lifecycle: who may do what, from which status, and what it becomes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conversations.lifecycle import ACTIONS, CLOSED, STATUSES, Case, available, decide

ME, OTHER = "me", "other"


def test_claim_wins_only_when_free() -> None:
    free = Case("submitted", None)
    assert decide(free, "claim", ME).status == "claimed"
    assert decide(free, "claim", ME).tell_referrer
    assert decide(Case("claimed", OTHER), "claim", ME).refusal == "taken"


def test_acting_needs_holding() -> None:
    held_by_other = Case("claimed", OTHER)
    for action in ("contacted", "note", "message", "defer", "close", "verify", "unassign"):
        assert decide(held_by_other, action, ME).refusal == "not_held", action  # type: ignore[arg-type]
    assert decide(held_by_other, "take", ME).allowed
    assert decide(Case("claimed", ME), "take", ME).refusal == "done_already"
    assert decide(Case("submitted", None), "take", ME).refusal == "not_taken"


def test_status_rules() -> None:
    assert decide(Case("claimed", ME), "match", ME).refusal == "wrong_status"
    assert decide(Case("assessing", ME), "match", ME).status == "matched"
    assert decide(Case("contacted", ME), "contacted", ME).refusal == "wrong_status"
    assert decide(Case("claimed", ME), "defer", ME).tell_referrer
    assert decide(Case("claimed", ME, verified=True), "verify", ME).refusal == "done_already"
    assert decide(Case("deferred", ME), "close", ME).status == CLOSED


def test_nothing_acts_on_a_closed_referral() -> None:
    for action in ACTIONS:
        assert decide(Case(CLOSED, ME), action, ME).refusal == "closed"
    assert available(Case(CLOSED, ME), ME) == []


@given(
    st.sampled_from(STATUSES),
    st.sampled_from([None, ME, OTHER]),
    st.booleans(),
    st.sampled_from(ACTIONS),
)
def test_decisions_are_consistent(
    status: str, holder: str | None, verified: bool, action: str
) -> None:
    case = Case(status, holder, verified)
    decision = decide(case, action, ME)  # type: ignore[arg-type]
    assert decision.allowed == (decision.refusal is None)
    assert (action in available(case, ME)) == decision.allowed
    if decision.allowed and action not in ("claim", "take"):
        assert holder == ME
    if decision.status is not None:
        assert decision.status in STATUSES


def test_a_deferral_reopens_where_it_was_left() -> None:
    from conversations.lifecycle import ENDED, reopened_status

    assert "deferred" in ENDED and "matched" not in ENDED and "submitted" not in ENDED
    assert reopened_status(Case("deferred", "c1", contacted=True)) == "contacted"
    assert reopened_status(Case("deferred", "c1", contacted=False)) == "claimed"
    assert reopened_status(Case("deferred", None, contacted=True)) == "submitted"
    # from there the holder can assess (and, once in touch, match) again
    assert "assessing" in available(Case("contacted", "c1"), "c1")
    assert "match" in available(Case("contacted", "c1"), "c1")
