"""A supporter and the person they support, after the hand-over: writing to each other through
the bot (issue #15), as data and pure screens.

Neither side sees the other's Telegram account: the bot passes each message on. A person opens
"writing" with a button (``t:w:<engagement>``); what they type then goes to the other side until
they press Done, a button of the writing screen in the engine's format
(``t2:<screen>:d:<engagement>``, numbered by the person's one counter; ``t:d:<engagement>``, the
release before's, is read as version 1). Either side can stop the messages (``t:s:...``); the side
that stopped them can start them again (``t:r:...``). Callback data carries the engagement's
random id and a one-letter action, never anything a person said; every press is checked against
the engagement, its status and the presser when it arrives (and Done against the screen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from conversations import engine
from conversations.i18n import Translate
from conversations.prompts import Button, Prompt, bold, esc

Side = Literal["person", "supporter"]
Action = Literal["w", "d", "s", "r"]
ACTIONS: tuple[Action, ...] = ("w", "d", "s", "r")
#: An engagement id: 8 characters of Crockford's base 32 (storage.engagements).
_ID_CHARS = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


@dataclass(frozen=True)
class TalkPress:
    action: Action
    engagement: str
    version: int = 1  # of the "talk" dialog's Done (1: before the engine's format)
    screen: int = 0  # the writing screen pressed (0: a button without one)


def button(action: Action, engagement: str) -> str:
    """An engagement's button wherever it shows (Write, Stop, Start again): ``t:<action>:<id>``."""
    return f"t:{action}:{engagement}"


def done_button(screen: int, engagement: str) -> str:
    """Done on writing screen number `screen`: the engine's format."""
    return engine.button("talk", screen, "d", engagement)


def parse(data: str | None) -> TalkPress | None:
    """``t:<action>:<engagement id>``, or Done in the engine's format; None for anything else
    (forged or broken)."""
    step = engine.parse(data)
    if step is not None and step.dialog == "talk":
        eng = step.arg
        if step.action != "d" or step.more or len(eng) != 8 or not set(eng) <= _ID_CHARS:
            return None
        return TalkPress("d", eng, step.version, step.screen)
    if not data or len(data) > 20:
        return None
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != "t":
        return None
    action, engagement = parts[1], parts[2]
    if len(engagement) != 8 or not set(engagement) <= _ID_CHARS:
        return None
    for known in ACTIONS:
        if action == known:
            return TalkPress(known, engagement)
    return None


@dataclass(frozen=True)
class Relationship:
    """One accepted engagement as one side sees it."""

    engagement: str
    side: Side  # which side the viewer is on
    reference: str  # shown to the supporter only
    stopped_by: Side | None
    holder_reads: bool


def _other(side: Side, reference: str, _: Translate) -> str:
    if side == "person":
        return _("your supporter")
    return _("the person you support ({reference})").format(reference=reference)


def told_holder_reads(_: Translate) -> str:
    """What the person (and the supporter) are told when the holder may read the messages."""
    return _("Your coordinator can also read these messages.")


def _rows(item: Relationship, _: Translate) -> tuple[tuple[Button, ...], ...]:
    if item.stopped_by is None:
        return (
            (Button(_("Write a message"), button("w", item.engagement)),),
            (Button(_("Stop these messages"), button("s", item.engagement)),),
        )
    if item.stopped_by == item.side:
        return ((Button(_("Start the messages again"), button("r", item.engagement)),),)
    return ()


def menu(items: list[Relationship], _: Translate) -> Prompt:
    """/talk: who they can write to through the bot."""
    if not items:
        return Prompt(esc(_("Messages through the bot")) + "\n\n" + esc(nothing_open(_)))
    parts = [bold(_("Messages through the bot"))]
    buttons: list[tuple[Button, ...]] = []
    for item in items:
        who = _other(item.side, item.reference, _)
        if item.stopped_by is None:
            line = _("You can write to {who} here.").format(who=who)
        elif item.stopped_by == item.side:
            line = _("You stopped the messages with {who}.").format(who=who)
        else:
            line = _("The messages with {who} are stopped for now.").format(who=who)
        if item.holder_reads:
            line += " " + told_holder_reads(_)
        parts.append(esc(line))
        buttons.extend(_rows(item, _))
    parts.append(esc(privacy_line(_)))
    return Prompt("\n\n".join(parts), tuple(buttons))


def privacy_line(_: Translate) -> str:
    return _(
        "The bot passes your messages on. Neither of you sees the other's Telegram account. "
        "You can share a phone number yourselves if you both want to. You do not have to."
    )


def nothing_open(_: Translate) -> str:
    return _("There is nobody to write to here at the moment.")


def writing(item: Relationship, _: Translate, screen: int) -> Prompt:
    """Writing is open: what they type now is passed on (screen number `screen`)."""
    who = _other(item.side, item.reference, _)
    lines = [
        esc(_("Type your message and send it.")),
        esc(_("I will pass it on to {who}.").format(who=who)),
    ]
    if item.holder_reads:
        lines.append(esc(told_holder_reads(_)))
    if item.side == "person":
        lines.append(esc(_("Press Done to write to your coordinator again.")))
    return Prompt(
        "\n\n".join(lines), ((Button(_("Done"), done_button(screen, item.engagement)),),)
    )


def passed_on(item: Relationship, _: Translate, screen: int) -> Prompt:
    return Prompt(
        esc(_("Passed on. You can type more, or press Done.")),
        ((Button(_("Done"), done_button(screen, item.engagement)),),),
    )


def done(side: Side, _: Translate) -> Prompt:
    if side == "person":
        return Prompt(esc(_("OK. What you type now goes to your coordinator.")))
    return Prompt(esc(_("OK. Nothing more will be passed on until you press Write again.")))


def received(item: Relationship, text: str, _: Translate) -> Prompt:
    """A message passed on. The first line is neutral: it may show on a lock screen."""
    if item.side == "person":
        heading = _("From your supporter:")
    else:
        heading = _("From {reference}:").format(reference=item.reference)
    lines = [esc(_("You have a new message.")), bold(heading) + "\n" + esc(text)]
    if item.holder_reads:
        lines.append(esc(told_holder_reads(_)))
    return Prompt(
        "\n\n".join(lines),
        (
            (Button(_("Reply"), button("w", item.engagement)),),
            (Button(_("Stop these messages"), button("s", item.engagement)),),
        ),
    )


def stopped(item: Relationship, _: Translate) -> Prompt:
    """The side that pressed Stop."""
    return Prompt(
        esc(_("The messages are stopped. Nothing more will be passed on either way."))
        + "\n\n"
        + esc(_("You can still talk to your coordinator.")),
        ((Button(_("Start the messages again"), button("r", item.engagement)),),),
    )


def stopped_by_other(item: Relationship, _: Translate) -> Prompt:
    """The other side stopped the messages: told once, kindly. The first line is neutral."""
    if item.side == "person":
        why = _("Your supporter has stopped the messages through the bot for now.")
    else:
        why = _("{reference} has stopped the messages through the bot for now.").format(
            reference=item.reference
        )
    return Prompt(
        "\n\n".join(
            [
                esc(_("An update about your messages.")),
                esc(why),
                esc(_("That is OK, and nothing you need to do. Nothing more will be passed on.")),
                esc(_("You can still talk to your coordinator.")),
            ]
        )
    )


def restarted(item: Relationship, _: Translate) -> Prompt:
    return Prompt(
        esc(_("The messages are on again.")),
        ((Button(_("Write a message"), button("w", item.engagement)),),),
    )


def closed(_: Translate) -> Prompt:
    """Writing is not open: support ended, the messages were stopped, or it never was theirs."""
    return Prompt(
        esc(_("This message was not passed on. These messages are closed at the moment."))
        + "\n\n"
        + esc(_("You can still talk to your coordinator."))
    )


def capped(_: Translate) -> Prompt:
    return Prompt(
        esc(
            _(
                "You have sent a lot of messages in the last hour, so this one was not "
                "passed on. You can write again in a while."
            )
        )
    )


def how_to_write(_: Translate) -> str:
    """A line for the news of a match and the supporter's yes."""
    return _("You can write to each other through the bot: send /talk.")


def for_holder(reference: str, lines: list[tuple[str, str, str]], _: Translate) -> str:
    """The messages the holder may read (who wrote, when, what), as text for the referral."""
    if not lines:
        return ""
    heading = bold(
        _("Messages between {reference} and their supporter").format(reference=reference)
    )
    body = "\n".join(f"{esc(at)} · {esc(who)}: {esc(text)}" for at, who, text in lines)
    return heading + "\n" + body


def writer(direction: str, _: Translate) -> str:
    return _("the person") if direction == "to_supporter" else _("the supporter")


def not_yours(_: Translate) -> Prompt:
    return Prompt(esc(_("I cannot find that referral among yours.")))


def private_here(_: Translate) -> Prompt:
    return Prompt(esc(_("In this programme, these messages are private.")))


def none_to_read(reference: str, _: Translate) -> str:
    return esc(
        _("There are no messages you can read for {reference}.").format(reference=reference)
    )


# -- the relationship looked after ----------------------------------------------------------------

#: Feedback per supporter is shown only when it rests on at least this many answers.
MIN_ANSWERS = 5
CHECK_CODES = {"w": "well", "u": "unsure", "c": "change"}


@dataclass(frozen=True)
class CheckPress:
    answer: str  # "well" | "unsure" | "change"
    engagement: str


def check_button(code: str, engagement: str) -> str:
    return f"h:{code}:{engagement}"


def parse_check(data: str | None) -> CheckPress | None:
    """``h:<w|u|c>:<engagement id>``; None for anything else."""
    if not data or len(data) > 20:
        return None
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != "h" or parts[1] not in CHECK_CODES:
        return None
    if len(parts[2]) != 8 or not set(parts[2]) <= _ID_CHARS:
        return None
    return CheckPress(CHECK_CODES[parts[1]], parts[2])


def how_is_it_going(engagement: str, _: Translate) -> Prompt:
    """After the first two meetings; private, and the supporter never sees the answer."""
    return Prompt(
        esc(_("A quick question from us."))
        + "\n\n"
        + esc(_("How are the meetings with your supporter going?"))
        + "\n\n"
        + esc(_("Only your coordinator sees your answer. Your supporter does not.")),
        (
            (Button(_("Going well"), check_button("w", engagement)),),
            (Button(_("Not sure yet"), check_button("u", engagement)),),
            (Button(_("I would like a different supporter"), check_button("c", engagement)),),
        ),
    )


def check_thanks(answer: str, _: Translate) -> Prompt:
    if answer == "change":
        return Prompt(
            esc(_("Thank you for telling us. Your coordinator will get in touch about it."))
            + "\n\n"
            + esc(_("Your supporter has not been told."))
        )
    return Prompt(esc(_("Thank you for letting us know.")))


def missed_twice(reference: str, _: Translate) -> Prompt:
    return Prompt(
        esc(
            _(
                "{reference}: the last two meetings did not happen. You may want to check in "
                "with the person and their supporter."
            ).format(reference=reference)
        )
    )


def change_for_holder(reference: str, _: Translate) -> Prompt:
    return Prompt(
        esc(
            _(
                "{reference}: the person would like a different supporter. The supporter has "
                "not been told."
            ).format(reference=reference)
        )
    )


def feedback_per_supporter(rows: list[tuple[str, dict[str, int]]], _: Translate) -> Prompt:
    """Answers per supporter; a supporter with fewer than MIN_ANSWERS shows no numbers."""
    lines = [bold(_("How it is going, per supporter"))]
    if not rows:
        lines.append(esc(_("There are no supporters yet.")))
    for name, counts in rows:
        total = sum(counts.values())
        if total < MIN_ANSWERS:
            text = _("{name}: not enough answers yet to show.").format(name=name)
        else:
            text = _(
                "{name}: {well} going well, {unsure} not sure, {change} asked for a change "
                "({total} answers)."
            ).format(
                name=name,
                well=counts.get("well", 0),
                unsure=counts.get("unsure", 0),
                change=counts.get("change", 0),
                total=total,
            )
        lines.append(esc(text))
    lines.append(
        esc(_("Numbers show once a supporter has at least {n} answers.").format(n=MIN_ANSWERS))
    )
    return Prompt("\n\n".join(lines))
