"""The kinds of outbox row: what the delivery worker is asked to send."""

NOTICE = "notice"  # the coordinators' group: a new referral
NOTICE_REMINDER = "notice_reminder"  # the group again, while nobody has claimed it
CONTACT_REMINDER = "contact_reminder"  # the holder, while nobody has contacted the person
DETAILS = "details"  # the full referral, to the coordinator who claimed it
NEWS = "news"  # a discreet update for the referrer
TO_REFERRER = "to_referrer"  # a coordinator's message, relayed
TO_HOLDER = "to_holder"  # the referrer's message, relayed
URGENT = "urgent"  # the holder: the person wrote crisis words (never the words themselves)
WITHDRAWN = "withdrawn"  # a holder: the person erased everything (the reference only)

#: What goes to the referrer themselves: held back while they pause messages.
FOR_REFERRER = (NEWS, TO_REFERRER)
