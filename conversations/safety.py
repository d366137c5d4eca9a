"""Safeguarding: noticing when someone may be in danger now, and answering at once.

The phrases come from the programme's config, per language. A match is answered before anything
else with the programme's crisis resources; the referral is marked urgent so the coordinators see
"URGENT" (never the words). Matching is deliberately simple and predictable: case-insensitive,
accent-insensitive, whole words or phrases, in the person's language and the programme's default
language. It will miss things a person would notice, so coordinators still read everything.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from conversations import callbacks
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.prompts import Button, Prompt, bold, esc


def _fold(text: str) -> str:
    """Lower case, no accents, single spaces: 'Jag vill  DÖ' -> 'jag vill do'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s']", " ", plain).split())


@lru_cache(maxsize=256)
def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    folded = [_fold(p) for p in phrases if _fold(p)]
    if not folded:
        return None
    alternatives = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in folded)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def in_crisis(programme: Programme, language: str, text: str) -> bool:
    """Whether `text` contains one of the programme's crisis phrases."""
    phrases = [*programme.crisis.phrases.get(language, [])]
    if language != programme.default_language:
        phrases += programme.crisis.phrases.get(programme.default_language, [])
    pattern = _pattern(tuple(phrases))
    return bool(pattern and pattern.search(_fold(text)))


def crisis_text(programme: Programme, language: str, _: Translate) -> str:
    resources = programme.crisis.resources or programme.emergency
    return "\n\n".join(
        [
            esc(_("We want you to be safe.")),
            esc(
                _(
                    "If you might act on these thoughts, or you are in danger now, please "
                    "get help straight away:"
                )
            ),
            bold(programme.text(resources, language)),
            esc(
                _(
                    "We have told our team that you may need support soon. They will not see what "
                    "you wrote in their group."
                )
            ),
        ]
    )


def crisis_during_form(programme: Programme, language: str, screen: int, _: Translate) -> Prompt:
    """Answered at once mid-form; the person chooses to carry on or stop for now."""
    keyboard = (
        (Button(_("Carry on with the form"), callbacks.draft(screen, "R")),),
        (Button(_("Stop for now"), callbacks.draft(screen, "P")),),
    )
    return Prompt(crisis_text(programme, language, _), keyboard)


def crisis_after_form(programme: Programme, language: str, _: Translate) -> Prompt:
    return Prompt(crisis_text(programme, language, _))


def stopped_for_now(_: Translate) -> Prompt:
    return Prompt(esc(_("Your answers are saved. Come back any time with /start.")))
