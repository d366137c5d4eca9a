"""What a printed card says: a neutral title, a short invitation, how to use the code, the link.

Cards are left on clinic desks and carried in wallets: anyone may see one. So nothing on a card
names a condition, a clinic or a treatment, not even the programme's name; the title is neutral.
Pure: the texts come from the catalog, the link from the programme and source ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conversations.forms import start_payload
from conversations.i18n import Translate

#: Words that out the holder of a card if they show in its link (the programme or source id is
#: part of it). `peerdoor cards` warns when the link contains one.
REVEALING_IN_LINK = (
    "hiv",
    "aids",
    "diabet",
    "insulin",
    "diagnos",
    "positiv",
    "clinic",
    "klinik",
    "mottagning",
    "sexual",
    "cancer",
    "mental",
    "psych",
)


@dataclass(frozen=True)
class CardText:
    title: str
    invitation: str
    how: str
    link: str  # shown as text under the code, and encoded in it


def link(bot_username: str, programme_id: str, source_id: str | None) -> str:
    """The deep link that opens the programme's form and records the source."""
    return f"https://t.me/{bot_username}?start={start_payload(programme_id, source_id)}"


def card_text(
    bot_username: str,
    programme_id: str,
    source_id: str | None,
    _: Translate,
    for_professionals: bool = False,
) -> CardText:
    """``for_professionals``: the card of a source of kind ``professional``, whose link opens
    the professionals' referral form; it speaks to them, as neutrally."""
    if for_professionals:
        return CardText(
            title=_("Refer someone to peer support"),
            invitation=_(
                "For staff and carers: refer someone who agreed to it, in about 3 minutes. "
                "We contact them in the way they choose."
            ),
            how=_("Scan the code with your phone camera, or type the link in your browser."),
            link=link(bot_username, programme_id, source_id),
        )
    return CardText(
        title=_("Someone to talk to"),
        invitation=_(
            "Talk in private with someone who has been where you are. "
            "It is free, and you can stop at any time."
        ),
        how=_("Scan the code with your phone camera, or type the link in your browser."),
        link=link(bot_username, programme_id, source_id),
    )


def revealing_words(text: str) -> list[str]:
    """The words of REVEALING_IN_LINK in ``text``: anywhere in a part of an id, or at the start
    of one for the three-letter ones (so that "hiv-kent" and "hivkent" are caught)."""
    parts = [p for p in re.split(r"[^a-z0-9]+", text.lower()) if p]
    return [
        word
        for word in REVEALING_IN_LINK
        if any((word in p) if len(word) > 3 else p.startswith(word) for p in parts)
    ]
