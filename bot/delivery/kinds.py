"""The kinds of outbox row: what the delivery worker is asked to send, and how each behaves in
time (see conversations.scheduling)."""

from conversations import scheduling
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

#: What goes to the referrer themselves: held back while they pause messages.
FOR_REFERRER = (NEWS, TO_REFERRER, "session_news")  # (SESSION_NEWS: a meeting's time is set)

CHECKIN = "checkin"  # a referrer still waiting: a short check-in (slots "w0", "w1", ...)
DOOR_OPEN = "door_open"  # a deferred referrer, weeks later: "the door stays open" (slot "door")

#: Check-ins of every kind: what /stop ends and withdrawing the consent drops.
CHECKINS = (CHECKIN, DOOR_OPEN)


def timing(kind: str) -> Timing:
    """How a kind behaves in time: lateness after downtime, quiet hours, at-most-once."""
    if kind in CHECKINS:
        return scheduling.CHECKIN
    if kind in (SESSION_REMINDER, SESSION_REMINDER_REFERRER):
        return scheduling.REMINDER
    if kind == SESSION_LOG:
        return SESSION_LOG_TIMING
    if kind == SESSION_NEWS:
        return scheduling.NEWS
    if kind == NEWS:
        return scheduling.NEWS
    if kind in ("feedback", "closing_report"):  # the person's quiet hours, however late
        return scheduling.CHECKIN
    return scheduling.IMMEDIATE


#: Kinds never sent twice, even when the bot died while sending one.
AT_MOST_ONCE: tuple[str, ...] = (*CHECKINS, "feedback", "closing_report")
AT_MOST_ONCE += ("session_reminder", "session_reminder_referrer", "session_log")  # sessions

# -- peer support (issue #4) ---------------------------------------------------------------------
HANDOVER = "handover"  # a supporter: the need-to-know hand-over, with accept / decline
OFFER_ANSWER = "offer_answer"  # the holder: the supporter accepted or declined (payload)
SESSION_REMINDER = "session_reminder"  # the supporter, before a session (slot "<id>:<i>")
SESSION_REMINDER_REFERRER = "session_reminder_referrer"  # the person, if they asked for it
SESSION_LOG = "session_log"  # the supporter, after a session: happened / did not / a concern
CONCERN = "concern"  # the holder, at once: a supporter logged a concern (never its words)
FEEDBACK = "feedback"  # the person, at the end of support: the short survey
CLOSING_REPORT = "closing_report"  # the supporter, at the end of support
SUPPORT_ENDED = "support_ended"  # the holder: the supporter said support ended (reference only)
CLOSING_RECEIVED = "closing_received"  # the holder: the closing report is in (reference only)

# -- sessions (issue #4, point 3): slots are "<session id>" or "<session id>:<n>" ----------------
SESSION_NEWS = "session_news"  # the person: a time is set ("<id>"), or called off ("<id>:x")
SESSION_PLANNED = "session_planned"  # the supporter: a coordinator planned a meeting
CONCERN_NOTE = "concern_note"  # the holder: the supporter's short note after a concern
#: Every kind about sessions (rendered by bot.delivery.session_delivery).
SESSION_KINDS = (
    SESSION_REMINDER,
    SESSION_REMINDER_REFERRER,
    SESSION_LOG,
    SESSION_NEWS,
    SESSION_PLANNED,
    CONCERN,
    CONCERN_NOTE,
)
#: The session kinds that go to the person themselves (a 403 marks them as blocked).
SESSION_FOR_REFERRER = (SESSION_NEWS, SESSION_REMINDER_REFERRER)
#: The log after a session: however late (it is still worth asking), never twice.
SESSION_LOG_TIMING = Timing(at_most_once=True)
