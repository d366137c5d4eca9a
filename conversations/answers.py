"""Turning what a person typed into an answer, or a kind, specific reason to try again."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from conversations.draft import Answer
from conversations.forms import Programme, Question
from conversations.i18n import Translate

_DATE_ISO = re.compile(r"^(\d{4})[-./ ](\d{1,2})[-./ ](\d{1,2})$")
_DATE_DMY = re.compile(r"^(\d{1,2})[-./ ](\d{1,2})[-./ ](\d{4})$")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


@dataclass(frozen=True)
class Parsed:
    value: Answer = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def clean_text(text: str) -> str:
    """Normalise typed text: NFC, no invisible control marks, no outer spaces."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFC", text)).strip()


def parse_typed(
    programme: Programme, question: Question, text: str, language: str, _: Translate, today: date
) -> Parsed:
    """Parse a typed answer to `question`."""
    text = clean_text(text)
    if not text:
        return Parsed(problem=_("That message looks empty. Please type your answer."))
    match question.kind:
        case "text":
            if len(text) > question.max_length:
                return Parsed(
                    problem=_(
                        "That is a bit long. Please use {limit} characters or fewer. "
                        "You typed {count}."
                    ).format(limit=question.max_length, count=len(text))
                )
            return Parsed(text)
        case "number":
            return _number(question, text, _)
        case "date":
            return _date(question, text, _, today)
        case "single" | "yesno":
            option = _match_label(programme, question, text, language, _)
            if option is not None:
                return Parsed(option)
            return Parsed(problem=_("Please tap one of the buttons above."))
        case "multi":
            return Parsed(problem=_("Please tap the buttons above, then tap Done."))
        case _:
            return Parsed(problem=_("Please tap Continue."))


def _number(question: Question, text: str, _: Translate) -> Parsed:
    assert question.minimum is not None
    assert question.maximum is not None
    digits = text.replace(" ", "")
    if not re.fullmatch(r"\d{1,6}", digits):
        return Parsed(
            problem=_("Please type a number, for example {example}.").format(
                example=question.minimum
            )
        )
    number = int(digits)
    if not question.minimum <= number <= question.maximum:
        return Parsed(
            problem=_("Please type a number from {low} to {high}.").format(
                low=question.minimum, high=question.maximum
            )
        )
    return Parsed(number)


def _date(question: Question, text: str, _: Translate, today: date) -> Parsed:
    parts = None
    if m := _DATE_ISO.match(text):
        parts = (int(m[1]), int(m[2]), int(m[3]))
    elif m := _DATE_DMY.match(text):
        parts = (int(m[3]), int(m[2]), int(m[1]))
    try:
        when = date(*parts) if parts else None
    except ValueError:
        when = None
    if when is None:
        return Parsed(
            problem=_("Please type a date as day/month/year, for example {example}.").format(
                example=today.strftime("%d/%m/%Y")
            )
        )
    if not question.allow_future and when > today:
        return Parsed(problem=_("That date is in the future. Please check it."))
    if question.allow_future and when < today:
        return Parsed(problem=_("That date has passed. Please type today or a later date."))
    return Parsed(when.isoformat())


def yes_no_labels(_: Translate) -> dict[str, str]:
    return {"yes": _("Yes"), "no": _("No")}


def option_label(
    programme: Programme, question: Question, option_id: str, language: str, _: Translate
) -> str:
    if question.kind == "yesno":
        return yes_no_labels(_).get(option_id, option_id)
    option = question.option(option_id)
    return programme.text(option.label, language) if option else option_id


def choice_ids(question: Question) -> list[str]:
    if question.kind == "yesno":
        return ["yes", "no"]
    return [o.id for o in question.options]


def _match_label(
    programme: Programme, question: Question, text: str, language: str, _: Translate
) -> str | None:
    """Accept a typed option label ("yes", "Online") as a tap on that button."""
    wanted = text.casefold()
    for option_id in choice_ids(question):
        if option_label(programme, question, option_id, language, _).casefold() == wanted:
            return option_id
    return None
