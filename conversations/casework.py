"""What coordinators see: group notices without any personal detail, the full referral in
private, the queue, and the answers to their actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta

from conversations import callbacks, referring
from conversations.agreement import line as agreement_line
from conversations.assessment import section as assessment_section
from conversations.draft import Answer, Draft, visible_questions
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.lifecycle import Action, Refusal
from conversations.prompts import Button, Prompt, bold, esc, italic, rows
from conversations.screens import answer_text
from conversations.surveys import readable

PAGE_SIZE = 8


@dataclass(frozen=True)
class ThreadLine:
    kind: str  # note | to_referrer | from_referrer
    at: datetime
    text: str


@dataclass(frozen=True)
class CaseView:
    """One referral, as its holder may read it."""

    reference: str
    programme: Programme
    status: str
    urgent: bool
    submitted_at: datetime
    answers: dict[str, Answer]
    language: str  # the referrer's language: how their answers are labelled
    held_by_you: bool
    verified_at: datetime | None = None
    contacted_at: datetime | None = None
    thread: list[ThreadLine] = field(default_factory=list)
    closing: list[dict[str, Answer]] = field(default_factory=list)  # supporters' closing reports
    supporter: tuple[str, str] | None = None  # (name, engagement status): the latest match
    route: str = "self"  # how it came (self, professional, staff): see conversations.referring
    referred_by: str | None = None  # the coordinator who took it by phone
    referrer: list[tuple[str, str]] = field(default_factory=list)  # the professional's details
    agreement: tuple[str, str, datetime] | None = None  # (version, answer, when): the latest
    assessments: list[tuple[datetime, str, dict[str, Answer]]] = field(default_factory=list)


@dataclass(frozen=True)
class QueueItem:
    reference: str
    status: str
    urgent: bool
    submitted_at: datetime
    held_by_you: bool
    held: bool


def waited(since: datetime, now: datetime, lang: str) -> str:
    return format_timedelta(max(now - since, timedelta(0)), threshold=1.5, locale=lang)


def _when(at: datetime, programme: Programme, lang: str) -> str:
    local = at.astimezone(ZoneInfo(programme.timezone))
    return format_datetime(local, "d MMM yyyy HH:mm", locale=lang)


def status_name(status: str, _: Translate) -> str:
    return {
        "submitted": _("waiting"),
        "claimed": _("claimed"),
        "contacted": _("contacted"),
        "assessing": _("assessing"),
        "deferred": _("deferred"),
        "matched": _("matched"),
        "declined": _("declined"),
        "withdrawn": _("withdrawn"),
        "closed": _("closed"),
    }.get(status, status)


# -- the coordinators' group: reference, programme, waiting time, urgency. Nothing else. ---------


def group_notice(
    programme: Programme,
    reference: str,
    submitted_at: datetime,
    urgent: bool,
    now: datetime,
    lang: str,
    _: Translate,
    reminder: bool = False,
) -> Prompt:
    first = _("Reminder: a referral is still waiting") if reminder else _("New referral")
    lines = [
        # urgent ones say so first: the word the group sees in the chat list and notification
        (bold(_("URGENT")) + " · " if urgent else "") + esc(first),
        f"{bold(reference)} · {esc(programme.text(programme.name, lang))}",
        esc(_("Waiting: {time}").format(time=waited(submitted_at, now, lang))),
    ]
    claim = Button(_("Claim"), callbacks.case("claim", reference))
    return Prompt("\n".join(lines), ((claim,),))


def group_taken(reference: str, by: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("{reference} was claimed by {name}.").format(reference=reference, name=by))
    )


# -- the holder's private chat -----------------------------------------------------------------


def details(
    case: CaseView, actions: list[Action], now: datetime, lang: str, _: Translate
) -> Prompt:
    """The whole referral for its holder (sent with protect_content)."""
    p = case.programme
    head = [
        esc(_("Referral {reference}").format(reference=case.reference))
        + (" · " + bold(_("URGENT")) if case.urgent else ""),
        esc(_("Programme: {name}").format(name=p.text(p.name, lang))),
        esc(_("Status: {status}").format(status=status_name(case.status, _))),
        esc(
            _("Sent: {when} (waiting {time})").format(
                when=_when(case.submitted_at, p, lang), time=waited(case.submitted_at, now, lang)
            )
        ),
    ]
    if case.verified_at is not None:
        head.append(
            esc(
                _("Verified on {when}; the answers used to verify are deleted.").format(
                    when=_when(case.verified_at, p, lang)
                )
            )
        )
    if case.supporter is not None:
        name, state = case.supporter
        head.append(
            esc(
                _("Supporter: {name} ({state})").format(
                    name=name or _("(no name)"), state=engagement_state(state, _)
                )
            )
        )
    head += referring.made_for_them(case.route, case.referred_by, _)
    if case.agreement is not None:  # the confidentiality agreement (issue #15)
        version, answer, at = case.agreement
        head.append(esc(agreement_line(version, answer, at, p.timezone, _)))
    body = _answers(case, _)
    if case.referrer:
        body.append(bold(_("The professional who referred them")))
        body += [f"{bold(label)}\n{esc(value)}" for label, value in case.referrer]
    thread = [_thread_line(line, p, lang, _) for line in case.thread]
    parts = ["\n".join(head), "\n".join(body)]
    if thread:
        parts.append(bold(_("Notes and messages")) + "\n" + "\n".join(thread))
    if case.assessments:  # the initial assessment (issue #15)
        parts.append(assessment_section(p, case.assessments, lang, _))
    for report in case.closing:
        lines = [f"{bold(q)}\n{esc(a)}" for _id, q, a in readable(p, "closing", report, lang, _)]
        parts.append("\n".join([bold(_("The supporter's closing report")), *lines]))
    return Prompt("\n\n".join(parts), action_buttons(case.reference, actions, _))


def engagement_state(status: str, _: Translate) -> str:
    return {
        "offered": _("asked, no answer yet"),
        "accepted": _("said yes"),
        "declined": _("said no"),
        "withdrawn": _("offer withdrawn"),
        "ended": _("support ended"),
    }.get(status, status)


def _answers(case: CaseView, _: Translate) -> list[str]:
    p = case.programme
    draft = Draft(programme=p.id, language=case.language, answers=case.answers)
    lines = []
    for q in visible_questions(p, case.answers):
        if not q.answerable or q.id not in case.answers:
            continue
        label = p.text(q.text, case.language)
        mark = " " + italic(_("(to verify)")) if q.role == "verification" else ""
        lines.append(f"{bold(label)}{mark}\n{esc(answer_text(p, draft, q, _))}")
    return lines


def _thread_line(line: ThreadLine, p: Programme, lang: str, _: Translate) -> str:
    who = {"note": _("Note"), "to_referrer": _("You wrote"), "from_referrer": _("They wrote")}.get(
        line.kind, line.kind
    )
    return f"{esc(_when(line.at, p, lang))} · {bold(who)}\n{esc(line.text)}"


def action_label(action: Action, _: Translate) -> str:
    return {
        "claim": _("Claim"),
        "take": _("Take over"),
        "unassign": _("Unassign"),
        "contacted": _("Contacted"),
        "assessing": _("Assessing"),
        "verify": _("Verified"),
        "note": _("Add a note"),
        "message": _("Write to them"),
        "defer": _("Defer"),
        "match": _("Match"),
        "decline": _("Decline"),
        "withdrawn": _("Withdrawn"),
        "close": _("Close"),
    }[action]


def action_buttons(
    reference: str, actions: list[Action], _: Translate
) -> tuple[tuple[Button, ...], ...]:
    buttons = [Button(action_label(a, _), callbacks.case(a, reference)) for a in actions]
    return rows(buttons, 3)


def queue_page(
    items: list[QueueItem],
    total: int,
    page: int,
    view: str,
    now: datetime,
    lang: str,
    _: Translate,
) -> Prompt:
    title = _("Your referrals") if view == "mine" else _("Open referrals")
    if not items:
        return Prompt(esc(_("{title}: none.").format(title=title)))
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    lines = [
        esc(
            _("{title} ({total}), page {page} of {pages}").format(
                title=title, total=total, page=page + 1, pages=pages
            )
        )
    ]
    for item in items:
        owner = _("yours") if item.held_by_you else _("claimed") if item.held else _("unclaimed")
        urgent = bold(_("URGENT")) + " · " if item.urgent else ""
        lines.append(
            f"{urgent}{bold(item.reference)} · {esc(status_name(item.status, _))} · "
            f"{esc(owner)} · {esc(waited(item.submitted_at, now, lang))}"
        )
    buttons = [Button(i.reference, callbacks.case("view", i.reference)) for i in items]
    nav = []
    if page > 0:
        nav.append(Button("← " + _("Newer"), callbacks.queue(view, page - 1)))
    if page + 1 < pages:
        nav.append(Button(_("Older") + " →", callbacks.queue(view, page + 1)))
    return Prompt("\n".join(lines), (*rows(buttons, 2), *((tuple(nav),) if nav else ())))


# -- answers to coordinator actions ------------------------------------------------------------


def refused(refusal: Refusal, _: Translate) -> str:
    return {
        "not_held": _("You do not hold this referral. Take it over first."),
        "closed": _("This referral is closed."),
        "taken": _("Someone else claimed it first."),
        "not_taken": _("Nobody holds this referral: claim it instead."),
        "wrong_status": _("That does not fit the referral's status now."),
        "done_already": _("That is done already."),
    }[refusal]


def not_a_coordinator(_: Translate) -> Prompt:
    return Prompt(esc(_("Sorry, this is only for the service's coordinators.")))


def not_found(reference: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("No referral {reference} in your programmes.").format(reference=reference))
    )


def done(action: Action, reference: str, status: str, _: Translate) -> Prompt:
    return Prompt(
        esc(
            _("{reference}: {action} — now {status}.").format(
                reference=reference, action=action_label(action, _), status=status_name(status, _)
            )
        )
    )


def ask_text(action: Action, reference: str, _: Translate, *, screen: int) -> Prompt:
    text = {
        "note": _("Type the note for {reference}. Only coordinators see it."),
        "message": _(
            "Type your message to the person who sent {reference}. They see it as from "
            "the team, not from your account."
        ),
        "match": _("Type who {reference} is matched with (the supporter's name or code)."),
    }[action if action in ("note", "message", "match") else "note"]
    cancel = Button(_("Cancel"), callbacks.case_step(screen, "stop", reference))
    return Prompt(esc(text.format(reference=reference)), ((cancel,),))


def confirm_verify(reference: str, _: Translate) -> Prompt:
    text = _(
        "Have you checked who sent {reference}? The answers used to check (for example the "
        "clinic and medicine) will be deleted for good."
    ).format(reference=reference)
    keyboard = (
        (Button(_("Yes, verified: delete them"), callbacks.case("verified", reference)),),
        (Button(_("Cancel"), callbacks.case("stop", reference)),),
    )
    return Prompt(esc(text), keyboard)


def choose_resources(
    programme: Programme,
    reference: str,
    picked: list[str],
    lang: str,
    _: Translate,
    *,
    screen: int,
) -> Prompt:
    """Defer with signposting: tick resources from the programme's directory, then send."""
    text = "\n\n".join(
        [
            esc(
                _("Defer {reference}: which services should we suggest to them?").format(
                    reference=reference
                )
            ),
            italic(_("They get a kind message with these and an open invitation to come back.")),
        ]
    )
    buttons = [
        Button(
            ("☑ " if r.id in picked else "☐ ") + programme.text(r.name, lang),
            callbacks.case_step(screen, "res", reference, i),
        )
        for i, r in enumerate(programme.signposting)
    ]
    keyboard = (
        *rows(buttons, 1),
        (Button(_("Send and defer"), callbacks.case_step(screen, "deferok", reference)),),
        (Button(_("Cancel"), callbacks.case_step(screen, "stop", reference)),),
    )
    return Prompt(text, keyboard)


def from_referrer(reference: str, text: str, _: Translate) -> Prompt:
    return Prompt(
        bold(_("Message about {reference}").format(reference=reference)) + "\n\n" + esc(text)
    )


def invite_joined(role: str, programme: Programme, lang: str, _: Translate) -> Prompt:
    what = _("a coordinator") if role == "coordinator" else _("a peer supporter")
    return Prompt(
        esc(
            _("Welcome. You are now {what} for {name}.").format(
                what=what, name=programme.text(programme.name, lang)
            )
        )
    )


def invite_refused(_: Translate) -> Prompt:
    return Prompt(
        esc(_("That code does not work. It may be used or out of date. Ask for a new one."))
    )


def group_id(chat_id: int, _: Translate) -> Prompt:
    return Prompt(
        esc(
            _("This group's id is {id}. Put it in the config as coordinator_chat.").format(
                id=chat_id
            )
        )
    )


def coordinator_help(_: Translate) -> Prompt:
    lines = [
        _("Coordinator commands"),
        _("/queue — open referrals of your programmes"),
        _("/mine — the referrals you hold"),
        _("/referral CODE — open one referral"),
        _("/revoke ID — take someone's role away (you confirm first)"),
        _("/applicants — volunteers: their steps, training, checks and supervision"),
        _("/invite supporter PROGRAMME — a one-time code to join (or coordinator)"),
        _("Match on a referral — suggested peer supporters, best fit first"),
        _("Claim referrals with the button in the group. Details come here, in private."),
    ]
    return Prompt("\n".join(esc(line) for line in lines))


def summary(
    reference: str,
    status: str,
    urgent: bool,
    submitted_at: datetime,
    held: bool,
    now: datetime,
    lang: str,
    _: Translate,
    actions: list[Action],
) -> Prompt:
    """What a coordinator who does not hold a referral may see: no personal detail."""
    owner = _("claimed by someone else") if held else _("unclaimed")
    text = " · ".join(
        [
            bold(reference) + (" " + bold(_("URGENT")) if urgent else ""),
            esc(status_name(status, _)),
            esc(owner),
            esc(waited(submitted_at, now, lang)),
        ]
    )
    return Prompt(text, action_buttons(reference, actions, _))


def cancelled(_: Translate) -> Prompt:
    return Prompt(esc(_("Cancelled.")))


def now_holding(reference: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("You hold {reference} now. The details follow.").format(reference=reference))
    )


def status_now(reference: str, status: str, actions: list[Action], _: Translate) -> Prompt:
    return Prompt(
        esc(
            _("{reference} is now {status}.").format(
                reference=reference, status=status_name(status, _)
            )
        ),
        action_buttons(reference, actions, _),
    )


def back_in_queue(reference: str, _: Translate) -> Prompt:
    return Prompt(esc(_("{reference} is back in the queue.").format(reference=reference)))


def note_added(reference: str, actions: list[Action], _: Translate) -> Prompt:
    return Prompt(
        esc(_("Note added to {reference}.").format(reference=reference)),
        action_buttons(reference, actions, _),
    )


def message_sent(reference: str, actions: list[Action], _: Translate) -> Prompt:
    return Prompt(
        esc(_("Sent to the person who sent {reference}.").format(reference=reference)),
        action_buttons(reference, actions, _),
    )


def contact_reminder(reference: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("Reminder: {reference} is waiting for first contact.").format(reference=reference)),
        action_buttons(reference, ["contacted"], _),
    )


def urgent_for_holder(reference: str, _: Translate) -> Prompt:
    """Crisis words were seen: the holder is told it is urgent, never what was written."""
    text = "\n".join(
        [
            bold(_("URGENT")) + " · " + bold(reference),
            esc(_("The person may need support soon. Please contact them as soon as you can.")),
        ]
    )
    return Prompt(text, ((Button(_("Open"), callbacks.case("view", reference)),),))


def withdrawn(reference: str, _: Translate) -> Prompt:
    return Prompt(
        esc(
            _("{reference} was withdrawn: the person deleted everything they gave us.").format(
                reference=reference
            )
        )
    )


def reopened_for_holder(reference: str, _: Translate) -> Prompt:
    """The holder: the person asked for support again (the reference only)."""
    return Prompt(
        esc(
            _("{reference}: the person would like support again. It is open again.").format(
                reference=reference
            )
        )
    )
