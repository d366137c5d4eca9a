"""What the bot says about groups: the coordinator's ranked list, the person's invitation, the
answers to Join / Not now, how facilitators see them, /groups and leaving.

Pure screen builders. Every message to the person starts with a neutral line (it may show on a
lock screen) and never names another member. Buttons carry ``u:<action>:<target>[:<arg>]``:
a referral's reference or a group's random code, never anything a person said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from conversations.forms import Programme
from conversations.group_schedule import GroupConfig
from conversations.groups import GroupSuggestion, initials
from conversations.i18n import Translate
from conversations.prompts import Button, Prompt, bold, esc, italic, rows
from conversations.supporting import reason_text

MAX_BYTES = 64
#: The groups' buttons start "u:" (g, t, h ... are other flows'; see register in the router).
PREFIX = "u"
MAX_GROUPS_SHOWN = 8
#: o p x: a coordinator offers; j n s r c l L k: a person; f a X M D T w W: a facilitator;
#: G P N E: a coordinator looks after the programme's groups, makes new ones and changes them.
ACTIONS = frozenset("opxjnsrclLkfaXMDTwWGPNE")


@dataclass(frozen=True)
class GroupPress:
    action: str
    target: str
    arg: str = ""


def data(action: str, target: str, arg: str = "") -> str:
    value = f"{PREFIX}:{action}:{target}" + (f":{arg}" if arg else "")
    if len(value.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {value!r}")
    return value


def parse(raw: str | None) -> GroupPress | None:
    """A group button's press; None for anything forged or broken."""
    if not raw or len(raw.encode()) > MAX_BYTES:
        return None
    parts = raw.split(":")
    if len(parts) not in (3, 4) or parts[0] != PREFIX or parts[1] not in ACTIONS:
        return None
    target = parts[2]
    if not target or not target.replace("-", "").replace("_", "").isalnum():
        return None
    arg = parts[3] if len(parts) == 4 else ""
    if arg and not arg.replace("_", "").isalnum():
        return None
    return GroupPress(parts[1], target, arg)


def name_of(group: GroupConfig, programme: Programme, lang: str) -> str:
    return group.name.get(lang) or group.name.get(programme.default_language) or group.id


def how_text(group: GroupConfig, programme: Programme, lang: str, _: Translate) -> str:
    """Online or where (the link itself is never here: it comes shortly before a meeting)."""
    if group.setting == "online":
        return _("Online. We send you the link privately, shortly before each meeting.")
    assert group.venue is not None
    venue = group.venue.get(lang) or group.venue.get(programme.default_language) or ""
    return _("In person: {place}").format(place=venue)


# -- the coordinator ----------------------------------------------------------------------------


def offer_button(reference: str, _: Translate) -> Button:
    return Button(_("Offer a group"), data("o", reference))


def suggestions(
    programme: Programme,
    reference: str,
    found: list[GroupSuggestion],
    next_meeting: dict[str, str],
    lang: str,
    _: Translate,
) -> Prompt:
    """The programme's open groups for this referral, best fit first, each with its reasons in
    one line and its next meeting; the coordinator picks one."""
    cancel = Button(_("Cancel"), data("x", reference))
    if not found:
        return Prompt(
            esc(_("{reference}: this programme has no open groups.").format(reference=reference)),
            ((cancel,),),
        )
    lines = [esc(_("Groups for {reference}, best fit first:").format(reference=reference))]
    shown = found[:MAX_GROUPS_SHOWN]
    for i, s in enumerate(shown, start=1):
        why = [reason_text(programme, r, lang, _) for r in s.reasons if r.code != "waiting"]
        if not s.has_room:
            why.append("✗ " + _("{count} on the waiting list").format(count=s.waiting))
        when = next_meeting.get(s.group_id)
        if when:
            why.append(_("next: {when}").format(when=when))
        lines.append(f"{bold(f'{i}. {s.name}')}\n{esc(' · '.join(why))}")
    buttons = [
        Button(f"{i}. {s.name}", data("p", reference, s.group_id))
        for i, s in enumerate(shown, start=1)
    ]
    return Prompt("\n\n".join(lines), (*rows(buttons, 2), (cancel,)))


def offered(reference: str, group_name: str, waiting: bool, _: Translate) -> Prompt:
    if waiting:
        text = _("{group} is full. {reference} is asked whether to join its waiting list.").format(
            group=group_name, reference=reference
        )
    else:
        text = _("{reference} is invited to {group}. You will hear their answer.").format(
            reference=reference, group=group_name
        )
    return Prompt(esc(text))


def already_offered(reference: str, group_name: str, _: Translate) -> str:
    return _("{reference} already has a place or an invitation in {group}.").format(
        reference=reference, group=group_name
    )


def cancelled(_: Translate) -> Prompt:
    return Prompt(esc(_("No group offered.")))


def answer_for_holder(reference: str, group_name: str, answer: str, _: Translate) -> Prompt:
    """The holder hears what the person chose (the reference and the group: nothing else)."""
    text = {
        "joined": _("{reference} joined {group}."),
        "waiting": _("{reference} is on the waiting list of {group}."),
        "declined": _("{reference} said not now to {group}."),
        "left": _("{reference} left {group}."),
    }[answer]
    return Prompt(esc(text.format(reference=reference, group=group_name)))


# -- the person ---------------------------------------------------------------------------------


def invitation(
    group_id: str,
    name: str,
    when: str | None,
    how: str,
    waiting_list: bool,
    _: Translate,
) -> Prompt:
    """A place in a group (or, when it is full, on its waiting list). Neutral first line."""
    lines = [esc(_("We have some news for you.")), ""]
    if waiting_list:
        lines.append(
            esc(
                _("The group {group} is full just now. You can join its waiting list.").format(
                    group=name
                )
            )
        )
    else:
        lines.append(esc(_("There is a place for you in the group {group}.").format(group=name)))
    if when:
        lines.append(esc(_("Next meeting: {when}").format(when=when)))
    lines += [
        esc(how),
        "",
        esc(
            _(
                "Nobody in the group sees your answers or your Telegram account. "
                "You choose how the people who run it see your name."
            )
        ),
    ]
    join = _("Join the waiting list") if waiting_list else _("Join")
    return Prompt(
        "\n".join(lines),
        ((Button(join, data("j", group_id)), Button(_("Not now"), data("n", group_id))),),
    )


def choose_shown_as(group_id: str, preferred: str, _: Translate) -> Prompt:
    """How the group's facilitators will see them: their name, or its initials only."""
    name = preferred.strip()
    buttons = []
    if name:
        buttons.append(Button(_("My name ({name})").format(name=name), data("s", group_id, "n")))
    buttons.append(
        Button(
            _("Only initials ({initials})").format(initials=initials(name)),
            data("s", group_id, "i"),
        )
    )
    return Prompt(
        esc(_("How should the people who run the group see you?"))
        + "\n\n"
        + italic(_("Other members never get your name from us.")),
        tuple((b,) for b in buttons),
    )


def joined(name: str, waiting: bool, _: Translate) -> Prompt:
    if waiting:
        text = _(
            "You are on the waiting list for {group}. We will tell you when a place is free."
        ).format(group=name)
    else:
        text = _("You are in the group {group}.").format(group=name)
    return Prompt(esc(text) + "\n\n" + esc(_("You can see or leave your groups with /groups.")))


def shown_as_saved(shown: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("Saved. The people who run the group will see you as: {name}").format(name=shown))
        + "\n\n"
        + esc(_("You can see or leave your groups with /groups."))
    )


def ask_reminders(group_id: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("Would you like a short reminder before each meeting?")),
        (
            (
                Button(_("Yes, remind me"), data("r", group_id, "1")),
                Button(_("No, thank you"), data("r", group_id, "0")),
            ),
        ),
    )


def reminders_saved(on: bool, _: Translate) -> Prompt:
    if on:
        return Prompt(esc(_("Good. We will send you a short reminder before each meeting.")))
    return Prompt(esc(_("Fine. No reminders.")))


def member_reminder(meeting_id: int, when: str, how: str, _: Translate) -> Prompt:
    """Before a group meeting: neutral first line, no group name, Coming / Can't come."""
    return Prompt(
        esc(_("A short reminder: you have a meeting on {when}.").format(when=when))
        + "\n"
        + esc(how),
        (
            (
                Button(_("Coming"), data("c", str(meeting_id), "y")),
                Button(_("Can't come"), data("c", str(meeting_id), "n")),
            ),
        ),
    )


def meeting_link(when: str, link: str, _: Translate) -> Prompt:
    """An online meeting's link, to one member privately, shortly before it starts."""
    return Prompt(
        esc(_("Your meeting starts soon."))
        + "\n\n"
        + esc(_("{when}. The link to join:").format(when=when))
        + "\n"
        + esc(link)
    )


def answered(coming: bool, _: Translate) -> Prompt:
    if coming:
        return Prompt(esc(_("Thank you. See you there.")))
    return Prompt(esc(_("Thank you for letting us know.")))


def not_now(_: Translate) -> Prompt:
    return Prompt(
        esc(_("That is fine."))
        + "\n\n"
        + esc(_("If you change your mind, just type here and we will help."))
    )


def gone(_: Translate) -> str:
    return _("This invitation is no longer open.")


@dataclass(frozen=True)
class MyGroup:
    group_id: str
    name: str
    status: str  # member, waiting, invited, asked
    when: str | None


def my_groups(found: list[MyGroup], _: Translate) -> Prompt:
    """/groups: the person's groups and waiting lists, each with Leave."""
    if not found:
        return Prompt(esc(_("You are not in any group just now.")))
    lines = [esc(_("Your groups:"))]
    buttons = []
    for g in found:
        state = status_text(g.status, _)
        line = f"{bold(g.name)} · {esc(state)}"
        if g.when and g.status == "member":
            line += "\n" + esc(_("Next meeting: {when}").format(when=g.when))
        lines.append(line)
        buttons.append(Button(_("Leave {group}").format(group=g.name), data("l", g.group_id)))
    return Prompt("\n\n".join(lines), tuple((b,) for b in buttons))


def confirm_leave(group_id: str, name: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("Leave {group}?").format(group=name)),
        (
            (
                Button(_("Yes, leave"), data("L", group_id)),
                Button(_("No, stay"), data("k", group_id)),
            ),
        ),
    )


def left(name: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("You have left {group}.").format(group=name))
        + "\n\n"
        + esc(_("You are welcome back at any time. Just type here."))
    )


def stayed(_: Translate) -> Prompt:
    return Prompt(esc(_("Good. Nothing has changed.")))


# -- the person's own copy (/mydata) -------------------------------------------------------------


@dataclass(frozen=True)
class GroupCopy:
    """A person's place in a group, for their own copy."""

    name: str
    status: str  # invited, asked, member, waiting, declined, left
    since: datetime
    shown_as: str | None
    #: the meetings they answered or were marked at: when, their answer, whether they came
    meetings: list[tuple[datetime, str | None, bool | None]] = field(default_factory=list)


def status_text(status: str, _: Translate) -> str:
    return {
        "member": _("member"),
        "waiting": _("on the waiting list"),
        "invited": _("invited"),
        "asked": _("invited to the waiting list"),
        "declined": _("said not now"),
        "left": _("left"),
    }[status]


def copy_block(groups: list[GroupCopy], _: Translate) -> str:
    """/mydata: the groups, and how the people who run them see the person."""
    lines = [bold(_("Your groups"))]
    for g in groups:
        line = f"{esc(g.name)} · {esc(status_text(g.status, _))}"
        if g.shown_as:
            line += " · " + esc(_("shown as: {name}").format(name=g.shown_as))
        lines.append(line)
        for when, answer, came in g.meetings:
            said = {"coming": _("coming"), "not_coming": _("not coming")}.get(answer or "", "")
            was = "" if came is None else (_("came") if came else _("did not come"))
            lines.append(
                esc(f"  {when:%Y-%m-%d %H:%M} UTC · " + " · ".join(x for x in (said, was) if x))
            )
    return "\n".join(lines)


def copy_data(groups: list[GroupCopy]) -> list[dict[str, object]]:
    return [
        {
            "name": g.name,
            "status": g.status,
            "since": g.since.isoformat(),
            "shown_as": g.shown_as,
            "meetings": [
                {"at": when.isoformat(), "answer": answer, "came": came}
                for when, answer, came in g.meetings
            ],
        }
        for g in groups
    ]


# -- the facilitators -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attendee:
    shown: str  # as the member chose to be shown
    answer: str | None  # coming, not_coming, or no answer yet
    came: bool | None  # marked after the meeting


def groups_you_run(groups: list[tuple[str, str]], _: Translate) -> Prompt:
    """(group id, name) of the groups this supporter runs."""
    return Prompt(
        esc(_("Groups you run:")),
        tuple((Button(name, data("f", gid)),) for gid, name in groups),
    )


def meeting_view(
    group_id: str,
    meeting_id: int,
    name: str,
    when: str,
    state: str,
    past: bool,
    people: list[Attendee],
    _: Translate,
) -> Prompt:
    """One meeting for its facilitators: who said they are coming (as each member chose to be
    shown), and after it, one tap per member to mark who came."""
    states = {
        "planned": _("planned"),
        "moved": _("moved"),
        "cancelled": _("cancelled"),
        "held": _("held"),
    }
    lines = [f"{bold(name)} · {esc(when)} · {esc(states[state])}"]
    if not people:
        lines.append(esc(_("No members yet.")))
    for person in people:
        said = {
            "coming": _("coming"),
            "not_coming": _("not coming"),
        }.get(person.answer or "", _("no answer"))
        lines.append(esc(f"{person.shown} · {said}"))
    buttons: list[tuple[Button, ...]] = []
    if past and state != "cancelled":
        lines += ["", esc(_("Tap each member who came."))]
        for i, person in enumerate(people):
            mark = "✓ " if person.came else "☐ "
            buttons.append((Button(mark + person.shown, data("a", str(meeting_id), str(i))),))
    elif state in ("planned", "moved"):
        buttons.append(
            (
                Button(_("Move"), data("M", str(meeting_id))),
                Button(_("Cancel this meeting"), data("X", str(meeting_id))),
            )
        )
    if people:
        buttons.append((Button(_("Raise a concern"), data("w", str(meeting_id))),))
    nav = "n" if past else "p"
    label = _("Next meeting") if past else _("Last meeting")
    buttons.append((Button(label, data("f", group_id, nav)),))
    return Prompt("\n".join(lines), tuple(buttons))


def move_to(meeting_id: int, days: list[tuple[str, str]], _: Translate) -> Prompt:
    """(yyyymmdd, label) of the days the meeting can move to (its own day too)."""
    buttons = [Button(label, data("D", str(meeting_id), day)) for day, label in days]
    return Prompt(esc(_("Move it to which day?")), rows(buttons, 2))


#: The times a meeting can move to, besides its own time (local, on the hour).
MOVE_HOURS = tuple(range(9, 22))


def move_at(meeting_id: int, day: str, same: str, _: Translate) -> Prompt:
    """The time on the chosen day (``day`` yyyymmdd): the same time (``same`` HH:MM), or
    another hour."""
    at = [(same.replace(":", ""), _("Same time ({time})").format(time=same))]
    at += [(f"{h:02d}00", f"{h:02d}:00") for h in MOVE_HOURS if f"{h:02d}:00" != same]
    buttons = [Button(label, data("T", str(meeting_id), day + hhmm)) for hhmm, label in at]
    return Prompt(esc(_("At what time?")), (*rows(buttons[:1], 1), *rows(buttons[1:], 4)))


def meeting_changed(old_when: str, new_when: str | None, _: Translate) -> Prompt:
    """To each member at once: neutral first line, then what changed."""
    if new_when is None:
        text = _("The meeting on {when} is not going ahead.").format(when=old_when)
    else:
        text = _("The meeting on {old} is moved to {new}.").format(old=old_when, new=new_when)
    return Prompt(esc(_("A change of plan.")) + "\n\n" + esc(text))


def door_open(_: Translate) -> Prompt:
    """After two missed meetings in a row: gentle, no pressure, neutral first line."""
    return Prompt(
        "\n\n".join(
            [
                esc(_("Hello, just checking in.")),
                esc(
                    _(
                        "We have not seen you at the group lately. There is no need to explain. "
                        "The door stays open: come to a meeting whenever you feel ready, or "
                        "leave the group with /groups."
                    )
                ),
                esc(_("To stop these check-ins, send /stop.")),
            ]
        )
    )


def concern_about_whom(meeting_id: int, people: list[str], _: Translate) -> Prompt:
    """Which member a facilitator is worried about (as each chose to be shown)."""
    buttons = [Button(shown, data("W", str(meeting_id), str(i))) for i, shown in enumerate(people)]
    return Prompt(
        esc(_("Who are you worried about? The coordinator who knows them will be told."))
        + "\n"
        + italic(_("Nothing else is passed on. They will get in touch with you.")),
        rows(buttons, 2),
    )


def concern_sent(shown: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("Thank you. The coordinator who knows {name} is told.").format(name=shown))
    )


def concern_for_holder(reference: str, group_name: str, _: Translate) -> Prompt:
    """At once, to the referral's holder: the reference, the group, and what to do."""
    return Prompt(
        esc(_("Please look at {reference} soon.").format(reference=reference))
        + "\n\n"
        + esc(
            _(
                "A facilitator of {group} has a concern about them. Please get in touch with "
                "the facilitator."
            ).format(group=group_name)
        )
    )


# -- the coordinators ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupSummary:
    group_id: str
    name: str
    status: str  # open, paused
    members: int
    capacity: int
    waiting: int
    when: str | None


def programme_groups(
    groups: list[GroupSummary], programmes: list[tuple[str, str]], _: Translate
) -> Prompt:
    """A coordinator's /groups: the groups of their programmes, and (id, name) of the
    programmes they may make a new group in."""
    lines = [esc(_("Groups of your programmes:"))]
    for g in groups:
        lines.append(_summary_line(g, _))
    buttons = [Button(g.name, data("G", g.group_id)) for g in groups]
    new = [
        (Button(_("New group: {programme}").format(programme=name), data("N", pid)),)
        for pid, name in programmes
    ]
    return Prompt("\n\n".join(lines), (*rows(buttons, 2), *new))


def _summary_line(g: GroupSummary, _: Translate) -> str:
    state = _("open") if g.status == "open" else _("paused")
    line = f"{bold(g.name)} · {esc(state)}\n" + esc(
        _("{members} of {capacity} places taken, {waiting} waiting").format(
            members=g.members, capacity=g.capacity, waiting=g.waiting
        )
    )
    if g.when and g.status == "open":
        line += "\n" + esc(_("Next meeting: {when}").format(when=g.when))
    return line


def group_admin(g: GroupSummary, _: Translate, *, changeable: bool = False) -> Prompt:
    """One group for a coordinator; one made in the bot can be changed there too."""
    toggle = (
        Button(_("Pause"), data("P", g.group_id, "p"))
        if g.status == "open"
        else Button(_("Open again"), data("P", g.group_id, "o"))
    )
    change = ((Button(_("Change"), data("E", g.group_id)),),) if changeable else ()
    return Prompt(
        _summary_line(g, _),
        ((toggle, Button(_("Close the group"), data("P", g.group_id, "c"))), *change),
    )


def confirm_close(group_id: str, name: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("Close {group} for good? Its members are told it has ended.").format(group=name)),
        (
            (
                Button(_("Yes, close it"), data("P", group_id, "x")),
                Button(_("No, keep it"), data("G", group_id)),
            ),
        ),
    )


def group_ended(name: str, _: Translate) -> Prompt:
    """To each member and each person waiting, when a group is closed."""
    return Prompt(
        esc(_("A change of plan."))
        + "\n\n"
        + esc(
            _("The group {group} has come to an end. Thank you for being part of it.").format(
                group=name
            )
        )
        + "\n\n"
        + esc(_("If you would like other support, just type here."))
    )


def closed(name: str, _: Translate) -> Prompt:
    return Prompt(esc(_("{group} is closed.").format(group=name)))


def a_member(_: Translate) -> str:
    """A member who has not chosen how to be shown yet: nothing of their name."""
    return _("A member")
