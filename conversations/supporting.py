"""What peer supporters see (their profile, a hand-over to accept or decline) and the
coordinator's match screens (ranked suggestions with reasons, what to share)."""

from __future__ import annotations

from collections.abc import Sequence

from conversations import callbacks
from conversations.answers import option_label
from conversations.draft import Answer, Draft, visible_questions
from conversations.forms import CHOICE_MATCHES, Programme, Question
from conversations.i18n import Translate
from conversations.matching import MAX_CAPACITY, Profile, Reason, Suggestion
from conversations.prompts import Button, Prompt, bold, esc, italic, rows
from conversations.screens import answer_text

#: Profile fields in the order the profile shows them.
FIELDS: tuple[str, ...] = (
    "name",
    "gender",
    "languages",
    "availability",
    "setting",
    "area",
    "interests",
    "capacity",
)
TYPED_FIELDS: tuple[str, ...] = ("name", "area", "interests", "capacity")
MAX_SUGGESTIONS = 6
_LABEL_WIDTH = 36


def field_label(name: str, _: Translate) -> str:
    return {
        "name": _("Name"),
        "gender": _("Gender"),
        "languages": _("Languages"),
        "availability": _("Free"),
        "setting": _("Meet"),
        "area": _("Area"),
        "interests": _("Interests"),
        "capacity": _("People at once"),
    }[name]


def choices_for(programme: Programme, name: str) -> list[str]:
    """The option ids a supporter may pick for a choice field (no 'no preference' ones)."""
    question = programme.matching(name)
    if question is None:
        return []
    return [o.id for o in question.options if not o.any]


def _labels(programme: Programme, name: str, ids: Sequence[str], lang: str, _: Translate) -> str:
    question = programme.matching(name)
    if question is None:
        return ", ".join(ids)
    return ", ".join(option_label(programme, question, i, lang, _) for i in ids)


def field_value(
    programme: Programme, profile: Profile, name: str, live: int, lang: str, _: Translate
) -> str:
    if name == "capacity":
        return _("{capacity} (now {live})").format(capacity=profile.capacity, live=live)
    if name in ("name", "area", "interests"):
        return getattr(profile, name) or _("(not set)")
    chosen = (
        ([profile.gender] if profile.gender else [])
        if name == "gender"
        else getattr(profile, name)
    )
    return _labels(programme, name, chosen, lang, _) if chosen else _("(not set)")


def fields_of(programme: Programme) -> list[str]:
    """The fields this programme's form matches on (plus name and capacity, always)."""
    return [f for f in FIELDS if f in ("name", "capacity") or programme.matching(f) is not None]


def profile_screen(
    programme: Programme,
    profile: Profile,
    paused: bool,
    live: int,
    lang: str,
    _: Translate,
    *,
    screen: int,
) -> Prompt:
    lines = [bold(_("Your supporter profile"))]
    for name in fields_of(programme):
        value = field_value(programme, profile, name, live, lang, _)
        lines.append(f"{esc(field_label(name, _))}: {esc(value)}")
    lines.append("")
    lines.append(
        esc(_("You are paused: coordinators will not suggest you for now."))
        if paused
        else esc(_("Coordinators can suggest you for new people."))
    )
    lines.append(italic(_("Tap a button to change something.")))
    edit = [
        Button(field_label(n, _), callbacks.profile(screen, "edit", n))
        for n in fields_of(programme)
    ]
    pause = (
        Button(_("Take new people again"), callbacks.profile(screen, "resume"))
        if paused
        else Button(_("Pause new people"), callbacks.profile(screen, "pause"))
    )
    keyboard = (
        *rows(edit, 3),
        (pause,),
        (Button(_("Leave the team"), callbacks.profile(screen, "leave")),),
    )
    return Prompt("\n".join(lines), keyboard)


def choose_screen(
    programme: Programme, profile: Profile, name: str, lang: str, _: Translate, *, screen: int
) -> Prompt:
    """Tick the options that fit (gender: one, or none)."""
    question = {
        "gender": _("How do you describe yourself? Choose one, or none."),
        "languages": _("Which languages can you talk in? Choose all that fit."),
        "availability": _("When are you usually free? Choose all that fit."),
        "setting": _("How can you meet? Choose all that fit."),
    }[name]
    ids = choices_for(programme, name)
    chosen = {profile.gender} if name == "gender" else set(getattr(profile, name))
    buttons = [
        Button(
            ("☑ " if option_id in chosen else "☐ ")
            + _labels(programme, name, [option_id], lang, _),
            callbacks.profile(screen, "tog", name, i),
        )
        for i, option_id in enumerate(ids)
    ]
    return Prompt(
        esc(question),
        (*rows(buttons, 1), (Button(_("Done"), callbacks.profile(screen, "show")),)),
    )


def ask_field(name: str, _: Translate, *, screen: int) -> Prompt:
    text = {
        "name": _("Type the name coordinators know you by (first name is fine)."),
        "area": _("Type the town or area where you can meet people."),
        "interests": _("Type a few things you enjoy, like music, cooking or football."),
        "capacity": _(
            "How many people can you support at the same time? Type a number from 0 to {most}."
        ).format(most=MAX_CAPACITY),
    }[name]
    return Prompt(esc(text), ((Button(_("Cancel"), callbacks.profile(screen, "show")),),))


def bad_capacity(_: Translate, *, screen: int) -> Prompt:
    return Prompt(
        esc(_("Please type a whole number from 0 to {most}, like 2.").format(most=MAX_CAPACITY)),
        ((Button(_("Cancel"), callbacks.profile(screen, "show")),),),
    )


def confirm_leave(_: Translate, *, screen: int) -> Prompt:
    return Prompt(
        esc(
            _(
                "Leave the supporter team? You will get no new people. The coordinator will "
                "look after the people you support now."
            )
        ),
        (
            (Button(_("Yes, leave"), callbacks.profile(screen, "leaveok")),),
            (Button(_("No, stay"), callbacks.profile(screen, "show")),),
        ),
    )


def left(_: Translate) -> Prompt:
    return Prompt(esc(_("You have left the team. Thank you for all you did.")))


def not_a_supporter(_: Translate) -> Prompt:
    return Prompt(esc(_("Sorry, this is only for the service's peer supporters.")))


def joined_next(_: Translate) -> Prompt:
    return Prompt(
        esc(_("Next, tell coordinators a little about you, so they can suggest good matches.")),
        ((Button(_("My profile"), callbacks.PROFILE_ENTRY),),),
    )


# -- the coordinator: suggestions and what to share ----------------------------------------------


def reason_text(programme: Programme, reason: Reason, lang: str, _: Translate) -> str:
    mark = "✓ " if reason.good else "✗ "
    code = reason.code
    if code in CHOICE_MATCHES:
        names = _labels(programme, code, reason.values, lang, _)
        if code == "languages":
            text = (
                _("speaks {languages}").format(languages=names)
                if reason.good
                else _("no shared language")
            )
        elif code == "availability":
            text = _("free {times}").format(times=names) if reason.good else _("no shared times")
        elif code == "gender":
            text = names if reason.good else _("asked for: {gender}").format(gender=names)
        else:
            text = names if reason.good else _("cannot meet: {setting}").format(setting=names)
    elif code == "area":
        text = _("same area")
    elif code == "interests":
        text = _("likes {things}").format(things=", ".join(reason.values))
    elif code == "room":
        free, capacity = reason.values
        text = (
            _("{free} of {capacity} places free").format(free=free, capacity=capacity)
            if reason.good
            else _("no places free")
        )
    elif code == "supervision":
        text = _("supervision overdue")
    else:
        text = _("said no to this one before")
    return mark + text


def suggestions(
    programme: Programme,
    reference: str,
    found: list[Suggestion],
    lang: str,
    _: Translate,
    *,
    screen: int,
) -> Prompt:
    """Ranked supporters, each with its reasons in a line; the coordinator decides."""
    head = esc(_("Supporters for {reference}, best fit first:").format(reference=reference))
    typed = Button(
        _("Someone else (type a name)"), callbacks.case_step(screen, "matchtext", reference)
    )
    cancel = Button(_("Cancel"), callbacks.case_step(screen, "stop", reference))
    if not found:
        text = "\n\n".join(
            [
                esc(_("No peer supporters are ready in this programme yet.")),
                italic(
                    _(
                        "Only active supporters whose training and checks are recorded are "
                        "suggested: see /applicants. Invite one with /invite supporter."
                    )
                ),
            ]
        )
        return Prompt(text, ((typed,), (cancel,)))
    lines = [head]
    unnamed = _("(no name)")
    for i, s in enumerate(found[:MAX_SUGGESTIONS], start=1):
        why = " · ".join(reason_text(programme, r, lang, _) for r in s.reasons)
        lines.append(f"{bold(f'{i}. {s.name or unnamed}')}\n{esc(why)}")
    buttons = [
        Button(f"{i}. {s.name or unnamed}", callbacks.case_step(screen, "pick", reference, i - 1))
        for i, s in enumerate(found[:MAX_SUGGESTIONS], start=1)
    ]
    return Prompt("\n\n".join(lines), (*rows(buttons, 2), (typed,), (cancel,)))


def shareable(programme: Programme, answers: dict[str, Answer]) -> list[Question]:
    """The answered questions a coordinator may pass on (never the ones used to verify)."""
    return [
        q
        for q in visible_questions(programme, answers)
        if q.answerable and q.id in answers and q.role != "verification"
    ]


def default_share(programme: Programme, answers: dict[str, Answer]) -> list[str]:
    """Ticked at first: how to address them and what matching used. Nothing else."""
    return [q.id for q in shareable(programme, answers) if q.role == "name" or q.match]


def _short(text: str) -> str:
    return text if len(text) <= _LABEL_WIDTH else text[: _LABEL_WIDTH - 1] + "…"


def choose_share(
    programme: Programme,
    reference: str,
    supporter: str,
    answers: dict[str, Answer],
    shared: list[str],
    lang: str,
    _: Translate,
    *,
    screen: int,
) -> Prompt:
    text = "\n\n".join(
        [
            esc(
                _("What should {name} know about {reference}?").format(
                    name=supporter, reference=reference
                )
            ),
            italic(_("Share only what they need to say hello and support them.")),
        ]
    )
    index = {q.id: i for i, q in enumerate(programme.form)}
    buttons = [
        Button(
            ("☑ " if q.id in shared else "☐ ") + _short(programme.text(q.text, lang)),
            callbacks.case_step(screen, "share", reference, index[q.id]),
        )
        for q in shareable(programme, answers)
    ]
    send = Button(
        _("Send to {name}").format(name=supporter), callbacks.case_step(screen, "offer", reference)
    )
    keyboard = (
        *rows(buttons, 1),
        (send,),
        (
            Button(_("Back"), callbacks.case_step(screen, "match", reference)),
            Button(_("Cancel"), callbacks.case_step(screen, "stop", reference)),
        ),
    )
    return Prompt(text, keyboard)


def offered(reference: str, supporter: str, _: Translate) -> Prompt:
    return Prompt(
        esc(
            _("Sent to {name}. You will hear here when they answer about {reference}.").format(
                name=supporter, reference=reference
            )
        )
    )


def offer_waiting(reference: str, supporter: str, _: Translate) -> Prompt:
    return Prompt(
        esc(
            _("{reference} is offered to {name}. Waiting for an answer.").format(
                reference=reference, name=supporter
            )
        ),
        (
            (Button(_("Withdraw the offer"), callbacks.case("unoffer", reference)),),
            (Button(_("Cancel"), callbacks.case("stop", reference)),),
        ),
    )


def matched_with(reference: str, supporter: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("{reference} is matched with {name}.").format(reference=reference, name=supporter))
    )


def offer_withdrawn(reference: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("The offer of {reference} is withdrawn.").format(reference=reference)),
        ((Button(_("Match"), callbacks.case("match", reference)),),),
    )


def offer_answer(reference: str, supporter: str, answer: str, _: Translate) -> Prompt:
    """For the holder: what the supporter said (or that they left)."""
    if answer == "accepted":
        text = _("{name} said yes to {reference}. Please put them in touch.")
        buttons: tuple[tuple[Button, ...], ...] = (
            (Button(_("Open"), callbacks.case("view", reference)),),
        )
    else:
        text = {
            "declined": _("{name} cannot take {reference}. Choose someone else?"),
            "left": _("{name} left the supporter team. {reference} needs a new supporter."),
        }.get(answer, _("{name} cannot take {reference}. Choose someone else?"))
        buttons = ((Button(_("Match"), callbacks.case("match", reference)),),)
    return Prompt(esc(text.format(name=supporter, reference=reference)), buttons)


# -- the supporter: the hand-over ----------------------------------------------------------------


def handover(
    programme: Programme,
    reference: str,
    engagement_id: str,
    answers: dict[str, Answer],
    shared: list[str],
    language: str,
    lang: str,
    _: Translate,
) -> Prompt:
    """Need to know: only the answers the coordinator chose, sent with protect_content."""
    draft = Draft(programme=programme.id, language=language, answers=answers)
    lines = [
        esc(_("{reference}: can you support this person?").format(reference=reference)),
        esc(_("A coordinator thinks you would be a good match.")),
    ]
    for q in programme.form:
        if q.id in shared and q.id in answers:
            label = programme.text(q.text, language)
            lines.append(f"{bold(label)}\n{esc(answer_text(programme, draft, q, _))}")
    lines.append(italic(_("If you say yes, the coordinator will put you in touch.")))
    keyboard = (
        (Button(_("Yes, I can"), callbacks.support("accept", engagement_id)),),
        (Button(_("No, not this time"), callbacks.support("decline", engagement_id)),),
    )
    return Prompt("\n\n".join(lines), keyboard)


def accepted(reference: str, _: Translate) -> Prompt:
    return Prompt(
        esc(
            _(
                "Thank you. You support {reference} now. The coordinator will put you in touch."
            ).format(reference=reference)
        )
    )


def declined(_: Translate) -> Prompt:
    return Prompt(esc(_("Thank you for saying. The coordinator will ask someone else.")))


def no_longer_open(_: Translate) -> Prompt:
    return Prompt(esc(_("This is no longer open. Thank you all the same.")))


def is_choice(name: str) -> bool:
    return name in CHOICE_MATCHES


def choice_at(programme: Programme, name: str, index: str) -> str | None:
    ids = choices_for(programme, name)
    at = callbacks.number(index)
    return ids[at] if at is not None and at < len(ids) else None


def questions_at(programme: Programme, index: str) -> Question | None:
    at = callbacks.number(index)
    if at is None or at >= len(programme.form):
        return None
    return programme.form[at]
