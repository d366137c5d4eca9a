"""A person's copy of what the service holds about them (the right of access, and portability).

Two shapes of the same content: a readable summary, sent as messages, and structured data
for a JSON file. Pure: the bot loads and decrypts, this module only arranges and words it.
Every message starts with a neutral line, because that line may show on a lock screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from conversations import applicants, group_screens, supporting, surveys
from conversations.casework import status_name
from conversations.draft import Answer, Draft
from conversations.forms import Programme, Question
from conversations.group_screens import GroupCopy
from conversations.i18n import LANGUAGE_NAMES, Translate
from conversations.prompts import Prompt, bold, esc, italic
from conversations.screens import answer_text

#: Version of the JSON layout, so a receiving service knows what it reads.
FORMAT = "peerdoor-export/1"
#: How long one message may grow before the next part starts (Telegram allows 4096).
PART_LIMIT = 3500


@dataclass(frozen=True)
class ThreadItem:
    kind: str  # note | to_referrer | from_referrer | talk_to_supporter | talk_to_person
    at: datetime
    text: str


@dataclass(frozen=True)
class Activity:
    """One audit entry of a referral: an action name and when. Never content, never who."""

    at: datetime
    action: str


@dataclass(frozen=True)
class SurveyCopy:
    """Answers given at the end of support: the person's own feedback, or the supporter's
    closing report about this referral (held with it, so part of the person's copy)."""

    kind: str  # feedback | closing
    at: datetime
    answers: dict[str, Answer]


@dataclass(frozen=True)
class MeetingCopy:
    """A session with a peer supporter: when, where, and what was logged."""

    at: datetime
    online: bool
    place: str
    outcome: str | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class ReferralCopy:
    reference: str
    programme_id: str
    programme: Programme | None  # None if the programme left the config since
    status: str
    urgent: bool
    sent_at: datetime
    answers: dict[str, Answer]
    claimed_at: datetime | None = None
    contacted_at: datetime | None = None
    verified_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: dict[str, Any] | None = None
    thread: list[ThreadItem] = field(default_factory=list)
    activity: list[Activity] = field(default_factory=list)
    surveys: list[SurveyCopy] = field(default_factory=list)
    meetings: list[MeetingCopy] = field(default_factory=list)
    source: str | None = None  # the id of the link they came by (a clinic, a group...)


@dataclass(frozen=True)
class MadeCopy:
    """A referral this person made for someone else (a professional): only their own details
    and the reference; nothing of the person they referred."""

    reference: str
    sent_at: datetime
    details: dict[str, Answer]


@dataclass(frozen=True)
class DraftCopy:
    programme: Programme | None
    draft: Draft


@dataclass(frozen=True)
class Holding:
    """Everything held about one person, opened."""

    language: str  # the language the copy is written in
    since: datetime
    settings: dict[str, Any]
    draft: DraftCopy | None
    referrals: list[ReferralCopy]
    profile: dict[str, Any] | None = None  # a peer supporter's own profile
    volunteering: list[VolunteerCopy] = field(default_factory=list)  # applications (issue 15)
    made: list[MadeCopy] = field(default_factory=list)  # referrals made for someone else
    groups: list[GroupCopy] = field(default_factory=list)  # places in peer support groups


@dataclass(frozen=True)
class VolunteerCopy:
    """A volunteer's record in one programme: their application, steps, training, notes."""

    programme_id: str | None
    programme: Programme | None
    stage: str
    record: applicants.Record


# -- the readable summary --------------------------------------------------------------------


def summary(holding: Holding, _: Translate) -> list[Prompt]:
    """The copy as messages: neutral first lines, parts cut between whole items."""
    blocks = [_overview(holding, _)]
    if holding.profile is not None:
        blocks.append(_profile_block(holding.profile, _))
    blocks += [_volunteer_block(v, holding.language, _) for v in holding.volunteering]
    if holding.draft is not None:
        blocks += _draft_blocks(holding.draft, holding.language, _)
    for referral in holding.referrals:
        blocks += _referral_blocks(referral, holding.language, _)
    for made in holding.made:
        blocks.append(_made_block(made, holding, _))
    if holding.groups:
        blocks.append(group_screens.copy_block(holding.groups, _))
    blocks.append(_not_held(_))
    return _parts(blocks, _)


def _overview(holding: Holding, _: Translate) -> str:
    zone = _zone(holding)
    lines = [
        esc(_("Here is a copy of what we hold about you.")),
        "",
        italic(_("You will also get the same copy as a file.")),
        "",
        bold(_("Your settings")),
        esc(_("With us since: {when}").format(when=_when(holding.since, zone, holding.language))),
    ]
    said = settings_sentences(holding.settings, zone, holding.language, _)
    lines += [esc("• " + sentence) for sentence in said]
    if not said:
        lines.append(esc(_("No settings saved.")))
    return "\n".join(lines)


def _made_block(made: MadeCopy, holding: Holding, _: Translate) -> str:
    when = _when(made.sent_at, _zone(holding), holding.language)
    lines = [
        bold(_("A referral you made: {reference}").format(reference=made.reference)),
        esc(_("Sent: {when}").format(when=when)),
        esc(_("Your details in it:")),
    ]
    lines += [esc(f"• {value}") for value in made.details.values() if value is not None]
    return "\n".join(lines)


def _profile_block(profile: dict[str, Any], _: Translate) -> str:
    lines = [bold(_("Your supporter profile"))]
    for key, value in profile.items():
        if key == "paused":
            continue
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value or "")
        if key == "capacity":
            shown = str(value)  # 0 is a number of people, not "not set"
        label = supporting.field_label(key, _) if key in supporting.FIELDS else key
        lines.append(esc(f"{label}: {shown or _('(not set)')}"))
    if "paused" in profile:
        lines.append(
            esc(_("You are paused: coordinators will not suggest you for now."))
            if profile["paused"]
            else esc(_("Coordinators can suggest you for new people."))
        )
    return "\n".join(lines)


def _volunteer_block(copy: VolunteerCopy, lang: str, _: Translate) -> str:
    programme, record = copy.programme, copy.record
    name = programme.text(programme.name, lang) if programme else (copy.programme_id or "")
    lines = [bold(_("Volunteering: {programme}").format(programme=name))]
    lines.append(esc(_("Step: {step}").format(step=applicants.stage_label(copy.stage, _))))
    if programme is not None:
        lines += applicants.application_lines(programme, record, lang, _)
        names = {i.id: programme.text(i.name, lang) for i in programme.training_modules}
        names |= {i.id: programme.text(i.name, lang) for i in programme.checks}
    else:
        names = {}
    for key, done in (("training", record.modules), ("checks", record.checks)):
        for item, on in done.items():
            label = _("Training done") if key == "training" else _("Check done")
            lines.append(esc(f"{label}: {names.get(item, item)}, {on.isoformat()}"))
    for note in record.supervision:
        lines.append(esc(_("Supervision on {date}: {note}").format(date=note.on, note=note.text)))
    for note in record.notes:
        lines.append(
            esc(_("Coordinator's note, {date}: {note}").format(date=note.on, note=note.text))
        )
    return "\n".join(lines)


def _source_name(programme: Programme | None, source_id: str, language: str) -> str:
    """The configured name of a source, or its id if the config no longer has it."""
    source = programme.source(source_id) if programme is not None else None
    if programme is None or source is None:
        return source_id
    return programme.text(source.name, language)


def _draft_blocks(copy: DraftCopy, language: str, _: Translate) -> list[str]:
    draft = copy.draft
    head = [bold(_("Your unfinished form"))]
    if copy.programme is not None:
        head.append(esc(_("Service: {name}").format(name=_name(copy.programme, language))))
    items = _answer_items(copy.programme, draft.answers, draft.language, _)
    if not items:
        head.append(esc(_("No answers yet.")))
    blocks = ["\n".join(head)]
    blocks += [f"{bold(q)}\n{esc(a)}" for q, a in ((i["question"], i["answer"]) for i in items)]
    return blocks


def _referral_blocks(referral: ReferralCopy, language: str, _: Translate) -> list[str]:
    p = referral.programme
    zone: tzinfo = ZoneInfo(p.timezone) if p is not None else UTC
    head = [bold(_("Your form {reference}").format(reference=referral.reference))]
    if p is not None:
        head.append(esc(_("Service: {name}").format(name=_name(p, language))))
    head.append(esc(_("Status: {status}").format(status=status_name(referral.status, _))))
    if referral.urgent:
        head.append(esc(_("Marked as urgent: yes")))
    if referral.source is not None:
        head.append(esc(_("The link you came by: {source}").format(
            source=_source_name(p, referral.source, language)
        )))  # fmt: skip
    for label, at in _dates(referral, _):
        head.append(esc(f"{label}: {_when(at, zone, language)}"))
    blocks = ["\n".join(head)]
    items = _answer_items(p, referral.answers, language, _)
    if items:
        blocks.append(bold(_("Your answers")))
        blocks += [f"{bold(i['question'])}\n{esc(i['answer'])}" for i in items]
    outcome = _outcome_text(p, referral.outcome, language, _)
    if outcome is not None:
        blocks.append(f"{bold(_('Outcome'))}\n{esc(outcome)}")
    if referral.thread:
        blocks.append(
            bold(_("Messages and notes"))
            + "\n"
            + italic(_("This includes the team's own notes about your form."))
        )
        blocks += [
            f"{esc(_when(t.at, zone, language))} · {bold(_thread_label(t.kind, _))}\n{esc(t.text)}"
            for t in referral.thread
        ]
    if referral.meetings:
        blocks.append(
            "\n".join(
                [bold(_("Meetings"))]
                + [
                    esc(
                        f"{_when(m.at, zone, language)} · {_('Online') if m.online else m.place}"
                        + (f" · {_('cancelled')}" if m.cancelled else "")
                    )
                    for m in referral.meetings
                ]
            )
        )
    for survey in referral.surveys:
        title = f"{bold(_survey_title(survey.kind, _))} · {esc(_when(survey.at, zone, language))}"
        read = surveys.readable(p, _survey_kind(survey.kind), survey.answers, language, _)
        blocks.append("\n".join([title, *(f"{bold(q)}\n{esc(a)}" for _id, q, a in read)]))
    return blocks


def _not_held(_: Translate) -> str:
    return "\n".join(
        [bold(_("What we do not keep")), *(esc("• " + line) for line in _not_held_lines(_))]
    )


def _not_held_lines(_: Translate) -> list[str]:
    return [
        _(
            "Your Telegram id is stored only encrypted. To find you we use a code made from it "
            "that cannot be turned back into it."
        ),
        _(
            "Our record of who did what holds reference codes, actions and times only: never "
            "what you or the team wrote."
        ),
    ]


def _parts(blocks: list[str], _: Translate) -> list[Prompt]:
    """Pack whole blocks into messages; every part after the first gets a neutral first line."""
    packed: list[list[str]] = [[]]
    size = 0
    for block in blocks:
        if packed[-1] and size + len(block) + 2 > PART_LIMIT:
            packed.append([])
            size = 0
        packed[-1].append(block)
        size += len(block) + 2
    total = len(packed)
    prompts = []
    for number, part in enumerate(packed, start=1):
        if number > 1:
            head = esc(_("Your copy, part {part} of {parts}").format(part=number, parts=total))
            part = [head, *part]
        prompts.append(Prompt("\n\n".join(part)))
    return prompts


def file_caption(_: Translate) -> str:
    """The caption of the JSON file (plain text, first line neutral)."""
    return _("The same copy as a file, to keep or to give to another service.")


# -- the structured data (JSON) ---------------------------------------------------------------


def as_data(holding: Holding, now: datetime, _: Translate) -> dict[str, Any]:
    """The same content as the summary, as plain data for a JSON file.

    Answers are keyed by question id: the raw value as stored, with the question's text and
    the answer as the person would read it alongside. Times are ISO 8601 in UTC.
    """
    lang = holding.language
    data: dict[str, Any] = {
        "format": FORMAT,
        "exported_at": _iso(now),
        "language": lang,
        "person": {"since": _iso(holding.since), "settings": holding.settings},
        "unfinished_form": None,
        "referrals": [],
        "not_stored": _not_held_lines(_),
    }
    if holding.profile is not None:
        data["supporter_profile"] = holding.profile
    if holding.volunteering:
        data["volunteering"] = [
            {
                "programme": v.programme_id,
                "stage": v.stage,
                **v.record.model_dump(mode="json"),
            }
            for v in holding.volunteering
        ]
    if holding.made:
        data["referrals_made"] = [
            {"reference": m.reference, "sent_at": _iso(m.sent_at), "your_details": m.details}
            for m in holding.made
        ]
    if holding.groups:
        data["groups"] = group_screens.copy_data(holding.groups)
    if holding.draft is not None:
        d, p = holding.draft.draft, holding.draft.programme
        data["unfinished_form"] = {
            "programme": d.programme,
            "programme_name": _name(p, lang) if p is not None else None,
            "language": d.language,
            "current_question": d.current,
            "urgent": d.urgent,
            "source": d.source,
            "answers": _answers_data(p, d.answers, d.language, _),
        }
    for r in holding.referrals:
        p = r.programme
        data["referrals"].append(
            {
                "reference": r.reference,
                "programme": r.programme_id,
                "programme_name": _name(p, lang) if p is not None else None,
                "status": r.status,
                "status_text": status_name(r.status, _),
                "urgent": r.urgent,
                "source": r.source,
                "source_name": None if r.source is None else _source_name(p, r.source, lang),
                "sent_at": _iso(r.sent_at),
                "claimed_at": _iso(r.claimed_at),
                "contacted_at": _iso(r.contacted_at),
                "verified_at": _iso(r.verified_at),
                "closed_at": _iso(r.closed_at),
                "answers": _answers_data(p, r.answers, lang, _),
                "outcome": r.outcome,
                "outcome_text": _outcome_text(p, r.outcome, lang, _),
                "thread": [
                    {
                        "at": _iso(t.at),
                        "kind": t.kind,
                        "from": _thread_label(t.kind, _),
                        "text": t.text,
                    }
                    for t in r.thread
                ],
                "activity": [{"at": _iso(a.at), "action": a.action} for a in r.activity],
                "surveys": [_survey_data(p, survey, lang, _) for survey in r.surveys],
                "meetings": [
                    {
                        "at": _iso(m.at),
                        "online": m.online,
                        "place": m.place,
                        "outcome": m.outcome,
                        "cancelled": m.cancelled,
                    }
                    for m in r.meetings
                ],
            }
        )
    return data


def filename(holding: Holding, now: datetime) -> str:
    """mydata-<newest reference>.json, or mydata-<date>.json without a referral."""
    tag = holding.referrals[0].reference if holding.referrals else now.date().isoformat()
    return f"mydata-{tag}.json"


def _answers_data(
    programme: Programme | None, answers: dict[str, Answer], language: str, _: Translate
) -> dict[str, dict[str, Any]]:
    items = _answer_items(programme, answers, language, _)
    return {
        i["id"]: {"question": i["question_text"], "answer": i["answer"], "value": i["value"]}
        for i in items
    }


def _survey_data(
    programme: Programme | None, survey: SurveyCopy, language: str, _: Translate
) -> dict[str, Any]:
    kind = _survey_kind(survey.kind)
    items = surveys.readable(programme, kind, survey.answers, language, _)
    return {
        "kind": survey.kind,
        "title": _survey_title(survey.kind, _),
        "submitted_at": _iso(survey.at),
        "answers": {
            qid: {"question": question, "answer": answer, "value": survey.answers[qid]}
            for qid, question, answer in items
        },
    }


def _survey_kind(kind: str) -> surveys.SurveyKind:
    return "closing" if kind == "closing" else "feedback"


def _survey_title(kind: str, _: Translate) -> str:
    if kind == "closing":
        return _("Your supporter's closing report")
    return _("Your feedback")


# -- helpers -----------------------------------------------------------------------------------


def _answer_items(
    programme: Programme | None, answers: dict[str, Answer], language: str, _: Translate
) -> list[dict[str, Any]]:
    """Every stored answer, in form order (unknown ids last): id, texts, raw value."""
    known: list[Question] = list(programme.form) if programme is not None else []
    order = [q.id for q in known if q.id in answers]
    order += sorted(k for k in answers if k not in order)
    items = []
    for qid in order:
        value = answers[qid]
        q = programme.question(qid) if programme is not None else None
        if programme is not None and q is not None:
            draft = Draft(programme=programme.id, language=language, answers=answers)
            question_text: str | None = programme.text(q.text, language)
            readable = answer_text(programme, draft, q, _)
        else:
            question_text = None
            readable = _raw_text(value, _)
        items.append(
            {
                "id": qid,
                "question_text": question_text,
                "question": question_text or qid,
                "answer": readable,
                "value": value,
            }
        )
    return items


def _raw_text(value: Answer, _: Translate) -> str:
    if value is None:
        return _("(no answer)")
    return ", ".join(value) if isinstance(value, list) else str(value)


def _dates(referral: ReferralCopy, _: Translate) -> list[tuple[str, datetime]]:
    dates = [
        (_("Sent"), referral.sent_at),
        (_("Picked up"), referral.claimed_at),
        (_("First contact"), referral.contacted_at),
        (_("Checked"), referral.verified_at),
        (_("Closed"), referral.closed_at),
    ]
    return [(label, at) for label, at in dates if at is not None]


def _outcome_text(
    programme: Programme | None, outcome: dict[str, Any] | None, language: str, _: Translate
) -> str | None:
    if not outcome:
        return None
    lines = []
    resources = outcome.get("resources")
    if isinstance(resources, list):
        by_id = {r.id: r for r in programme.signposting} if programme is not None else {}
        names = [
            programme.text(by_id[str(r)].name, language)
            if programme is not None and str(r) in by_id
            else str(r)
            for r in resources
        ]
        lines.append(_("Services suggested to you: {names}").format(names=", ".join(names) or "-"))
    supporter = outcome.get("supporter")
    if isinstance(supporter, str):
        lines.append(_("Matched with: {supporter}").format(supporter=supporter))
    for key, value in outcome.items():
        if key not in ("resources", "supporter"):
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def _thread_label(kind: str, _: Translate) -> str:
    return {
        "note": _("Team note"),
        "to_referrer": _("The team wrote"),
        "from_referrer": _("You wrote"),
        "talk_to_supporter": _("You wrote to your supporter"),
        "talk_to_person": _("Your supporter wrote"),
        "agreement_accepted": _("You accepted the agreement, version"),
        "agreement_declined": _("You did not accept the agreement, version"),
        "assessment": _("Your coordinator's assessment"),
    }.get(kind, kind)


def settings_sentences(
    settings: dict[str, Any], zone: tzinfo, language: str, _: Translate
) -> list[str]:
    """The person's settings (conversations/preferences.py, as stored) in plain sentences.

    A setting left as it always starts (not blocked, no reminders) says nothing; the file
    holds every value as stored."""
    said: list[str] = []
    code = settings.get("language")
    if isinstance(code, str):
        said.append(_("We write to you in {language}.").format(language=_language(code, _)))
    consents = settings.get("consents")
    for purpose, consent in (consents or {}).items() if isinstance(consents, dict) else ():
        sentence = _consent_sentence(purpose, consent, _)
        at = _moment(consent.get("at")) if isinstance(consent, dict) else None
        if sentence is not None and at is not None:
            said.append(sentence.format(when=_when(at, zone, language)))
    if settings.get("discreet") is True:
        said.append(_("The first line of our messages never says what they are about."))
    elif settings.get("discreet") is False:
        said.append(_("The first line of our messages may say what they are about."))
    if settings.get("silent") is True:
        said.append(_("Our messages come without a sound."))
    elif settings.get("silent") is False:
        said.append(_("Our messages come with a sound."))
    moments = {
        "paused_until": _("You paused our messages until {when}."),
        "checkins_stopped_at": _("You stopped check-in messages on {when}."),
    }
    for key, sentence in moments.items():
        at = _moment(settings.get(key))
        if at is not None:
            said.append(sentence.format(when=_when(at, zone, language)))
    if settings.get("blocked") is True:
        said.append(_("Telegram told us you blocked us, so we stopped writing to you."))
    if settings.get("session_reminders") is True:
        said.append(_("We remind you before each meeting with your supporter."))
    return said


def _consent_sentence(purpose: str, consent: object, _: Translate) -> str | None:
    """What the person agreed to (or said no to), with ``{when}`` still to fill in."""
    if not isinstance(consent, dict) or not isinstance(consent.get("given"), bool):
        return None
    given = consent["given"]
    sentences = {
        "referral": (
            _("On {when} you agreed that we keep your answers to find you a peer supporter."),
            _("On {when} you said no to us keeping your answers."),
        ),
        "checkins": (
            _("On {when} you said yes to check-in messages from us."),
            _("On {when} you said no to check-in messages from us."),
        ),
        "feedback": (
            _("On {when} you said yes to a few questions about our service at the end."),
            _("On {when} you said no to questions about our service at the end."),
        ),
    }
    if purpose not in sentences:
        return None
    yes, no = sentences[purpose]
    return yes if given else no


def _language(code: str, _: Translate) -> str:
    """A language's name inside a sentence of the person's language."""
    names = {"en": _("English"), "sv": _("Swedish")}
    return names.get(code) or LANGUAGE_NAMES.get(code, code)


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _name(programme: Programme, language: str) -> str:
    return programme.text(programme.name, language)


def _zone(holding: Holding) -> tzinfo:
    for programme in [r.programme for r in holding.referrals] + [
        holding.draft.programme if holding.draft else None
    ]:
        if programme is not None:
            return ZoneInfo(programme.timezone)
    return UTC


def _when(at: datetime, zone: tzinfo, language: str) -> str:
    return str(format_datetime(at.astimezone(zone), "d MMM yyyy HH:mm", locale=language))


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()
