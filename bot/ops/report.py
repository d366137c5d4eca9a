"""`peerdoor report`: numbers and charts for the service and its commissioners. Counts only.

Everything here comes from columns that are not sealed: a referral's status, urgent flag and times,
its programme by keyed tag (one tag per configured programme), the outcome actions in the audit
trail (``status:matched`` ... kept after the status moves on to ``closed``), the form's drop-off
counts (``funnel``), how each referral came (its route, and its source matched by keyed tag: the
source itself stays sealed) and the anonymous feedback counts (``feedback_counts``: programme,
question, answer, month; only from people who agreed to feedback). Nothing is decrypted: no answer,
name or Telegram id is ever read.

Small numbers are suppressed so that nobody can be singled out: a count from 1 to threshold-1
is shown as "<5" (for the default threshold of 5) and drawn as a hatched bar, not its height.
Where a table shows cells that add up to a total that is also shown (referrals per week,
outcomes), a single suppressed cell could be worked out by subtraction, so the next smallest
cell is hidden too ("hidden"). Medians and 90th percentiles are given only over at least
`threshold` referrals. Zero is shown as 0: it singles nobody out.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from conversations.applicants import STAGES as STAGES_OF_VOLUNTEERS
from conversations.forms import Programme, Question, ServiceConfig
from conversations.lifecycle import OPEN, OUTCOMES, STATUSES
from conversations.screens import question_text
from storage import Referral, Store
from storage.groups import GroupFigures
from storage.referrals import ROUTES

DEFAULT_THRESHOLD = 5

#: The outcome groups of the report, in order, with their labels.
OUTCOME_GROUPS: tuple[tuple[str, str], ...] = (
    ("open", "still open"),
    ("matched", "matched"),
    ("deferred", "deferred (signposted)"),
    ("declined", "declined"),
    ("withdrawn", "withdrawn"),
    ("closed", "closed with no outcome recorded"),
)

Hidden = Literal["small", "secondary"] | None


@dataclass(frozen=True)
class Cell:
    """A count as the report may show it."""

    value: int
    hidden: Hidden = None

    def text(self, threshold: int) -> str:
        if self.hidden == "small":
            return f"<{threshold}"
        if self.hidden == "secondary":
            return "hidden"
        return str(self.value)


def small(value: int, threshold: int) -> bool:
    return 0 < value < threshold


def protect_one(value: int, threshold: int) -> Cell:
    return Cell(value, "small" if small(value, threshold) else None)


def protect(values: Sequence[int], threshold: int) -> list[Cell]:
    """Cells of a table whose total is also shown: primary, then secondary suppression.

    With exactly one suppressed cell, total minus the others would give it away, so the
    smallest other non-zero cell is hidden as well.
    """
    cells = [protect_one(v, threshold) for v in values]
    hidden = [i for i, c in enumerate(cells) if c.hidden]
    if len(hidden) == 1:
        others = [(c.value, i) for i, c in enumerate(cells) if not c.hidden and c.value > 0]
        if others:
            _, i = min(others)
            cells[i] = Cell(cells[i].value, "secondary")
    return cells


@dataclass(frozen=True)
class Row:
    """One referral, as the report sees it: workflow facts only."""

    submitted_at: datetime
    claimed_at: datetime | None
    contacted_at: datetime | None
    status: str
    urgent: bool
    outcome: str | None  # the last outcome status recorded for it (matched, deferred, ...)
    route: str = "self"
    source: str | None = None  # a configured source id, matched by keyed tag

    @property
    def group(self) -> str:
        if self.status in OPEN:
            return "open"
        if self.status in OUTCOMES:
            return self.status
        return self.outcome if self.outcome in OUTCOMES else "closed"


@dataclass(frozen=True)
class Hours:
    """Waiting times in hours over ``n`` referrals (None when ``n`` is below the threshold)."""

    n: int
    median: float | None
    p90: float | None


def hours(values: Sequence[float], threshold: int) -> Hours:
    if len(values) < max(threshold, 2):
        return Hours(len(values), None, None)
    ordered = sorted(values)
    p90 = statistics.quantiles(ordered, n=10, method="inclusive")[8]
    return Hours(len(values), statistics.median(ordered), p90)


def iso_week(moment: datetime | date) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def weeks_between(first: date, last: date) -> list[str]:
    """Every ISO week from the one holding ``first`` to the one holding ``last``."""
    monday = first - timedelta(days=first.weekday())
    out: list[str] = []
    while monday <= last:
        out.append(iso_week(monday))
        monday += timedelta(days=7)
    return out


#: The route labels of the report, in order (every route is shown, even at 0).
ROUTE_LABELS: dict[str, str] = {
    "self": "the person themselves",
    "professional": "a professional, on their behalf",
    "staff": "taken by phone or in person by staff",
}
NO_SOURCE = ""  # the key of the row "no source" (a plain link, or a source no longer configured)


@dataclass(frozen=True)
class WayIn:
    """One route or source: how many referrals came this way, and their time to first contact."""

    key: str
    label: str
    count: int
    contact: Hours


def ways_in(
    rows: Sequence[Row], keys: Sequence[tuple[str, str]], key_of: str, threshold: int
) -> list[WayIn]:
    """Count ``rows`` by route or source (``key_of``), in the order of ``keys``."""
    out: list[WayIn] = []
    for key, label in keys:
        mine = [r for r in rows if (getattr(r, key_of) or NO_SOURCE) == key]
        waits = [_hours_between(r.submitted_at, r.contacted_at) for r in mine]
        contacts = [h for h in waits if h is not None]
        out.append(WayIn(key, label, len(mine), hours(contacts, threshold)))
    return out


@dataclass(frozen=True)
class Step:
    """One form step of the drop-off chart."""

    number: int
    question_id: str
    label: str
    reached: int


@dataclass(frozen=True)
class Score:
    """One answer of a feedback question and how often it was given."""

    answer: str  # the option id (or the number, or "yes"/"no")
    label: str
    count: int


@dataclass(frozen=True)
class FeedbackScores:
    """The answers to one feedback question, from the anonymous counts.

    ``average`` is given for questions whose answers are all numbers (a 1-5 scale as a
    single choice with option ids "1".."5", or a number question), and only over at least
    ``threshold`` answers.
    """

    question_id: str
    label: str
    scores: list[Score]
    total: int
    average: float | None


def feedback_scores(
    programme: Programme, counts: Mapping[str, Mapping[str, int]], threshold: int
) -> list[FeedbackScores]:
    """Per counted feedback question, in the config's order: the answers in option order
    (answers the config no longer offers last), the total and, where it means something, the
    average."""
    return _scores(programme, programme.feedback, counts, threshold, ("single", "yesno", "number"))


def answer_scores(
    programme: Programme, counts: Mapping[str, Mapping[str, int]], threshold: int
) -> list[FeedbackScores]:
    """The answers to the questions marked ``report = true`` (the form's, then each
    questionnaire's), counted when referrals were sent: like feedback_scores."""
    questions = [q for q in programme.form if q.report]
    for questionnaire in programme.questionnaires.values():
        questions += [q for q in questionnaire.form if q.report]
    return _scores(programme, questions, counts, threshold, ("single", "multi", "yesno"))


def _scores(
    programme: Programme,
    questions: Sequence[Question],
    counts: Mapping[str, Mapping[str, int]],
    threshold: int,
    counted: tuple[str, ...],
) -> list[FeedbackScores]:
    language = programme.default_language
    out: list[FeedbackScores] = []
    for q in questions:
        if q.kind not in counted:
            continue  # free text is never counted (nor, in feedback, multiple choice)
        given = counts.get(q.id, {})
        if q.kind in ("single", "multi"):
            known = [(o.id, programme.text(o.label, language)) for o in q.options]
        elif q.kind == "yesno":
            known = [("yes", "yes"), ("no", "no")]
        else:
            known = [(a, a) for a in sorted(given, key=_number_key)]
        ids = [i for i, _ in known]
        extra = [(a, f"{a} (no longer asked)") for a in sorted(given) if a not in ids]
        scores = [Score(a, label, given.get(a, 0)) for a, label in known + extra]
        total = sum(s.count for s in scores)
        numeric = q.kind != "yesno" and all(_is_number(s.answer) for s in scores)
        average = None
        if numeric and total >= max(threshold, 1):
            average = sum(float(s.answer) * s.count for s in scores) / total
        out.append(FeedbackScores(q.id, programme.text(q.text, language), scores, total, average))
    return out


def _is_number(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _number_key(text: str) -> tuple[int, float, str]:
    return (0, float(text), "") if _is_number(text) else (1, 0.0, text)


@dataclass
class ProgrammeReport:
    programme_id: str
    name: str
    total: int
    urgent: int
    weeks: list[str]
    per_week: list[int]
    claim: Hours
    contact: Hours
    claim_by_week: list[Hours]
    contact_by_week: list[Hours]
    outcomes: list[int]  # in OUTCOME_GROUPS order
    closed: int
    steps: list[Step]
    feedback: list[FeedbackScores] = field(default_factory=list)
    answers: list[FeedbackScores] = field(default_factory=list)  # questions with report = true
    routes: list[WayIn] = field(default_factory=list)  # every route in ROUTES order
    sources: list[WayIn] = field(default_factory=list)  # configured sources, then "no source"
    #: Volunteers at each step now (conversations.applicants.STAGES order): the plain stage only.
    volunteers: list[int] = field(default_factory=list)
    #: assessments, agreements, messages through the bot, "how is it going?" (issue #15)
    relationship: dict[str, int] = field(default_factory=dict)
    groups: GroupFigures | None = None  # peer support groups, when the programme has any


@dataclass
class Report:
    generated_at: datetime
    since: date | None
    until: date
    threshold: int
    programmes: list[ProgrammeReport]

    @property
    def referrals(self) -> int:
        return sum(p.total for p in self.programmes)


def _hours_between(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return max((end - start).total_seconds(), 0.0) / 3600


def summarise(
    programme: Programme,
    rows: Iterable[Row],
    funnel: Mapping[str, int],
    since: date | None,
    until: date,
    threshold: int,
) -> ProgrammeReport:
    rows = sorted(rows, key=lambda r: r.submitted_at)
    first = since or (rows[0].submitted_at.astimezone(UTC).date() if rows else until)
    weeks = weeks_between(first, until)
    index = {w: i for i, w in enumerate(weeks)}
    per_week = [0] * len(weeks)
    claim_weekly: list[list[float]] = [[] for _ in weeks]
    contact_weekly: list[list[float]] = [[] for _ in weeks]
    claims: list[float] = []
    contacts: list[float] = []
    for row in rows:
        i = index[iso_week(row.submitted_at.astimezone(UTC))]
        per_week[i] += 1
        claim = _hours_between(row.submitted_at, row.claimed_at)
        if claim is not None:
            claims.append(claim)
            claim_weekly[i].append(claim)
        contact = _hours_between(row.submitted_at, row.contacted_at)
        if contact is not None:
            contacts.append(contact)
            contact_weekly[i].append(contact)
    groups = [g for g, _ in OUTCOME_GROUPS]
    outcomes = [sum(1 for r in rows if r.group == g) for g in groups]
    language = programme.default_language
    route_keys = [(r, ROUTE_LABELS.get(r, r)) for r in ROUTES]
    source_keys = [(src.id, programme.text(src.name, language)) for src in programme.sources]
    source_keys.append((NO_SOURCE, "no source (a plain link)"))
    steps = [
        Step(n, q.id, question_text(programme, q, language), funnel.get(q.id, 0))
        for n, q in enumerate(programme.form, start=1)
    ]
    return ProgrammeReport(
        programme_id=programme.id,
        name=programme.text(programme.name, language),
        total=len(rows),
        urgent=sum(1 for r in rows if r.urgent),
        weeks=weeks,
        per_week=per_week,
        claim=hours(claims, threshold),
        contact=hours(contacts, threshold),
        claim_by_week=[hours(v, threshold) for v in claim_weekly],
        contact_by_week=[hours(v, threshold) for v in contact_weekly],
        outcomes=outcomes,
        closed=sum(1 for r in rows if r.status == "closed"),
        steps=steps,
        routes=ways_in(rows, route_keys, "route", threshold),
        sources=ways_in(rows, source_keys, "source", threshold),
    )


def _row(referral: Referral, outcomes: Mapping[str, str], source: str | None = None) -> Row:
    action = outcomes.get(referral.reference)
    return Row(
        submitted_at=referral.submitted_at,
        claimed_at=referral.claimed_at,
        contacted_at=referral.contacted_at,
        status=referral.status,
        urgent=referral.urgent,
        outcome=action.removeprefix("status:") if action else None,
        route=referral.route,
        source=source,
    )


async def gather(
    store: Store,
    programmes: Sequence[Programme],
    *,
    since: date | None,
    until: date,
    threshold: int = DEFAULT_THRESHOLD,
    now: datetime,
) -> Report:
    """Read the plain columns of the chosen programmes (one short transaction) and count."""
    start = datetime.combine(since, time.min, UTC) if since else None
    end = datetime.combine(until + timedelta(days=1), time.min, UTC)
    read: list[tuple[Programme, list[Row], dict[str, int]]] = []
    volunteers: dict[str, list[int]] = {}
    related: dict[str, dict[str, int]] = {}
    group_figures: dict[str, GroupFigures] = {}
    async with store.unit() as uow:
        outcomes = await uow.stats.last_actions([f"status:{s}" for s in OUTCOMES])
        scores = await uow.surveys.counts([p.id for p in programmes], since, until)
        answered = await uow.referrals.answer_counts([p.id for p in programmes], since, until)
        for programme in programmes:
            n = await uow.referrals.count([programme.id], STATUSES)
            referrals = await uow.referrals.queue([programme.id], STATUSES, limit=max(n, 1))
            referrals = [
                r
                for r in referrals
                if (start is None or r.submitted_at >= start) and r.submitted_at < end
            ]
            sources = await uow.referrals.sources(
                programme.id, [s.id for s in programme.sources], referrals
            )
            rows = [_row(r, outcomes, sources.get(r.id)) for r in referrals]
            funnel = await uow.funnel.counts(programme.id, since, until)
            related[programme.id] = await uow.relationship_stats.counts(referrals)
            read.append((programme, rows, funnel))
            at = await uow.applicants.stage_counts(programme.id)
            volunteers[programme.id] = [at.get(stage, 0) for stage in STAGES_OF_VOLUNTEERS]
            if programme.groups:
                group_figures[programme.id] = await uow.groups.figures(programme.id, start, end)
    return Report(
        generated_at=now,
        since=since,
        until=until,
        threshold=threshold,
        programmes=[
            replace(
                summarise(p, rows, f, since, until, threshold),
                feedback=feedback_scores(p, scores.get(p.id, {}), threshold),
                volunteers=volunteers[p.id],
                answers=answer_scores(p, answered.get(p.id, {}), threshold),
                relationship=related[p.id],
                groups=group_figures.get(p.id),
            )
            for p, rows, f in read
        ],
    )


def chosen_programmes(config: ServiceConfig, ids: Sequence[str] | None) -> list[Programme]:
    """The programmes asked for (all configured ones by default); unknown ids are refused."""
    from bot.errors import SetupError

    if not ids:
        return list(config.programmes)
    known = {p.id: p for p in config.programmes}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise SetupError(
            f"no programme {unknown[0]!r} in the config: use one of {', '.join(known)}"
        )
    return [known[i] for i in dict.fromkeys(ids)]
