"""The kinds of outbox row, as data: one entry per kind says who receives it, what it waits for
(a time, quiet hours, the person's consent), whether it is sent at most once, and whether it
comes at once when a pause ends. How each renders is in bot.delivery.renderers (one renderer
per kind, checked against this registry by a test). Adding a kind: one entry, one renderer.

The names are stored in the database: never change their string values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from conversations import scheduling
from conversations.referring import Task
from conversations.scheduling import Timing

NOTICE = "notice"  # the coordinators' group: a new referral
NOTICE_REMINDER = "notice_reminder"  # the group again, while nobody has claimed it
CONTACT_REMINDER = "contact_reminder"  # the holder, while nobody has contacted the person
DETAILS = "details"  # the full referral, to the coordinator who claimed it
NEWS = "news"  # a discreet update for the referrer
TO_REFERRER = "to_referrer"  # a coordinator's message, relayed
TO_HOLDER = "to_holder"  # the referrer's message, relayed
URGENT = "urgent"  # the holder: the person wrote crisis words (never the words themselves)
WITHDRAWN = "withdrawn"  # a holder: the person erased everything (the reference only)
REOPENED = "reopened"  # the holder: the person of a deferral asked for support again
HANDED_BACK = "handed_back"  # the coordinators: back in the queue, its holder lost the role
CHECKIN = "checkin"  # a referrer still waiting: a short check-in (slots "w0", "w1", ...)
DOOR_OPEN = "door_open"  # a deferred referrer, weeks later: "the door stays open" (slot "door")

# -- peer support (issue #4) ---------------------------------------------------------------------
HANDOVER = "handover"  # a supporter: the need-to-know hand-over, with accept / decline
OFFER_ANSWER = "offer_answer"  # the holder: the supporter accepted or declined (payload)
SESSION_REMINDER = "session_reminder"  # the supporter, before a session (slot "<id>:<i>")
SESSION_REMINDER_REFERRER = "session_reminder_referrer"  # the person, if they asked for it
SESSION_LOG = "session_log"  # the supporter, after a session: happened / did not / a concern
CONCERN = "concern"  # the holder, at once: a supporter logged a concern (never its words)
FEEDBACK = "feedback"  # the person, at the end of support: the short survey
CLOSING_REPORT = "closing_report"  # the supporter, at the end of support
SUPPORTER_WELCOME = "supporter_welcome"  # a volunteer made active: welcome, and /profile
NEW_APPLICANT = "new_applicant"  # each coordinator: someone applied to volunteer (no name)
SUPPORT_ENDED = "support_ended"  # the holder: the supporter said support ended (reference only)
CLOSING_RECEIVED = "closing_received"  # the holder: the closing report is in (reference only)

# -- sessions (issue #4, point 3): slots are "<session id>" or "<session id>:<n>" ----------------
SESSION_NEWS = "session_news"  # the person: a time is set ("<id>"), or called off ("<id>:x")
SESSION_PLANNED = "session_planned"  # the supporter: a coordinator planned a meeting
CONCERN_NOTE = "concern_note"  # the holder: the supporter's short note after a concern

# -- ways in (issue 13) --------------------------------------------------------------------------
PRO_UPDATE = "pro_update"  # the professional who referred: "received" / "contact made" (payload)
# -- supporter and person through the bot (issue #15) --------------------------------------------
TALK_TO_SUPPORTER = "talk_to_supporter"  # the supporter: the person's message, relayed
TALK_TO_PERSON = "talk_to_person"  # the person: their supporter's message, relayed
TALK_STOPPED_SUPPORTER = "talk_stopped_supporter"  # the supporter: the person stopped them
TALK_STOPPED_PERSON = "talk_stopped_person"  # the person: their supporter stopped them
AGREEMENT = "agreement"  # the person: the confidentiality agreement to read and answer
AGREEMENT_ANSWER = "agreement_answer"  # the holder: accepted, declined, or "talk about it"
HOW_IS_IT_GOING = "how_is_it_going"  # the person, after two meetings (slot "<engagement id>")
CHANGE_ASKED = "change_asked"  # the holder: the person would like a different supporter
MISSED_TWICE = "missed_twice"  # the holder: two meetings in a row did not happen
GROUP_INVITE = "group_invite"  # the person: a place in a group, or its waiting list (payload)
GROUP_ANSWER = "group_answer"  # the holder: joined, waiting, not now, left (payload)
GROUP_REMINDER = "group_reminder"  # a member who asked, before a meeting (slot "<id>:<i>")
GROUP_LINK = "group_link"  # each member of an online group, shortly before (slot "<id>")
GROUP_CHANGE = "group_change"  # each member, at once: a meeting moved or cancelled (payload)
GROUP_CONCERN = "group_concern"  # the holder, at once: a facilitator's concern (payload)
GROUP_ENDED = "group_ended"  # members and those waiting, at once: the group closed (payload)
GROUP_DOOR = "group_door"  # a member who missed two meetings in a row (slot "door:<meeting>")

#: Who receives a kind. "coordinators": the programme's group, else each coordinator;
#: "holder": the coordinator holding the referral (nobody holding it: nothing is sent);
#: "holder_or_coordinators": the holder, else each coordinator's private chat (never a group);
#: "referrer": the person who sent the referral (held while they pause, dropped while they block
#: the bot); "supporter": the supporter the row is about (found by its renderer); "recipient":
#: the person the row names, with no referral left to be about (it was erased); "professional":
#: the professional who made the referral for the person (the row names them).
Audience = Literal[
    "coordinators",
    "holder",
    "holder_or_coordinators",
    "referrer",
    "supporter",
    "recipient",
    "professional",
]
#: A consent the referrer gave (conversations.preferences); without it the row is dropped.
Consent = Literal["checkins", "feedback"]

#: The log after a session: however late (it is still worth asking), never twice.
SESSION_LOG_TIMING = Timing(at_most_once=True)


@dataclass(frozen=True)
class Kind:
    """One kind of outbox row.

    ``timing``: lateness after downtime, quiet hours (the programme's), at most once (never
    sent again after an ambiguous send) -- see conversations.scheduling.
    ``scheduled``: due at a time set in advance (a slot of the calendar), not at once.
    ``consent``: the referrer's consent it waits for; withdrawn, the row is dropped.
    ``on_resume``: for the referrer, postponed by a pause and due at once when it ends early
    (the news they missed; rows scheduled for a time keep their time).
    ``task``: for the referrer, when they have no Telegram (referred by a professional, taken
    by phone): the holder (else each coordinator, privately) is asked to call them about this
    instead (conversations.referring.task_for_holder). Every "referrer" kind names one.
    """

    name: str
    to: Audience
    timing: Timing = scheduling.IMMEDIATE
    scheduled: bool = False
    consent: Consent | None = None
    on_resume: bool = False
    task: Task | None = None

    @property
    def at_most_once(self) -> bool:
        return self.timing.at_most_once


def _registry(*kinds: Kind) -> Mapping[str, Kind]:
    registry = {k.name: k for k in kinds}
    if len(registry) != len(kinds):
        raise ValueError("an outbox kind has two entries")
    return registry


#: Every kind the delivery worker sends.
KINDS: Mapping[str, Kind] = _registry(
    # -- a referral and its holder ---------------------------------------------------------------
    Kind(NOTICE, "coordinators"),
    Kind(NOTICE_REMINDER, "coordinators", scheduled=True),
    Kind(CONTACT_REMINDER, "holder", scheduled=True),
    Kind(DETAILS, "holder"),
    Kind(URGENT, "holder"),
    Kind(TO_HOLDER, "holder"),
    Kind(WITHDRAWN, "recipient"),
    Kind(REOPENED, "holder"),
    Kind(HANDED_BACK, "coordinators"),
    # -- the referrer ----------------------------------------------------------------------------
    Kind(NEWS, "referrer", scheduling.NEWS, on_resume=True, task="news"),
    Kind(TO_REFERRER, "referrer", on_resume=True, task="message"),
    Kind(
        CHECKIN, "referrer", scheduling.CHECKIN, scheduled=True, consent="checkins", task="checkin"
    ),
    Kind(
        DOOR_OPEN, "referrer", scheduling.CHECKIN, scheduled=True, consent="checkins", task="door"
    ),
    # the person's quiet hours, however late; never twice; at once when a pause ends early
    Kind(
        FEEDBACK,
        "referrer",
        scheduling.CHECKIN,
        consent="feedback",
        on_resume=True,
        task="feedback",
    ),
    # -- peer support ----------------------------------------------------------------------------
    Kind(HANDOVER, "supporter"),
    Kind(OFFER_ANSWER, "holder"),
    Kind(CLOSING_REPORT, "supporter", scheduling.CHECKIN),
    Kind(SUPPORT_ENDED, "holder"),
    Kind(CLOSING_RECEIVED, "holder"),
    Kind(SUPPORTER_WELCOME, "recipient"),
    Kind(NEW_APPLICANT, "recipient"),
    # -- sessions --------------------------------------------------------------------------------
    Kind(SESSION_REMINDER, "supporter", scheduling.REMINDER, scheduled=True),
    Kind(
        SESSION_REMINDER_REFERRER,
        "referrer",
        scheduling.REMINDER,
        scheduled=True,
        consent="checkins",
        task="reminder",
    ),
    Kind(SESSION_LOG, "supporter", SESSION_LOG_TIMING, scheduled=True),
    Kind(SESSION_NEWS, "referrer", scheduling.NEWS, on_resume=True, task="meeting"),
    Kind(SESSION_PLANNED, "supporter"),
    Kind(CONCERN, "holder_or_coordinators"),
    Kind(CONCERN_NOTE, "holder_or_coordinators"),
    # -- ways in ---------------------------------------------------------------------------------
    Kind(PRO_UPDATE, "professional", scheduling.NEWS),
    # -- supporter and person through the bot ----------------------------------------------------
    Kind(TALK_TO_SUPPORTER, "supporter"),
    Kind(TALK_TO_PERSON, "referrer", on_resume=True, task="talk"),
    Kind(TALK_STOPPED_SUPPORTER, "supporter"),
    Kind(TALK_STOPPED_PERSON, "referrer", on_resume=True, task="talk_stopped"),
    Kind(AGREEMENT, "referrer", scheduling.NEWS, on_resume=True, task="agreement"),
    Kind(AGREEMENT_ANSWER, "holder"),
    Kind(
        HOW_IS_IT_GOING,
        "referrer",
        scheduling.CHECKIN,
        scheduled=True,
        consent="feedback",
        task="going",
    ),
    Kind(CHANGE_ASKED, "holder_or_coordinators"),
    Kind(MISSED_TWICE, "holder_or_coordinators"),
    Kind(GROUP_INVITE, "referrer", scheduling.NEWS, on_resume=True, task="group"),
    Kind(GROUP_ANSWER, "holder"),
    Kind(GROUP_REMINDER, "referrer", scheduling.REMINDER, scheduled=True, task="group_meeting"),
    Kind(GROUP_LINK, "referrer", scheduling.REMINDER, scheduled=True, task="group_link"),
    Kind(GROUP_CHANGE, "referrer", scheduling.NEWS, on_resume=True, task="group_meeting"),
    Kind(GROUP_CONCERN, "holder_or_coordinators"),
    Kind(GROUP_ENDED, "referrer", scheduling.NEWS, on_resume=True, task="group"),
    Kind(
        GROUP_DOOR, "referrer", scheduling.CHECKIN, scheduled=True, consent="checkins", task="door"
    ),
)


def kind(name: str) -> Kind | None:
    return KINDS.get(name)


def timing(name: str) -> Timing:
    """How a kind behaves in time: lateness after downtime, quiet hours, at-most-once."""
    found = KINDS.get(name)
    return found.timing if found is not None else scheduling.IMMEDIATE


def _names(**where: object) -> tuple[str, ...]:
    """The kinds whose entries have these values, in registry order."""
    return tuple(
        k.name for k in KINDS.values() if all(getattr(k, a) == v for a, v in where.items())
    )


#: Kinds never sent twice, even when the bot died while sending one.
AT_MOST_ONCE = _names(at_most_once=True)
#: What goes to the referrer themselves (a 403 on one marks them as having blocked the bot).
REFERRER_KINDS = _names(to="referrer")
#: The referrer's rows due at once when a pause ends early (bot.services.intake, on resume).
FOR_REFERRER = _names(on_resume=True)
#: What /stop ends and withdrawing the check-ins consent drops: check-ins of every kind and the
#: person's meeting reminders.
CHECKINS_CONSENT = _names(consent="checkins")
