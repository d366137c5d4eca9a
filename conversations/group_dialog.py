"""A coordinator makes a new peer support group in the bot: name, language, online or a place,
the schedule, the number of places, who runs it, then Save.

A pure step, `(draft, event) -> outcome`, like the meeting planner: the draft lives in the
coordinator's staff frame (sealed), typed answers and presses come in as events, and the outcome
says what to show and whether to save. No I/O and no clock: "today" is passed in. Buttons carry
``u:N:new:<choice>`` (a language code, a setting, a number of places, a supporter's position),
never anything typed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from conversations.forms import Programme
from conversations.group_schedule import MAX_CAPACITY, GroupConfig, days, parse_rule
from conversations.group_screens import data
from conversations.i18n import LANGUAGE_NAMES, Translate
from conversations.prompts import Button, Prompt, bold, esc, italic, rows

PENDING = "group:new"
NAME_MAX = 60
WHERE_MAX = 200
CAPACITIES = (6, 8, 10, 12, 15, 20)
_LINK = re.compile(r"^https://\S{4,300}$")
Step = Literal["name", "language", "setting", "where", "schedule", "capacity", "who", "confirm"]


class Draft(BaseModel):
    """A new group being described (sealed in the coordinator's staff frame)."""

    model_config = ConfigDict(extra="ignore")

    programme: str
    step: Step = "name"
    name: str = ""
    language: str = ""
    setting: str = ""
    where: str = ""
    schedule: str = ""
    capacity: int = 0
    supporters: list[str] = []  # the programme's supporters, as offered (person ids)
    names: list[str] = []  # their names, as offered
    chosen: list[int] = []  # positions in ``supporters``
    editing: str = ""  # the group being changed (its code); empty for a new one
    first: str = ""  # a changed group's first meeting (ISO date): its rhythm stays

    def to_bytes(self) -> bytes:
        return json.dumps({"pending": PENDING, **self.model_dump()}).encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Draft | None:
        try:
            loaded = json.loads(raw) if raw else None
        except ValueError:
            return None
        if not isinstance(loaded, dict) or loaded.get("pending") != PENDING:
            return None
        return cls.model_validate(loaded)


@dataclass
class Outcome:
    draft: Draft | None  # None: the dialog is over
    prompts: list[Prompt] = field(default_factory=list)
    notice: str | None = None
    save: GroupConfig | None = None  # Save pressed: the group as it will be stored


def start(programme: Programme, supporters: list[tuple[str, str]], _: Translate) -> Outcome:
    """(person id, name) of the programme's supporters, who may run the group."""
    draft = Draft(
        programme=programme.id,
        supporters=[s for s, _n in supporters],
        names=[n for _s, n in supporters],
    )
    return Outcome(draft, [_ask(draft, programme, _)])


def edit(
    programme: Programme,
    group_id: str,
    group: GroupConfig,
    supporters: list[tuple[str, str]],
    running: list[str],
    _: Translate,
) -> Outcome:
    """Change a group made in the bot: its name, place or link, places, who runs it. (When and
    in which language it meets stay: members planned around them.)"""
    ids = [s for s, _n in supporters]
    draft = Draft(
        programme=programme.id,
        step="confirm",
        name=group.name.get(programme.default_language) or next(iter(group.name.values())),
        language=group.language,
        setting=group.setting,
        where=group.link or (group.venue or {}).get(programme.default_language, ""),
        schedule=group.schedule,
        capacity=group.capacity,
        supporters=ids,
        names=[n for _s, n in supporters],
        chosen=[ids.index(p) for p in running if p in ids],
        editing=group_id,
        first=group.first_meeting.isoformat(),
    )
    return Outcome(draft, [_ask(draft, programme, _)])


def _next(draft: Draft, step: Step) -> None:
    """The step after an answer: back to the summary when changing a group."""
    draft.step = "confirm" if draft.editing else step


def typed(draft: Draft, text: str, programme: Programme, _: Translate) -> Outcome:
    text = " ".join(text.split())
    if draft.step == "name":
        if not 1 <= len(text) <= NAME_MAX:
            return Outcome(draft, notice=_("Please keep the name short (up to 60 letters)."))
        draft.name = text
        if draft.editing:
            draft.step = "confirm"
        elif len(programme.languages) == 1:
            draft.language = programme.languages[0]
            draft.step = "setting"
        else:
            draft.step = "language"
    elif draft.step == "where":
        if draft.setting == "online" and not _LINK.match(text):
            return Outcome(draft, [_ask(draft, programme, _, again=True)])
        if not 1 <= len(text) <= WHERE_MAX:
            return Outcome(draft, [_ask(draft, programme, _, again=True)])
        draft.where = text
        _next(draft, "schedule")
    elif draft.step == "schedule":
        if parse_rule(text) is None:
            return Outcome(draft, [_ask(draft, programme, _, again=True)])
        draft.schedule = text
        draft.step = "capacity"
    else:
        return Outcome(draft, [_ask(draft, programme, _)])
    return Outcome(draft, [_ask(draft, programme, _)])


def press(draft: Draft, choice: str, programme: Programme, today: date, _: Translate) -> Outcome:
    if choice == "cancel":
        if draft.editing:
            return Outcome(None, [Prompt(esc(_("Nothing changed.")))])
        return Outcome(None, [Prompt(esc(_("No group made.")))])
    if draft.step == "language" and choice in programme.languages:
        draft.language = choice
        draft.step = "setting"
    elif draft.step == "setting" and choice in ("online", "in_person"):
        draft.setting = choice
        draft.step = "where"
    elif draft.step == "capacity" and choice.isdigit() and int(choice) in CAPACITIES:
        draft.capacity = int(choice)
        _next(draft, "who")
    elif draft.step == "who" and choice.isdigit() and int(choice) < len(draft.supporters):
        draft.chosen = sorted(set(draft.chosen) ^ {int(choice)})
    elif draft.step == "who" and choice == "done":
        draft.step = "confirm"
    elif (
        draft.step == "confirm"
        and draft.editing
        and choice in ("name", "where", "capacity", "who")
    ):
        draft.step = choice  # type: ignore[assignment]
    elif draft.step == "confirm" and choice == "save":
        return Outcome(None, save=as_config(draft, programme, today))
    else:
        return Outcome(draft, notice=_("This button has expired. Please use the newest message."))
    return Outcome(draft, [_ask(draft, programme, _)])


def first_day(schedule: str, today: date) -> date:
    """The first day the schedule meets, from today."""
    rule = parse_rule(schedule)
    assert rule is not None
    return days(rule, today, today + timedelta(days=62))[0]


def as_config(draft: Draft, programme: Programme, today: date) -> GroupConfig:
    texts = dict.fromkeys(programme.languages, draft.name)
    where = dict.fromkeys(programme.languages, draft.where)
    return GroupConfig(
        id="new",  # the stored group's own code is its id; this one is never shown
        name=texts,
        language=draft.language,
        setting="online" if draft.setting == "online" else "in_person",
        venue=where if draft.setting == "in_person" else None,
        link=(draft.where or None) if draft.setting == "online" else None,
        schedule=draft.schedule,
        first_meeting=(
            date.fromisoformat(draft.first) if draft.first else first_day(draft.schedule, today)
        ),
        capacity=min(draft.capacity, MAX_CAPACITY),
    )


def _cancel(_: Translate) -> tuple[Button, ...]:
    return (Button(_("Cancel"), data("N", "new", "cancel")),)


def _ask(draft: Draft, programme: Programme, _: Translate, *, again: bool = False) -> Prompt:
    step = draft.step
    if step == "name":
        return Prompt(
            esc(_("New group. What is it called?"))
            + "\n"
            + italic(_("Keep it neutral: members may see it on their screen.")),
            (_cancel(_),),
        )
    if step == "language":
        buttons = [
            Button(LANGUAGE_NAMES.get(lang, lang), data("N", "new", lang))
            for lang in programme.languages
        ]
        return Prompt(esc(_("Which language does it meet in?")), (*rows(buttons, 2), _cancel(_)))
    if step == "setting":
        return Prompt(
            esc(_("Does it meet online or in person?")),
            (
                (
                    Button(_("Online"), data("N", "new", "online")),
                    Button(_("In person"), data("N", "new", "in_person")),
                ),
                _cancel(_),
            ),
        )
    if step == "where":
        ask = (
            _("Type the meeting link (it starts with https://).")
            if draft.setting == "online"
            else _("Where does it meet? Type the place and the street.")
        )
        sorry = _("I could not use that.") + " " if again else ""
        return Prompt(esc(sorry + ask), (_cancel(_),))
    if step == "schedule":
        lines = [
            esc(_("I could not read that.") if again else _("When does it meet?")),
            italic(
                _("Write it like: every Tuesday 18:30, every second Tuesday 18:30, or first "
                  "Monday of the month 18:00.")
            ),
        ]  # fmt: skip
        return Prompt("\n".join(lines), (_cancel(_),))
    if step == "capacity":
        buttons = [Button(str(n), data("N", "new", str(n))) for n in CAPACITIES]
        return Prompt(esc(_("How many places?")), (*rows(buttons, 3), _cancel(_)))
    if step == "who":
        ticks = [
            Button(("☑ " if i in draft.chosen else "☐ ") + (name or _("(no name)")),
                   data("N", "new", str(i)))
            for i, name in enumerate(draft.names)
        ]  # fmt: skip
        text = esc(_("Who runs it? Tick the peer supporters, then Done."))
        if not draft.names:
            text += "\n" + italic(_("This programme has no peer supporters in the bot yet."))
        return Prompt(
            text, (*rows(ticks, 2), (Button(_("Done"), data("N", "new", "done")),), _cancel(_))
        )
    who = ", ".join(draft.names[i] or _("(no name)") for i in draft.chosen) or _("nobody yet")
    lines = [
        bold(draft.name),
        esc(LANGUAGE_NAMES.get(draft.language, draft.language)),
        esc(_("Online") if draft.setting == "online" else _("In person"))
        + ": "
        + esc(draft.where),
        esc(draft.schedule),
        esc(_("{count} places").format(count=draft.capacity)),
        esc(_("Run by: {names}").format(names=who)),
    ]
    change: tuple[tuple[Button, ...], ...] = ()
    if draft.editing:
        change = rows(
            [
                Button(_("Name"), data("N", "new", "name")),
                Button(_("Link") if draft.setting == "online" else _("Place"),
                       data("N", "new", "where")),
                Button(_("Places"), data("N", "new", "capacity")),
                Button(_("Who runs it"), data("N", "new", "who")),
            ],
            2,
        )  # fmt: skip
    return Prompt(
        "\n".join(lines),
        (*change, (Button(_("Save"), data("N", "new", "save")),), _cancel(_)),
    )
