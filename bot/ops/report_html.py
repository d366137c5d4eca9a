"""The report as files: one PNG per chart and one self-contained HTML page (charts inline)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from html import escape
from pathlib import Path

from bot.ops import charts
from bot.ops.private_files import private_dir, refuse_existing, write_private
from bot.ops.report import (
    OUTCOME_GROUPS,
    Cell,
    FeedbackScores,
    Hours,
    ProgrammeReport,
    Report,
    WayIn,
    protect,
    protect_one,
)
from conversations.applicants import STAGES
from storage.relationship_stats import ROWS as RELATIONSHIP_ROWS

CSS = """
body { font-family: system-ui, sans-serif; max-width: 62rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 2px solid #2f6f8f; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; font-size: .92rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
thead th { background: #eef3f6; }
img { max-width: 100%; height: auto; display: block; margin: .4rem 0; }
.note { color: #555; font-size: .9rem; }
"""


@dataclass(frozen=True)
class Chart:
    name: str  # file name
    title: str
    png: bytes


def _hours_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _cell(cell: Cell, threshold: int) -> str:
    return f'<td class="n">{escape(cell.text(threshold))}</td>'


def _img(chart: Chart, alt: str) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'


#: The files of one programme's charts: <programme id>-<name>.png
CHART_FILES = ("referrals-per-week", "waiting-times", "form-drop-off", "outcomes", "feedback")


def paths(out: Path, programme_ids: list[str]) -> list[Path]:
    """Every file a report of these programmes writes into ``out``."""
    charts = [out / f"{pid}-{name}.png" for pid in programme_ids for name in CHART_FILES]
    return [*charts, out / "report.html"]


def charts_for(p: ProgrammeReport, threshold: int) -> dict[str, Chart]:
    pid = p.programme_id
    steps = [*p.steps]
    return {
        "weekly": Chart(
            f"{pid}-referrals-per-week.png",
            "Referrals per week",
            charts.bars(
                "Referrals per week",
                p.weeks,
                protect(p.per_week, threshold),
                threshold,
                axis_label="referrals sent",
            ),
        ),
        "times": Chart(
            f"{pid}-waiting-times.png",
            "Time from sending the form to claim and to first contact",
            charts.waiting_times(
                p.claim, p.contact, p.weeks, p.claim_by_week, p.contact_by_week, threshold
            ),
        ),
        "funnel": Chart(
            f"{pid}-form-drop-off.png",
            "How many reached each question",
            charts.bars(
                "How many reached each step of the form",
                [f"{s.number}. {s.question_id}" for s in steps] + ["sent the form"],
                [protect_one(s.reached, threshold) for s in steps]
                + [protect_one(p.total, threshold)],
                threshold,
                horizontal=True,
                axis_label="people",
            ),
        ),
        "feedback": Chart(
            f"{pid}-feedback.png",
            "Feedback at the end of support",
            charts.feedback(p.feedback, threshold),
        ),
        "outcomes": Chart(
            f"{pid}-outcomes.png",
            "Outcomes",
            charts.bars(
                "Where referrals stand",
                [label for _, label in OUTCOME_GROUPS],
                protect(p.outcomes, threshold),
                threshold,
                horizontal=True,
                axis_label="referrals",
            ),
        ),
    }


def _summary(p: ProgrammeReport, t: int) -> str:
    pid = escape(p.programme_id)
    rows = [
        ("total", "Referrals sent", _cell(protect_one(p.total, t), t)),
        ("urgent", "Marked urgent (crisis words)", _cell(protect_one(p.urgent, t), t)),
        ("closed", "Closed", _cell(protect_one(p.closed, t), t)),
    ]
    for key, name, h in (("claim", "claim", p.claim), ("contact", "first contact", p.contact)):
        rows.append((f"{key}-n", f"Reached {name}", _cell(protect_one(h.n, t), t)))
        rows.append(
            (f"{key}-median", f"Hours to {name}: median", f'<td class="n">'
             f"{_hours_text(h.median)}</td>")
        )  # fmt: skip
        rows.append(
            (f"{key}-p90", f"Hours to {name}: 90th percentile", f'<td class="n">'
             f"{_hours_text(h.p90)}</td>")
        )  # fmt: skip
    body = "".join(
        f'<tr id="{pid}-{key}"><th>{escape(name)}</th>{value}</tr>' for key, name, value in rows
    )
    return f"<table>{body}</table>"


def _weekly_table(p: ProgrammeReport, t: int) -> str:
    cells = protect(p.per_week, t)
    body = "".join(
        f'<tr id="{escape(p.programme_id)}-week-{escape(w)}"><td>{escape(w)}</td>'
        f"{_cell(c, t)}</tr>"
        for w, c in zip(p.weeks, cells, strict=True)
    )
    total = _cell(protect_one(p.total, t), t)
    return (
        "<table><thead><tr><th>ISO week</th><th>referrals</th></tr></thead>"
        f"<tbody>{body}<tr><th>all weeks</th>{total}</tr></tbody></table>"
    )


def _times_table(p: ProgrammeReport, t: int) -> str:
    # The weekly counts add up to the total shown below them: protected together.
    claimed = protect([h.n for h in p.claim_by_week], t)
    contacted = protect([h.n for h in p.contact_by_week], t)

    def part(h: Hours, n: Cell) -> str:
        return (
            f'{_cell(n, t)}<td class="n">{_hours_text(h.median)}</td>'
            f'<td class="n">{_hours_text(h.p90)}</td>'
        )

    rows = [
        f'<tr id="{escape(p.programme_id)}-times-{escape(w)}"><td>{escape(w)}</td>'
        f"{part(c, cn)}{part(k, kn)}</tr>"
        for w, c, k, cn, kn in zip(
            p.weeks, p.claim_by_week, p.contact_by_week, claimed, contacted, strict=True
        )
        if c.n or k.n
    ]
    total = (
        f"{part(p.claim, protect_one(p.claim.n, t))}{part(p.contact, protect_one(p.contact.n, t))}"
    )
    rows.append(f"<tr><th>all weeks</th>{total}</tr>")
    return (
        "<table><thead><tr><th rowspan=2>ISO week (sent)</th><th colspan=3>to claim</th>"
        "<th colspan=3>to first contact</th></tr><tr><th>referrals</th><th>median h</th>"
        "<th>90th pct h</th><th>referrals</th><th>median h</th><th>90th pct h</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _funnel_table(p: ProgrammeReport, t: int) -> str:
    pid = escape(p.programme_id)
    rows = [
        f'<tr id="{pid}-step-{escape(s.question_id)}"><td>{s.number}</td>'
        f"<td>{escape(s.question_id)}</td><td>{escape(s.label)}</td>"
        f"{_cell(protect_one(s.reached, t), t)}</tr>"
        for s in p.steps
    ]
    rows.append(
        f'<tr id="{pid}-step-sent"><td></td><td colspan=2>sent the form</td>'
        f"{_cell(protect_one(p.total, t), t)}</tr>"
    )
    return (
        "<table><thead><tr><th>#</th><th>question</th><th>text</th><th>reached</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _outcomes_table(p: ProgrammeReport, t: int) -> str:
    pid = escape(p.programme_id)
    cells = protect(p.outcomes, t)
    rows = "".join(
        f'<tr id="{pid}-outcome-{key}"><td>{escape(label)}</td>{_cell(c, t)}</tr>'
        for (key, label), c in zip(OUTCOME_GROUPS, cells, strict=True)
    )
    return f"<table><thead><tr><th>outcome</th><th>referrals</th></tr></thead>{rows}</table>"


def _feedback(p: ProgrammeReport, chart: Chart, t: int) -> str:
    pid = escape(p.programme_id)
    if not any(q.total for q in p.feedback):
        return f'<p id="{pid}-feedback">No feedback in this period.</p>'
    tables = _score_tables(pid, "feedback", p.feedback, "people", t)
    return f"""<p class="note" id="{pid}-feedback">Answers to the short survey at the end of
support, from people who agreed to give feedback, counted by month with no name or reference
(the months that hold the period). Free-text answers are never counted. Averages only over {t}
or more answers.</p>
{_img(chart, "Horizontal bar chart of the feedback answers, question by question.")}
{"".join(tables)}"""


def _answers(p: ProgrammeReport, t: int) -> str:
    """The answers to questions marked ``report = true``, counted when referrals were sent."""
    pid = escape(p.programme_id)
    if not p.answers:
        return f'<p id="{pid}-answers">No question is marked <code>report = true</code>.</p>'
    tables = _score_tables(pid, "answers", p.answers, "answers", t)
    return f"""<p class="note" id="{pid}-answers">Answers to the questions marked
<code>report = true</code> in the config, counted by month when a referral was sent, with no name
or reference (the months that hold the period). A multiple choice counts each option ticked.</p>
{"".join(tables)}"""


def _score_tables(
    pid: str, what: str, questions: list[FeedbackScores], unit: str, t: int
) -> list[str]:
    """One table per question: each answer's count and the total, small numbers hidden."""
    tables = []
    for q in questions:
        qid = escape(q.question_id)
        cells = protect([s.count for s in q.scores], t)
        rows = "".join(
            f'<tr id="{pid}-{what}-{qid}-{escape(s.answer)}"><td>{escape(s.label)}</td>'
            f"{_cell(c, t)}</tr>"
            for s, c in zip(q.scores, cells, strict=True)
        )
        rows += (
            f'<tr id="{pid}-{what}-{qid}-total"><th>all answers</th>'
            f"{_cell(protect_one(q.total, t), t)}</tr>"
        )
        if q.average is not None:
            rows += (
                f'<tr id="{pid}-feedback-{qid}-average"><th>average</th>'
                f'<td class="n">{q.average:.1f}</td></tr>'
            )
        tables.append(
            f"<h4>{escape(q.label)} <small>({qid})</small></h4>"
            f"<table><thead><tr><th>answer</th><th>{unit}</th></tr></thead>{rows}</table>"
        )
    return tables


def _ways_table(p: ProgrammeReport, ways: list[WayIn], what: str, t: int) -> str:
    """Referrals per route or per source, and their time to first contact. The counts add up
    to the total: protected together; a "way" with no referrals at all is shown as 0."""
    pid = escape(p.programme_id)
    cells = protect([w.count for w in ways], t)
    contacted = protect([w.contact.n for w in ways], t)
    rows = "".join(
        f'<tr id="{pid}-{what}-{escape(w.key or "none")}"><td>{escape(w.label)}</td>'
        f"{_cell(c, t)}{_cell(k, t)}"
        f'<td class="n">{_hours_text(w.contact.median)}</td>'
        f'<td class="n">{_hours_text(w.contact.p90)}</td></tr>'
        for w, c, k in zip(ways, cells, contacted, strict=True)
    )
    return (
        f"<table><thead><tr><th>{escape(what)}</th><th>referrals</th><th>contacted</th>"
        "<th>median h to first contact</th><th>90th pct h</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _volunteers(p: ProgrammeReport, t: int) -> str:
    """Volunteers at each step now (whatever the period): counts only, small ones hidden."""
    pid = escape(p.programme_id)
    if not any(p.volunteers):
        return f'<p id="{pid}-volunteers">No volunteers yet.</p>'
    cells = protect(p.volunteers, t)
    rows = "".join(
        f'<tr id="{pid}-volunteers-{stage}"><td>{escape(VOLUNTEER_STEPS[stage])}</td>'
        f"{_cell(c, t)}</tr>"
        for stage, c in zip(STAGES, cells, strict=True)
    )
    return (
        '<p class="note">Where the programme\'s volunteers stand now, from their application to '
        "active peer supporter (counts only; nothing they wrote is read).</p>"
        f"<table><thead><tr><th>step</th><th>volunteers</th></tr></thead><tbody>{rows}"
        f'<tr id="{pid}-volunteers-total"><th>all</th>'
        f"{_cell(protect_one(sum(p.volunteers), t), t)}</tr></tbody></table>"
    )


#: The report's words for each step (the report is in English, like its other labels).
VOLUNTEER_STEPS = {
    "applied": "applied",
    "talked": "talked to",
    "training": "in training",
    "checked": "checks done",
    "active": "active supporters",
    "not_now": "not now",
    "withdrew": "withdrew",
}


def _relationship_table(p: ProgrammeReport, t: int) -> str:
    pid = escape(p.programme_id)
    keys = [(key, label) for key, label in RELATIONSHIP_ROWS]
    cells = protect([p.relationship.get(key, 0) for key, _label in keys], t)
    rows = "".join(
        f'<tr id="{pid}-{escape(key.replace(":", "-"))}"><td>{escape(label)}</td>'
        f"{_cell(c, t)}</tr>"
        for (key, label), c in zip(keys, cells, strict=True)
    )
    return f"<table><thead><tr><th>what</th><th>how many</th></tr></thead>{rows}</table>"


def _groups_table(p: ProgrammeReport, t: int) -> str:
    """Peer support groups: counts only, small numbers hidden like every other count."""
    g = p.groups
    if g is None:
        return ""
    pid = escape(p.programme_id)
    rows = [
        ("running", "Groups running now", g.running),
        ("held", "Meetings held in the period", g.meetings_held),
        ("attended", "Attendances at those meetings (members marked as having come)", g.attended),
        ("members", "Members now", g.members),
        ("waiting", "On waiting lists now", g.waiting),
        ("left", "Places given up in the period", g.left),
    ]
    body = "".join(
        f'<tr id="{pid}-groups-{key}"><th>{escape(name)}</th>'
        f"{_cell(protect_one(value, t), t)}</tr>"
        for key, name, value in rows
    )
    return f"<h3>Peer support groups</h3><table>{body}</table>"


def _section(p: ProgrammeReport, found: dict[str, Chart], t: int) -> str:
    pid = escape(p.programme_id)
    return f"""
<section id="{pid}">
<h2>{escape(p.name)} <small>({pid})</small></h2>
{_summary(p, t)}
{_groups_table(p, t)}
<h3>Referrals per week</h3>
{_img(found["weekly"], "Bar chart of referrals per ISO week; the numbers are in the table.")}
{_weekly_table(p, t)}
<h3>Time from sending the form to claim and to first contact</h3>
<p class="note">In hours. Medians and 90th percentiles only over {t} or more referrals; referrals
not yet claimed (or contacted) are not in these figures.</p>
{_img(found["times"], "Median and 90th percentile hours to claim and to first contact.")}
{_times_table(p, t)}
<h3>Ways in</h3>
<p class="note">How the referrals came (route), and by which source's link (sources are set in
the config; "no source" is a plain link, or a source no longer in the config). Time to first
contact is in hours, over {t} or more contacted referrals.</p>
{_ways_table(p, p.routes, "route", t)}
{_ways_table(p, p.sources, "source", t)}
<h3>Answers counted</h3>
{_answers(p, t)}
<h3>Where people stop in the form</h3>
<p class="note">How many people were shown each question for the first time (questions that
apply only to some people are reached by fewer). The last row is the referrals sent in the
period.</p>
{_img(found["funnel"], "Horizontal bar chart of how many reached each question.")}
{_funnel_table(p, t)}
<h3>Outcomes</h3>
<p class="note">Where each referral sent in the period stands now. Closed referrals count under
the outcome recorded before they were closed. Closed in total: see the summary above.</p>
{_img(found["outcomes"], "Horizontal bar chart of outcomes.")}
{_outcomes_table(p, t)}
<h3>Assessment, agreement and the relationship</h3>
<p class="note">For the referrals sent in the period: assessment outcomes, answers to the
confidentiality agreement, messages passed on between people and their supporters, and the
answers to "how is it going?" after two meetings. Counts only; small numbers are hidden.</p>
{_relationship_table(p, t)}
<h3>Feedback at the end of support</h3>
{_feedback(p, found["feedback"], t)}
<h3>Volunteers</h3>
{_volunteers(p, t)}
</section>"""


def html(report: Report, found: dict[str, dict[str, Chart]]) -> str:
    t = report.threshold
    period = (
        f"referrals sent from {report.since.isoformat()} to {report.until.isoformat()}"
        if report.since
        else f"all referrals sent up to {report.until.isoformat()}"
    )
    sections = "".join(_section(p, found[p.programme_id], t) for p in report.programmes)
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>peerdoor report</title><style>{CSS}</style></head>
<body>
<h1>Referrals report</h1>
<p>{escape(period)} (weeks and days in UTC). Made {escape(generated)}.</p>
<p class="note">Counts only: this report holds no names, answers or ids. To protect privacy,
any count from 1 to {t - 1} is shown as "&lt;{t}" and drawn as a hatched bar; where such a count
could be worked out from a total, another count is hidden too ("hidden").</p>
{sections}
</body></html>
"""


def write(report: Report, out: Path) -> list[Path]:
    """Draw the charts and write them and ``report.html`` into ``out`` (all mode 0600)."""
    found = {p.programme_id: charts_for(p, report.threshold) for p in report.programmes}
    page = out / "report.html"
    targets = [out / c.name for cs in found.values() for c in cs.values()] + [page]
    assert sorted(targets) == sorted(paths(out, list(found)))
    private_dir(out)
    refuse_existing(*targets)
    written: list[Path] = []
    try:
        for cs in found.values():
            for chart in cs.values():
                write_private(out / chart.name, chart.png)
                written.append(out / chart.name)
        write_private(page, html(report, found).encode("utf-8"))
        written.append(page)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written
