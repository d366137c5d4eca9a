"""From volunteer to trusted supporter (issue 15): the pipeline, training, checks, supervision.

004 asks a service "to capture a list of those interested in providing peer support to others
… on a voluntary basis"; its supporters are "trained peer supporters". A volunteer (an
*applicant*) moves through the stages below, one step at a time, each with its date and the
coordinator who moved them; a coordinator records training modules completed, checks done and
supervision sessions. Only an active supporter whose training and checks are all recorded is
*eligible*: suggested for matches and offered as a group facilitator (`eligible`).

Pure: the record in, decisions and screens out. The record is sealed under the applicant's own
key by storage/applicants.py; only the stage is plain (to list them without opening records).
Callback data: ``v:<action>:<applicant id>[:<arg>]``, ids and positions only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from conversations import callbacks, engine, supporting
from conversations.draft import Answer, Draft
from conversations.forms import CHOICE_MATCHES, Programme, TrainingItem
from conversations.i18n import Translate
from conversations.matching import MAX_NAME, MAX_WORDS, Profile
from conversations.prompts import Button, Prompt, bold, esc, italic, rows
from conversations.screens import answer_text

Stage = Literal["applied", "talked", "training", "checked", "active", "not_now", "withdrew"]
STAGES: tuple[Stage, ...] = get_args(Stage)
#: The way forward, one step at a time.
PIPELINE: tuple[Stage, ...] = ("applied", "talked", "training", "checked", "active")
#: Where a volunteer may go from each stage. "Active" is left by /revoke (or leaving the team),
#: which takes the role away; "not now" can be opened again.
MOVES: dict[Stage, tuple[Stage, ...]] = {
    "applied": ("talked", "not_now", "withdrew"),
    "talked": ("training", "not_now", "withdrew"),
    "training": ("checked", "not_now", "withdrew"),
    "checked": ("active", "not_now", "withdrew"),
    "active": (),
    "not_now": ("applied", "withdrew"),
    "withdrew": (),
}
MAX_NOTE = 2000
MAX_LISTED = 40
PENDING = "applicant:"  # a coordinator typing a note or a supervision note (the staff frame)
Typing = Literal["note", "sup"]
_DATED = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*[:,.\-–]?\s*(.*)$", re.DOTALL)


class Entry(BaseModel):
    """A step of the pipeline: when, and which coordinator (by the name they go by)."""

    model_config = ConfigDict(extra="ignore")
    stage: Stage
    on: date
    by: str = ""


class Note(BaseModel):
    """A coordinator's note, or a supervision session (its date, who gave it, a note)."""

    model_config = ConfigDict(extra="ignore")
    on: date
    by: str = ""
    text: str = Field(default="", max_length=MAX_NOTE)


class Record(BaseModel):
    """Everything about one volunteer in one programme, sealed under their key."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field(default="", max_length=40)  # the name to use
    answers: dict[str, Answer] = Field(default_factory=dict)  # the application, if any
    history: list[Entry] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    modules: dict[str, date] = Field(default_factory=dict)  # module id -> completed on
    checks: dict[str, date] = Field(default_factory=dict)  # check id -> done on
    supervision: list[Note] = Field(default_factory=list)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Record:
        return cls.model_validate_json(raw) if raw else cls()


# -- the rules ------------------------------------------------------------------------------------


def missing_modules(programme: Programme, record: Record) -> list[TrainingItem]:
    return [m for m in programme.training_modules if m.id not in record.modules]


def missing_checks(programme: Programme, record: Record) -> list[TrainingItem]:
    return [c for c in programme.checks if c.id not in record.checks]


def refusal(programme: Programme, record: Record, stage: Stage, to: str) -> str | None:
    """Why a volunteer at ``stage`` cannot be moved ``to`` now; None if they can.

    "Checks done" needs every check recorded; "active" needs every check and every training
    module (a programme that lists none needs none)."""
    if to not in MOVES[stage]:
        return "not_allowed"
    if to in ("checked", "active") and missing_checks(programme, record):
        return "checks_missing"
    if to == "active" and missing_modules(programme, record):
        return "training_missing"
    return None


def move(record: Record, to: Stage, on: date, by: str) -> Record:
    return record.model_copy(update={"history": [*record.history, Entry(stage=to, on=on, by=by)]})


def eligible(programme: Programme, stage: str | None, record: Record | None) -> bool:
    """Whether a supporter may be suggested for a match or offered as a group facilitator.

    Active, trained (every module) and checked (every check). ``stage`` None: a supporter with
    no record at all (joined by invite before records were kept): only where the programme asks
    for no training and no checks."""
    if stage is None or record is None:
        return not programme.training_modules and not programme.checks
    return (
        stage == "active"
        and not missing_modules(programme, record)
        and not missing_checks(programme, record)
    )


def active_since(record: Record) -> date | None:
    return next((e.on for e in reversed(record.history) if e.stage == "active"), None)


def last_supervision(record: Record) -> date | None:
    return max((s.on for s in record.supervision), default=None)


def supervision_due(programme: Programme, record: Record) -> date | None:
    """When the next supervision is due (from the last one, else from becoming active)."""
    every = programme.supervision_every_days
    since = last_supervision(record) or active_since(record)
    if every is None or since is None:
        return None
    return date.fromordinal(since.toordinal() + every)


def overdue(programme: Programme, stage: str | None, record: Record | None, today: date) -> bool:
    """An active supporter whose supervision is past due."""
    if stage != "active" or record is None:
        return False
    due = supervision_due(programme, record)
    return due is not None and today > due


def typed_note(text: str, today: date) -> tuple[date, str] | None:
    """A typed note, with an optional date first ("2026-11-30: talked about boundaries").

    None for an empty note, a date that is not one, or a date after today."""
    text = text.strip()
    on = today
    found = _DATED.match(text)
    if found is not None:
        try:
            on = date.fromisoformat(found.group(1))
        except ValueError:
            return None
        text = found.group(2).strip()
        if on > today:
            return None
    if not text or len(text) > MAX_NOTE:
        return None
    return on, text


def prefilled(programme: Programme, record: Record) -> Profile:
    """A new supporter's first profile, from their application (theirs to change in /profile):
    the name to use; the answers to questions with the ids of profile fields (languages,
    availability, setting: only option ids the programme's form also matches on; area)."""
    values: dict[str, object] = {"name": record.name[:MAX_NAME]}
    for name in CHOICE_MATCHES:
        given = record.answers.get(name)
        picked = given if isinstance(given, list) else [given] if isinstance(given, str) else []
        allowed = supporting.choices_for(programme, name)
        kept = [str(v) for v in picked if v in allowed]
        if kept:
            values[name] = kept[0] if name == "gender" else kept
    area = record.answers.get("area")
    if isinstance(area, str):
        values["area"] = area[:MAX_WORDS]
    return Profile.model_validate(values)


# -- callback data ------------------------------------------------------------------------------

_ID = re.compile(r"[0-9A-Z]{1,12}")
ACTIONS = frozenset(
    {"list", "open", "to", "note", "mods", "mod", "unmod", "chks", "chk", "unchk", "sup"}
)


@dataclass(frozen=True)
class Press:
    action: str
    applicant: str
    arg: str = ""
    version: int = 1  # of the "applicant" dialog's buttons (1: before the engine's format)
    screen: int = 0  # the screen pressed (0: a button without one, checked against the stage)


def button(action: str, applicant: str, arg: str | int = "", *, screen: int = 0) -> str:
    """A button of screen number `screen` of a volunteer's card (its moves and tools, the
    training or checks ticked, a note asked): the engine's format,
    ``v2:<screen>:<action>:<applicant>[:<arg>]``. Without a screen: the listing's entry button
    ``v:open:<applicant>``, which opens the card wherever the listing shows (it acts on the
    volunteer, checked against the coordinator's programmes when pressed)."""
    if screen:
        return engine.button("applicant", screen, action, applicant, arg)
    data = f"v:{action}:{applicant}" + (f":{arg}" if arg != "" else "")
    if len(data.encode()) > 64:
        raise ValueError(f"callback data over 64 bytes: {data!r}")
    return data


def parse(data: str | None) -> Press | None:
    """A volunteer-pipeline button; None for anything else (forged or broken). The card's
    buttons before the engine's format (``v:<action>:<applicant>[:<arg>]``) are version 1."""
    step = engine.parse(data)
    if step is None or step.dialog != "applicant" or step.action not in ACTIONS:
        return None
    if not step.arg or len(step.more) > 1 or not _ID.fullmatch(step.arg):
        return None
    arg = step.more[0] if step.more else ""
    return Press(step.action, step.arg, arg, step.version, step.screen)


def position(arg: str, items: list[TrainingItem]) -> TrainingItem | None:
    if not arg.isascii() or not arg.isdigit() or len(arg) > 3:
        return None
    at = int(arg)
    return items[at] if at < len(items) else None


# -- screens ------------------------------------------------------------------------------------


def stage_label(stage: str, _: Translate) -> str:
    return {
        "applied": _("Applied"),
        "talked": _("Talked to"),
        "training": _("In training"),
        "checked": _("Checks done"),
        "active": _("Active"),
        "not_now": _("Not now"),
        "withdrew": _("Withdrew"),
    }[stage]


def move_label(stage: str, _: Translate) -> str:
    return {
        "applied": _("Open again"),
        "talked": _("We talked"),
        "training": _("Starts training"),
        "checked": _("Checks are done"),
        "active": _("Make them a supporter"),
        "not_now": _("Not now"),
        "withdrew": _("They withdrew"),
    }[stage]


@dataclass(frozen=True)
class Row:
    """One volunteer in the list."""

    id: str
    name: str
    stage: Stage
    since: date
    eligible: bool
    overdue: bool


def listing(programme: Programme, found: list[Row], lang: str, _: Translate) -> Prompt:
    """/applicants: the programme's volunteers by stage, with what needs doing."""
    title = programme.text(programme.name, lang)
    lines = [bold(_("Volunteers: {programme}").format(programme=title))]
    if not found:
        lines.append(esc(_("Nobody yet.")))
        lines.append(
            italic(_("Invite a supporter with /invite supporter {id}").format(id=programme.id))
        )
        return Prompt("\n\n".join(lines))
    unnamed = _("(no name)")
    for stage in STAGES:
        here = [r for r in found if r.stage == stage]
        if not here:
            continue
        lines.append(bold(f"{stage_label(stage, _)} ({len(here)})"))
        for r in here[:MAX_LISTED]:
            marks = []
            if stage == "active" and not r.eligible:
                marks.append(_("not ready to match"))
            if r.overdue:
                marks.append(_("supervision overdue"))
            tail = f" · {', '.join(marks)}" if marks else ""
            lines.append(esc(f"• {r.name or unnamed}, {r.since.isoformat()}{tail}"))
    late = [r.name or unnamed for r in found if r.overdue]
    if late:
        lines.append(esc(_("Supervision overdue: {names}").format(names=", ".join(late))))
    shown = [r for r in found if r.stage not in ("withdrew",)][:MAX_LISTED]
    buttons = [Button(r.name or unnamed, button("open", r.id)) for r in shown]
    return Prompt("\n".join(lines), rows(buttons, 2))


def card(
    programme: Programme,
    applicant: str,
    stage: Stage,
    record: Record,
    today: date,
    lang: str,
    _: Translate,
    *,
    screen: int,
) -> Prompt:
    """One volunteer: where they are, their training, checks, supervision and notes (screen
    number `screen` of the "applicant" dialog)."""
    name = record.name or _("(no name)")
    lines = [bold(f"{name} · {stage_label(stage, _)}")]
    for entry in record.history:
        by = f" ({entry.by})" if entry.by else ""
        lines.append(esc(f"{entry.on.isoformat()} {stage_label(entry.stage, _)}{by}"))
    if programme.training_modules:
        done = len(programme.training_modules) - len(missing_modules(programme, record))
        lines.append(
            esc(
                _("Training: {done} of {all} modules").format(
                    done=done, all=len(programme.training_modules)
                )
            )
        )
    if programme.checks:
        done = len(programme.checks) - len(missing_checks(programme, record))
        lines.append(
            esc(_("Checks: {done} of {all}").format(done=done, all=len(programme.checks)))
        )
    if stage == "active":
        lines.append(
            esc(_("Ready to match."))
            if eligible(programme, stage, record)
            else esc(_("Not ready to match: training or checks are missing."))
        )
        last = last_supervision(record)
        due = supervision_due(programme, record)
        if last is not None:
            lines.append(esc(_("Last supervision: {date}").format(date=last.isoformat())))
        if due is not None:
            text = (
                _("Supervision overdue since {date}")
                if today > due
                else _("Next supervision by {date}")
            )
            lines.append(esc(text.format(date=due.isoformat())))
    lines.extend(application_lines(programme, record, lang, _))
    for note in record.notes[-5:]:
        by = f" ({note.by})" if note.by else ""
        lines.append(f"{italic(note.on.isoformat() + by)} {esc(note.text)}")
    moves = [
        Button(move_label(to, _), button("to", applicant, to, screen=screen))
        for to in MOVES[stage]
    ]
    tools = [Button(_("Add a note"), button("note", applicant, screen=screen))]
    if programme.training_modules:
        tools.append(Button(_("Training"), button("mods", applicant, screen=screen)))
    if programme.checks:
        tools.append(Button(_("Checks"), button("chks", applicant, screen=screen)))
    if stage == "active":
        tools.append(Button(_("Supervision"), button("sup", applicant, screen=screen)))
    keyboard = (
        *rows(moves, 2),
        *rows(tools, 2),
        (Button(_("All volunteers"), button("list", applicant, screen=screen)),),
    )
    return Prompt("\n".join(lines), keyboard)


def application_form(programme: Programme) -> Programme | None:
    """The programme as its volunteer application asks it (None: it has none)."""
    name = next((n for n, q in programme.questionnaires.items() if q.purpose == "volunteer"), None)
    return programme.asking(name) if name is not None else None


def application_lines(programme: Programme, record: Record, lang: str, _: Translate) -> list[str]:
    """What they said when they applied, question by question (for coordinators only)."""
    asked = application_form(programme)
    if asked is None or not record.answers:
        return []
    draft = Draft(programme=programme.id, language=lang, answers=record.answers)
    lines = [bold(_("Their application"))]
    for q in asked.form:
        if q.answerable and q.id in record.answers:
            label = asked.text(q.text, lang)
            lines.append(f"{italic(label)}\n{esc(answer_text(asked, draft, q, _))}")
    return lines


def items_screen(
    programme: Programme,
    applicant: str,
    kind: str,
    record: Record,
    lang: str,
    _: Translate,
    *,
    screen: int,
) -> Prompt:
    """Training modules (``kind`` "mods") or checks ("chks"): tap one to record it done today,
    tap a done one to undo it."""
    modules = kind == "mods"
    items = programme.training_modules if modules else programme.checks
    done = record.modules if modules else record.checks
    name = record.name or _("(no name)")
    head = (
        _("Training for {name}. Tap a module when it is done.")
        if modules
        else _("Checks for {name}. Tap a check when it is done.")
    )
    buttons = []
    for i, item in enumerate(items):
        label = programme.text(item.name, lang)
        if item.id in done:
            buttons.append(
                Button(
                    f"☑ {label} ({done[item.id].isoformat()})",
                    button("unmod" if modules else "unchk", applicant, i, screen=screen),
                )
            )
        else:
            buttons.append(
                Button(
                    f"☐ {label}", button("mod" if modules else "chk", applicant, i, screen=screen)
                )
            )
    keyboard = (*rows(buttons, 1), (Button(_("Done"), button("open", applicant, screen=screen)),))
    return Prompt(esc(head.format(name=name)), keyboard)


def ask_note(kind: Typing, name: str, applicant: str, _: Translate, *, screen: int) -> Prompt:
    text = (
        _("Type your note about {name}. Only coordinators see it.")
        if kind == "note"
        else _(
            "Type a short note about the supervision with {name}. To give another date, "
            "start with it, like 2026-11-30: what you talked about."
        )
    )
    return Prompt(
        esc(text.format(name=name or _("(no name)"))),
        ((Button(_("Cancel"), button("open", applicant, screen=screen)),),),
    )


def bad_note(_: Translate) -> str:
    return _(
        "Please type a few words, up to 2000 letters. A date first must be written like "
        "2026-11-30 and not be in the future."
    )


def refused(reason: str, _: Translate) -> str:
    return {
        "checks_missing": _("First record every check."),
        "training_missing": _("First record every training module."),
    }.get(reason, _("That is done already."))


def became_supporter(name: str, programme: Programme, lang: str, _: Translate) -> str:
    return _("{name} is now a peer supporter of {programme}.").format(
        name=name or _("(no name)"), programme=programme.text(programme.name, lang)
    )


# -- inviting staff from the bot ----------------------------------------------------------------


def invite_usage(programmes: list[str], _: Translate) -> Prompt:
    return Prompt(
        esc(
            _("Write /invite supporter or /invite coordinator, then the programme: {ids}").format(
                ids=", ".join(programmes)
            )
        )
    )


def invite_made(
    role: str,
    code: str,
    days: int,
    link: str | None,
    programme: Programme,
    lang: str,
    _: Translate,
) -> Prompt:
    what = _("a coordinator") if role == "coordinator" else _("a peer supporter")
    lines = [
        esc(
            _("A one-time code for {what} of {programme}, for {days} days:").format(
                what=what, programme=programme.text(programme.name, lang), days=days
            )
        ),
        bold(code),
        esc(_("They send the bot, in a private chat: /join {code}").format(code=code)),
    ]
    if link is not None:
        lines.append(esc(_("Or they open this link: {link}").format(link=link)))
    lines.append(italic(_("Give it only to that person. It works once.")))
    return Prompt("\n\n".join(lines))


def welcome(programme: Programme, lang: str, _: Translate) -> Prompt:
    """For a volunteer made active by a coordinator (first line neutral)."""
    return Prompt(
        "\n\n".join(
            [
                esc(
                    _("Welcome. You are now {what} for {name}.").format(
                        what=_("a peer supporter"), name=programme.text(programme.name, lang)
                    )
                ),
                esc(
                    _(
                        "Next, tell coordinators a little about you, so they can suggest good "
                        "matches."
                    )
                ),
            ]
        ),
        ((Button(_("My profile"), callbacks.PROFILE_ENTRY),),),
    )


def application_received(programme: Programme, lang: str, _: Translate) -> Prompt:
    """For the volunteer, once their application is sent."""
    return Prompt(
        "\n\n".join(
            [
                esc(_("Thank you. Your answers are sent.")),
                esc(
                    _(
                        "A coordinator of {programme} will get in touch to talk it through. "
                        "To delete everything, type /delete."
                    ).format(programme=programme.text(programme.name, lang))
                ),
            ]
        )
    )


def new_applicant(programme: Programme, lang: str, _: Translate) -> Prompt:
    """For each coordinator: someone applied (nothing about them here)."""
    return Prompt(
        esc(
            _("Someone applied to volunteer with {programme}. See /applicants.").format(
                programme=programme.text(programme.name, lang)
            )
        )
    )
