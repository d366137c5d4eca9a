"""Screens of the intake: what each step looks like on a phone.

Every message starts with a neutral first line, because that line may show on a lock screen.
"""

from __future__ import annotations

from collections.abc import Sequence

from conversations import callbacks
from conversations.answers import choice_ids, option_label
from conversations.draft import Answer, Draft, most_questions, progress, visible_questions
from conversations.forms import Programme, Question, ServiceConfig
from conversations.i18n import LANGUAGE_NAMES, Translate
from conversations.preferences import CHOICES, SETTINGS
from conversations.prompts import Button, Prompt, bold, esc, italic, rows

TICK, BOX = "☑", "☐"


def welcome(programme: Programme, language: str, _: Translate) -> Prompt:
    return Prompt(esc(programme.text(programme.welcome, language)))


def privacy(
    programme: Programme,
    language: str,
    offered: list[str],
    _: Translate,
    source: str | None = None,
    ask: str | None = None,
) -> Prompt:
    """The privacy notice and the consent question. Nothing is stored before a Yes.

    ``source``: the id of the link the person came by; it rides on the Yes and language buttons
    (an id from the config, nothing the person said) so that it can be kept with the referral.
    ``ask``: another consent question (a questionnaire's, say a professional's)."""
    text = "\n\n".join(
        [
            bold(_("Before we start")),
            esc(programme.text(programme.privacy, language)),
            esc(
                ask
                or _("Do you agree that we keep your answers to help you find a peer supporter?")
            ),
        ]
    )
    buttons = [
        [Button(_("Yes, I agree"), callbacks.consent("y", programme.id, language, source))],
        [Button(_("No, thank you"), callbacks.consent("n", programme.id, language))],
    ]
    others = [code for code in offered if code != language]
    buttons.append(
        [
            Button(LANGUAGE_NAMES.get(c, c), callbacks.consent("L", programme.id, c, source))
            for c in others
        ]
    )
    return Prompt(text, tuple(tuple(row) for row in buttons if row))


def opening(
    programme: Programme,
    language: str,
    offered: list[str],
    _: Translate,
    source: str | None = None,
    ask: str | None = None,
) -> Prompt:
    """The welcome and the privacy notice in one message (one call, not two), with the
    consent buttons. Its first line is the welcome's, which is neutral."""
    notice = privacy(programme, language, offered, _, source, ask)
    return Prompt(welcome(programme, language, _).text + "\n\n" + notice.text, notice.buttons)


def choose_programme(config: ServiceConfig, language: str, _: Translate) -> Prompt:
    buttons = [
        Button(p.text(p.name, language), callbacks.consent("p", p.id, language))
        for p in config.programmes
    ]
    return Prompt(esc(_("Hello. Which service would you like to contact?")), rows(buttons, 1))


def no_consent(programme: Programme, language: str, _: Translate) -> Prompt:
    text = "\n\n".join(
        [
            esc(_("That is fine. We have not kept anything you sent.")),
            esc(programme.text(programme.no_consent, language)),
            esc(_("If you change your mind, send /start.")),
        ]
    )
    return Prompt(text)


def question(programme: Programme, draft: Draft, q: Question, _: Translate) -> Prompt:
    """One question, with its buttons, a progress cue and a way back."""
    lang = draft.language
    lines = []
    if q.answerable:
        number, total = progress(programme, draft, q)
        cue = (
            _("Question {number}").format(number=number)
            if total is None
            else _("Question {number} of {total}").format(number=number, total=total)
        )
        lines.append(esc(cue))
    else:
        lines.append(esc(_("Good to know")))
    lines.append(bold(question_text(programme, q, lang)))
    if q.hint is not None:
        lines.append(italic(programme.text(q.hint, lang)))
    current = draft.answers.get(q.id) if q.id in draft.answers else _UNSET
    if current is not _UNSET and q.kind in ("text", "number", "date"):
        shown = _("(no answer)") if current is None else str(current)
        lines.append(esc(_("Your answer now: {answer}").format(answer=shown)))
    lines.append(italic(_instruction(q, _)))
    return Prompt("\n\n".join(lines), _question_buttons(programme, draft, q, current, _))


_UNSET: Answer | object = object()

#: In a form's texts (the welcome, say), the most questions the form can ask.
QUESTIONS_PLACEHOLDER = "{questions}"


def question_text(programme: Programme, q: Question, language: str) -> str:
    """A question's text; ``{questions}`` in it is the count `peerdoor check-config` prints."""
    text = programme.text(q.text, language)
    return text.replace(QUESTIONS_PLACEHOLDER, str(most_questions(programme)))


def _instruction(q: Question, _: Translate) -> str:
    return {
        "single": _("Tap one answer."),
        "yesno": _("Tap one answer."),
        "multi": _("Tap all that fit, then tap Done."),
        "text": _("Type your answer and send it."),
        "number": _("Type a number and send it."),
        "date": _("Type a date, like 31/12/2025."),
        "info": _("Tap Continue when you are ready."),
    }[q.kind]


def _question_buttons(
    programme: Programme, draft: Draft, q: Question, current: object, _: Translate
) -> tuple[tuple[Button, ...], ...]:
    screen = draft.screen
    keyboard: list[tuple[Button, ...]] = []
    if q.kind in ("single", "yesno"):
        options = [
            Button(
                _marked(programme, draft, q, oid, current == oid, _),
                callbacks.draft(screen, "o", i),
            )
            for i, oid in enumerate(choice_ids(q))
        ]
        keyboard += rows(options, 2 if q.kind == "yesno" else 1)
    elif q.kind == "multi":
        options = [
            Button(
                f"{TICK if oid in draft.picked else BOX} "
                + option_label(programme, q, oid, draft.language, _),
                callbacks.draft(screen, "t", i),
            )
            for i, oid in enumerate(choice_ids(q))
        ]
        keyboard += rows(options, 1)
        keyboard.append((Button(_("Done"), callbacks.draft(screen, "d")),))
    elif q.kind == "info":
        keyboard.append((Button(_("Continue"), callbacks.draft(screen, "i")),))
    nav = []
    if q.answerable and not q.required:
        label = _("Prefer not to say") if q.skip_label == "prefer_not" else _("Skip")
        nav.append(Button(label, callbacks.draft(screen, "s")))
    if current is not _UNSET and q.kind in ("text", "number", "date"):
        nav.append(Button(_("Keep my answer"), callbacks.draft(screen, "k")))
    if nav:
        keyboard.append(tuple(nav))
    keyboard.append(
        (Button("← " + _("Back"), callbacks.draft(screen, "b")), exit_button(screen, _))
    )
    return tuple(keyboard)


def exit_button(screen: int, _: Translate) -> Button:
    """On every screen of the form: leave at once, clearing the chat."""
    return Button("✕ " + _("Exit"), callbacks.draft(screen, "x"))


def exited(_: Translate) -> Prompt:
    """The one line left after a quick exit: it says nothing about what this chat was."""
    return Prompt(esc(_("Bye for now.")))


def _marked(
    programme: Programme, draft: Draft, q: Question, option_id: str, chosen: bool, _: Translate
) -> str:
    label = option_label(programme, q, option_id, draft.language, _)
    return f"{label} ✓" if chosen else label


def answer_text(programme: Programme, draft: Draft, q: Question, _: Translate) -> str:
    """An answer as the person would read it back (not escaped)."""
    value = draft.answers.get(q.id)
    if value is None:
        return _("Prefer not to say") if q.skip_label == "prefer_not" else _("(no answer)")
    if isinstance(value, list):
        labels = [option_label(programme, q, v, draft.language, _) for v in value]
        return ", ".join(labels)
    if q.kind in ("single", "yesno"):
        return option_label(programme, q, str(value), draft.language, _)
    return str(value)


def choice_label(key: str, _: Translate) -> str:
    return {
        "checkins": _("Short check-in messages while I wait"),
        "feedback": _("A short feedback survey at the end"),
        "discreet": _("Keep messages discreet"),
        "silent": _("Silent notifications"),
        "session_reminders": _("A short reminder before each meeting"),
    }[key]


def choices(
    draft: Draft, _: Translate, keys: Sequence[str] = CHOICES, lines: list[str] | None = None
) -> Prompt:
    """The last step before the review: what else the person agrees to. Nothing is ticked
    for them except discretion. ``keys`` and ``lines``: other choices, explained otherwise
    (a coordinator asking them for someone on the phone)."""
    lines = lines or [
        esc(_("A few choices")),
        esc(_("Tick what you would like. You can change these later with /privacy.")),
        esc(
            _(
                "Check-ins: now and then we ask how you are while you wait. "
                "Feedback: at the end we ask a few questions about our service, without your "
                "name. Discreet: our messages never say what they are about in the first line. "
                "Silent: our messages arrive without a sound."
            )
        ),
    ]
    buttons = [
        Button(
            ("☑ " if draft.choices.get(key) else "☐ ") + choice_label(key, _),
            callbacks.draft(draft.screen, "ct", i),
        )
        for i, key in enumerate(keys)
    ]
    keyboard = (
        *rows(buttons, 1),
        (Button(_("Done"), callbacks.draft(draft.screen, "cd")),),
        (
            Button("← " + _("Back"), callbacks.draft(draft.screen, "b")),
            exit_button(draft.screen, _),
        ),
    )
    return Prompt("\n\n".join(lines), keyboard)


def review(
    programme: Programme, draft: Draft, _: Translate, choices: Sequence[str] = CHOICES
) -> Prompt:
    """Every answer, each with a number to tap to change it, and Send. ``choices``: the
    person's choices that were asked (check-ins...), shown and open to change (none: a
    questionnaire that asks none, like a professional's)."""
    answerable = [q for q in visible_questions(programme, draft.answers) if q.answerable]
    lines = [
        esc(_("Please check your answers")),
        "",
        *_answer_lines(programme, draft, _, choices),
        "",
    ]
    lines.append(
        italic(_("To change an answer, tap its number. When it looks right, tap Send my form."))
    )
    edits = [
        Button(f"✎ {i}", callbacks.draft(draft.screen, "e", i))
        for i in range(1, len(answerable) + 1)
    ]
    change_choices = (Button("✎ " + _("Choices"), callbacks.draft(draft.screen, "ec")),)
    keyboard = (
        *rows(edits, 5),
        *((change_choices,) if choices else ()),
        (Button(_("Send my form"), callbacks.draft(draft.screen, "S")),),
        (
            Button("← " + _("Back"), callbacks.draft(draft.screen, "b")),
            exit_button(draft.screen, _),
        ),
    )
    return Prompt("\n".join(lines), keyboard)


def _answer_lines(
    programme: Programme, draft: Draft, _: Translate, choices: Sequence[str] = CHOICES
) -> list[str]:
    """Each answer under its question, numbered, then the choices asked: the review's body."""
    lang = draft.language
    answerable = [q for q in visible_questions(programme, draft.answers) if q.answerable]
    lines = [
        f"{i}. {bold(programme.text(q.text, lang))}\n{esc(answer_text(programme, draft, q, _))}"
        for i, q in enumerate(answerable, start=1)
    ]
    if choices:
        chosen = [choice_label(k, _) for k in choices if draft.choices.get(k)]
        lines.append("")
        lines.append(
            bold(_("Your choices")) + "\n" + esc(", ".join(chosen) if chosen else _("none"))
        )
    return lines


def confirm_cancel(draft: Draft, _: Translate) -> Prompt:
    text = "\n\n".join(
        [
            esc(_("Delete your answers?")),
            esc(_("This deletes everything you have typed so far. It cannot be undone.")),
        ]
    )
    keyboard = (
        (Button(_("Yes, delete them"), callbacks.draft(draft.screen, "X")),),
        (Button(_("No, go back to the form"), callbacks.draft(draft.screen, "R")),),
    )
    return Prompt(text, keyboard)


def language_choice(draft: Draft, offered: list[str], _: Translate) -> Prompt:
    buttons = [
        Button(LANGUAGE_NAMES.get(code, code), callbacks.draft(draft.screen, "L", code))
        for code in offered
    ]
    keyboard = (*rows(buttons, 2), (Button("← " + _("Back"), callbacks.draft(draft.screen, "R")),))
    return Prompt(esc(_("Which language would you like?")), keyboard)


def submitted(
    programme: Programme,
    language: str,
    reference: str,
    _: Translate,
    sent: Draft | None = None,
) -> list[Prompt]:
    """What the person reads after sending: reference, what happens next, what they sent
    (``sent``: the draft as it was sent), where to get help. One message: it takes the review
    screen's place (edited in), so the answers stay in front of the person."""
    first = "\n\n".join(
        [
            esc(_("Thank you. Your form has been sent.")),
            esc(_("Your reference is {reference}. Please keep it.")).format(
                reference=f"<b>{esc(reference)}</b>"
            ),
            _will_contact(programme, language, _),
            esc(programme.text(programme.next_steps, language)),
        ]
    )
    help_text = "\n\n".join(
        [
            bold(_("If you need help now")),
            esc(programme.text(programme.emergency, language)),
            bold(_("If you are unhappy with our service")),
            esc(programme.text(programme.complaints, language)),
        ]
    )
    if sent is None:
        return [Prompt(first + "\n\n" + help_text)]
    answers = "\n".join([bold(_("What you sent")), "", *_answer_lines(programme, sent, _)])
    return [Prompt("\n\n".join([first, answers, help_text]))]


def _will_contact(programme: Programme, language: str, _: Translate) -> str:
    """The programme's promise of when it will be in touch (an open referral only)."""
    when = programme.text(programme.response_time, language)
    return esc(_("We will contact you {when}.").format(when=when))


def already_sent(programme: Programme, language: str, reference: str, _: Translate) -> Prompt:
    text = "\n\n".join(
        [
            esc(_("Hello again.")),
            esc(_("We have your form. Your reference is {reference}.")).format(
                reference=f"<b>{esc(reference)}</b>"
            ),
            _will_contact(programme, language, _),
            esc(programme.text(programme.emergency, language)),
        ]
    )
    return Prompt(text)


def come_back(reference: str, status: str, _: Translate) -> Prompt:
    """Someone whose referral was deferred or has ended writes again: would they like support?"""
    if status == "deferred":
        where = _("Last time, we paused your referral {reference} for now.")
        next_step = _("Would you like support again? We will carry on where we left off.")
    else:
        where = _("Your referral {reference} is closed.")
        next_step = _("Would you like support again? You can fill in a new form.")
    text = "\n\n".join(
        [
            esc(_("Hello again.")),
            esc(where).format(reference=f"<b>{esc(reference)}</b>"),
            esc(next_step),
        ]
    )
    buttons = (
        (Button(_("Yes, please"), callbacks.account("again")),),
        (Button(_("Not now"), callbacks.account("notnow")),),
    )
    return Prompt(text, buttons)


def door_stays_open(_: Translate) -> Prompt:
    return Prompt(esc(_("That is fine. The door stays open. Send /start any time you are ready.")))


def reopened(programme: Programme, language: str, reference: str, _: Translate) -> Prompt:
    text = "\n\n".join(
        [
            esc(_("Thank you. We have told the team you would like support again.")),
            esc(_("Your reference is still {reference}.")).format(
                reference=f"<b>{esc(reference)}</b>"
            ),
            _will_contact(programme, language, _),
        ]
    )
    return Prompt(text)


def help_screen(programme: Programme | None, draft: Draft | None, _: Translate) -> Prompt:
    where = _("You have not started a form.")
    if draft is not None and programme is not None:
        q = programme.question(draft.current or "")
        if draft.phase == "review":
            where = _("You are checking your answers before you send them.")
        elif q is not None and q.answerable:
            number, total = progress(programme, draft, q)
            where = (
                _("You are on question {number}.").format(number=number)
                if total is None
                else _("You are on question {number} of {total}.").format(
                    number=number, total=total
                )
            )
    lines = [
        esc(_("How this chat works")),
        esc(where),
        esc(_("Your answers are saved as you go. You can stop and come back any time.")),
        esc(_("/back goes back one question.")),
        esc(_("/language changes the language.")),
        esc(
            _(
                "/exit clears this chat at once and deletes your unfinished form. "
                "/exit keep clears the chat but keeps your answers."
            )
        ),
        esc(_("/cancel deletes your unfinished form.")),
        esc(_("/delete deletes everything we hold about you.")),
        esc(_("/pause stops messages from us for a while.")),
        esc(_("/privacy shows and changes your choices.")),
        esc(_("/start shows where you are.")),
    ]
    return Prompt("\n".join(lines))


def resumed(_: Translate) -> Prompt:
    return Prompt(esc(_("Welcome back. Here is where you stopped.")))


def under_age(programme: Programme, language: str, _: Translate) -> Prompt:
    text = "\n\n".join(
        [
            esc(_("Thank you for telling us.")),
            esc(
                _(
                    "This service is for people aged {age} or over. We have not kept your answers."
                ).format(age=programme.min_age)
            ),
            esc(programme.text(programme.under_age, language)),
        ]
    )
    return Prompt(text)


def cancelled(_: Translate) -> Prompt:
    text = "\n\n".join(
        [
            esc(_("Done. Your answers are deleted.")),
            esc(_("You can start again any time with /start.")),
        ]
    )
    return Prompt(text)


def only_text(_: Translate) -> Prompt:
    return Prompt(
        esc(_("I can only read typed text. Please type your answer, or use the buttons."))
    )


def went_wrong(_: Translate) -> Prompt:
    return Prompt(
        esc(
            _(
                "Sorry, something went wrong on our side. Your earlier answers are saved. "
                "Please try again in a moment."
            )
        )
    )


def command_menu(_: Translate) -> list[tuple[str, str]]:
    """The bot's command list, as Telegram shows it in the menu."""
    return [
        ("start", _("Start, or carry on where you stopped")),
        ("back", _("Go back one question")),
        ("help", _("How this chat works")),
        ("language", _("Change the language")),
        ("cancel", _("Delete your unfinished form")),
        ("exit", _("Clear this chat now")),
        ("pause", _("Pause messages from us")),
        ("stop", _("Stop check-ins")),
        ("privacy", _("Your choices and privacy")),
        ("delete", _("Delete everything we hold about you")),
    ]


def expired_notice(_: Translate) -> str:
    """The answer to a button from an old message, or one that was never ours."""
    return _("This button has expired. Please use the newest message.")


def confirm_delete(_: Translate) -> Prompt:
    text = "\n\n".join(
        [
            esc(_("Delete everything?")),
            esc(
                _(
                    "This deletes everything we hold about you: your answers, your form and "
                    "any messages. We cannot undo it. If you want support later, you can start "
                    "again."
                )
            ),
        ]
    )
    keyboard = (
        (Button(_("Yes, delete everything"), callbacks.account("del")),),
        (Button(_("No, keep it"), callbacks.account("keep")),),
    )
    return Prompt(text, keyboard)


def deleted_everything(_: Translate) -> Prompt:
    return Prompt(esc(_("Done. Everything we held about you is deleted.")))


def kept_everything(_: Translate) -> Prompt:
    return Prompt(esc(_("Nothing was deleted.")))


def nothing_held(_: Translate) -> Prompt:
    return Prompt(esc(_("We do not hold anything about you.")))


#: Pause choices: callback action -> hours.
PAUSES: dict[str, int] = {"p1h": 1, "p1d": 24, "p1w": 24 * 7, "p4w": 24 * 28}


def pause_choice(_: Translate, paused_until: str | None) -> Prompt:
    """/pause: no messages from us for a while (we never message first during that time)."""
    lines = [esc(_("Pause messages from us?"))]
    if paused_until:
        lines.append(esc(_("Messages are paused until {when}.").format(when=paused_until)))
    lines.append(
        esc(
            _(
                "While paused, we send you nothing. Anything we would have sent waits "
                "until the pause ends."
            )
        )
    )
    labels = {
        "p1h": _("For 1 hour"),
        "p1d": _("For 1 day"),
        "p1w": _("For 1 week"),
        "p4w": _("For 4 weeks"),
    }
    buttons = [Button(label, callbacks.account(code)) for code, label in labels.items()]
    keyboard = list(rows(buttons, 2))
    if paused_until:
        keyboard.append((Button(_("Start messages again now"), callbacks.account("resume")),))
    keyboard.append((Button(_("Cancel"), callbacks.account("same")),))
    return Prompt("\n\n".join(lines), tuple(keyboard))


def nothing_changed(_: Translate) -> Prompt:
    return Prompt(esc(_("OK, nothing has changed.")))


def paused(until: str, _: Translate) -> Prompt:
    return Prompt(
        esc(
            _(
                "Done. We will not send you anything until {when}. Send /pause to change this."
            ).format(when=until)
        )
    )


def resumed_messages(_: Translate) -> Prompt:
    return Prompt(esc(_("Done. Messages from us can arrive again.")))


def privacy_settings(choices: dict[str, bool], _: Translate) -> Prompt:
    """/privacy: the person's choices, to change at any time, and how to withdraw."""
    lines = [
        esc(_("Your choices")),
        esc(_("Tap one to change it. Turning off check-ins or feedback stops them.")),
        esc(
            _("To withdraw your agreement for your form, delete everything with the last button.")
        ),
    ]
    buttons = [
        Button(
            ("☑ " if choices.get(key) else "☐ ") + choice_label(key, _), callbacks.account(f"t{i}")
        )
        for i, key in enumerate(SETTINGS)
    ]
    keyboard = (
        *rows(buttons, 1),
        (Button(_("Delete everything we hold about you"), callbacks.account("askdel")),),
    )
    return Prompt("\n\n".join(lines), keyboard)


def reminders_need_checkins(_: Translate) -> str:
    return _("Reminders are part of check-ins. Please turn on check-ins first.")


def privacy_changed(programme: Programme, language: str, _: Translate) -> Prompt:
    """The privacy notice changed since the person agreed: show it again before anything."""
    text = "\n\n".join(
        [
            esc(_("Something has changed")),
            esc(_("We have changed how we look after your answers. Please read it again.")),
            esc(programme.text(programme.privacy, language)),
        ]
    )
    keyboard = (
        (Button(_("Yes, I agree"), callbacks.account("reagree")),),
        (Button(_("Delete everything we hold about you"), callbacks.account("askdel")),),
    )
    return Prompt(text, keyboard)


def thanks_agreed(_: Translate) -> Prompt:
    return Prompt(esc(_("Thank you. Send /start to carry on.")))
