"""The initial assessment (issue #15), asked on the named-questionnaire machine: which of a
programme's questionnaires is its assessment, what the holder reads when it is saved or refused,
and how it shows in the referral. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from conversations import surveys
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.prompts import Prompt, bold, esc


def name_of(programme: Programme) -> str | None:
    """The programme's assessment questionnaire (the first with purpose "assessment")."""
    return next(
        (n for n, q in programme.questionnaires.items() if q.purpose == "assessment"), None
    )


def outcome_label(code: str, _: Translate) -> str:
    return {
        "match": _("match with a peer supporter"),
        "group": _("a group"),
        "defer": _("defer, with signposting"),
        "not_suitable": _("not suitable for peer support"),
    }.get(code, code)


def readable(
    programme: Programme, name: str, answers: dict[str, Any], lang: str, _: Translate
) -> list[tuple[str, str, str]]:
    """(question id, question, answer) in the questionnaire's order, as the holder reads them."""
    found = programme.questionnaires.get(name)
    view = programme.model_copy(update={"feedback": found.form if found else []})
    return surveys.readable(view, "feedback", answers, lang, _)


def section(
    programme: Programme,
    entries: list[tuple[datetime, str, dict[str, Any]]],
    lang: str,
    _: Translate,
) -> str:
    """The referral's assessments (when, outcome, answers), for its holder."""
    name = name_of(programme)
    parts = []
    zone = ZoneInfo(programme.timezone)
    for at, outcome, answers in entries:
        head = bold(
            _("Assessment, {when}: {outcome}").format(
                when=at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                outcome=outcome_label(outcome, _),
            )
        )
        lines = [
            f"{bold(q)}\n{esc(a)}"
            for qid, q, a in (readable(programme, name, answers, lang, _) if name else [])
            if qid != "outcome"
        ]
        parts.append("\n".join([head, *lines]))
    return "\n\n".join(parts)


def saved(reference: str, outcome: str, _: Translate) -> Prompt:
    return Prompt(
        esc(
            _("The assessment of {reference} is saved. Outcome: {outcome}.").format(
                reference=reference, outcome=outcome_label(outcome, _)
            )
        )
    )


def refused(_: Translate) -> Prompt:
    return Prompt(
        esc(
            _(
                "You can fill in an assessment only for a referral you hold, when it is at "
                "Assessing, in a programme that has one."
            )
        )
    )


def busy(_: Translate) -> Prompt:
    return Prompt(esc(_("Please finish or cancel the form you have open first (/cancel).")))
