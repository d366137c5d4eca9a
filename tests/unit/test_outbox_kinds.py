"""The outbox kinds as data: the registry, its renderers, the groups read from it, and the
adapter's translation of Telegram's errors into delivery's own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.delivery import kinds, port
from bot.delivery.renderers import RENDERERS
from bot.telegram.messenger import translated_errors
from conversations import scheduling

#: The names stored in databases made by earlier releases: they must keep meaning the same.
STORED = {
    "notice", "notice_reminder", "contact_reminder", "details", "news", "to_referrer",
    "to_holder", "urgent", "withdrawn", "reopened", "handed_back", "checkin", "door_open",
    "handover", "offer_answer",
    "session_reminder", "session_reminder_referrer", "session_log", "concern", "feedback",
    "closing_report", "support_ended", "closing_received", "session_news", "session_planned",
    "concern_note", "supporter_welcome", "new_applicant", "pro_update",
    "talk_to_supporter", "talk_to_person", "agreement", "agreement_answer",
    "how_is_it_going", "change_asked", "missed_twice",
    "talk_stopped_supporter", "talk_stopped_person",
    "group_invite", "group_answer", "group_reminder", "group_link",
    "group_change", "group_door", "group_concern", "group_ended",
}  # fmt: skip


def test_every_kind_has_one_entry_and_one_renderer() -> None:
    assert set(kinds.KINDS) == STORED
    assert set(RENDERERS) == set(kinds.KINDS)
    assert all(name == entry.name for name, entry in kinds.KINDS.items())


def test_the_groups_read_from_the_registry_are_the_ones_written_out_before() -> None:
    """Before the registry these were hand-written tuples; the same kinds, in any order."""
    assert set(kinds.AT_MOST_ONCE) == {
        "checkin", "door_open", "feedback", "closing_report",
        "session_reminder", "session_reminder_referrer", "session_log", "how_is_it_going",
        "group_reminder", "group_link", "group_door",
    }  # fmt: skip
    assert set(kinds.FOR_REFERRER) == {
        "news", "to_referrer", "session_news", "feedback", "talk_to_person", "agreement",
        "talk_stopped_person",
        "group_invite", "group_change", "group_ended",
    }  # fmt: skip
    assert set(kinds.REFERRER_KINDS) == {
        "news", "to_referrer", "session_news", "checkin", "door_open",
        "session_reminder_referrer", "feedback", "talk_to_person", "agreement",
        "how_is_it_going", "talk_stopped_person", "group_invite", "group_reminder",
        "group_link", "group_change", "group_door", "group_ended",
    }  # fmt: skip
    assert set(kinds.CHECKINS_CONSENT) == {
        "checkin", "door_open", "session_reminder_referrer", "group_door",
    }  # fmt: skip


def test_timing_per_kind() -> None:
    assert kinds.timing(kinds.NOTICE) == scheduling.IMMEDIATE
    assert kinds.timing(kinds.NEWS) == scheduling.NEWS
    assert kinds.timing(kinds.FEEDBACK) == scheduling.CHECKIN  # quiet hours, however late
    assert kinds.timing(kinds.CLOSING_REPORT) == scheduling.CHECKIN
    assert kinds.timing(kinds.SESSION_REMINDER_REFERRER) == scheduling.REMINDER
    assert kinds.timing("no_such_kind") == scheduling.IMMEDIATE
    # groups: news waits out quiet hours; reminders and the link are for a moment, at most once
    assert kinds.timing(kinds.GROUP_INVITE) == scheduling.NEWS
    assert kinds.timing(kinds.GROUP_CHANGE) == scheduling.NEWS
    assert kinds.timing(kinds.GROUP_REMINDER) == scheduling.REMINDER
    assert kinds.timing(kinds.GROUP_LINK) == scheduling.REMINDER
    assert kinds.timing(kinds.GROUP_DOOR) == scheduling.CHECKIN
    # what waits for a consent goes to the referrer, whose consent it is
    assert all(k.to == "referrer" for k in kinds.KINDS.values() if k.consent is not None)
    # what comes at once when a pause ends goes to the referrer, and was not set for a time
    resumed = [k for k in kinds.KINDS.values() if k.on_resume]
    assert resumed and all(k.to == "referrer" and not k.scheduled for k in resumed)


@pytest.mark.parametrize(
    ("raised", "expected", "code"),
    [
        (RetryAfter(timedelta(seconds=7)), port.RetryLater, "flood"),
        (Forbidden("Forbidden: bot was blocked by the user"), port.Blocked, "blocked"),
        (BadRequest("Chat not found: details"), port.Rejected, "rejected"),
        (TimedOut(), port.Unreachable, "timedout"),
        (NetworkError("connection reset"), port.Unreachable, "networkerror"),
    ],
)
def test_the_adapter_turns_telegram_errors_into_delivery_errors(
    raised: Exception, expected: type[port.SendFailed], code: str
) -> None:
    with pytest.raises(expected) as caught, translated_errors():
        raise raised
    failed = caught.value
    assert failed.code == code
    assert failed.__cause__ is raised
    if isinstance(failed, port.RetryLater):
        assert failed.seconds == 7.0
    if isinstance(failed, port.Rejected):
        assert failed.reason == "Chat not found"  # Telegram's words, cut short
    if isinstance(failed, port.Unreachable):
        assert failed.timed_out == isinstance(raised, TimedOut)  # it may have arrived


def test_other_telegram_errors_go_up_unchanged() -> None:
    with pytest.raises(Conflict), translated_errors():
        raise Conflict("another bot instance is polling")
