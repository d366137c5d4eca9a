"""The report's charts, drawn with matplotlib (Agg: no display needed), returned as PNG bytes.

A suppressed count is never drawn at its height: it is a hatched grey bar of a fixed height
(the threshold) labelled "<5" or "hidden", and the legend says so.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from bot.ops.report import Cell, FeedbackScores, Hours, protect

_BAR = "#2f6f8f"
_CLAIM = "#2f6f8f"
_CONTACT = "#c7762b"
_HIDDEN = "#9a9a9a"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(fig)
    return buffer.getvalue()


def _note_hidden(ax: Any, threshold: int, inches_below: float) -> None:
    """A legend for the hatched bars, ``inches_below`` under the axes (clear of the labels)."""
    from matplotlib.patches import Patch

    axes_height = ax.get_position().height * ax.figure.get_figheight()

    ax.legend(
        handles=[
            Patch(facecolor=_BAR, label="count"),
            Patch(
                facecolor="white",
                edgecolor=_HIDDEN,
                hatch="///",
                label=f"fewer than {threshold}, or hidden so it cannot be worked out "
                "(not drawn to scale)",
            ),
        ],
        loc="upper left",
        bbox_to_anchor=(0, -inches_below / axes_height),
        fontsize=8,
        frameon=False,
    )


def bars(
    title: str,
    labels: Sequence[str],
    cells: Sequence[Cell],
    threshold: int,
    *,
    horizontal: bool = False,
    axis_label: str = "",
) -> bytes:
    """A bar per cell; suppressed cells hatched at a fixed height with their label."""
    plt = _pyplot()
    n = len(cells)
    if horizontal:
        fig, ax = plt.subplots(figsize=(9, max(2.5, 0.32 * n + 1.2)))
    else:
        fig, ax = plt.subplots(figsize=(max(6, min(0.35 * n + 2, 16)), 4))
    positions = list(range(n))
    shown = [0 if c.hidden else c.value for c in cells]
    hidden_at = [i for i, c in enumerate(cells) if c.hidden]
    draw = ax.barh if horizontal else ax.bar
    draw(positions, shown, color=_BAR)
    if hidden_at:
        draw(
            hidden_at,
            [threshold] * len(hidden_at),
            color="white",
            edgecolor=_HIDDEN,
            hatch="///",
        )
        for i in hidden_at:
            text = cells[i].text(threshold)
            if horizontal:
                ax.text(threshold, i, f" {text}", va="center", fontsize=8, color="#555")
            else:
                ax.text(i, threshold, text, ha="center", va="bottom", fontsize=8, color="#555")
        _note_hidden(ax, threshold, 0.5 if horizontal else 0.95)
    if horizontal:
        ax.set_yticks(positions, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(axis_label)
    else:
        step = max(1, n // 20)
        ax.set_xticks(positions[::step], list(labels)[::step], rotation=60, fontsize=8)
        ax.set_ylabel(axis_label)
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def waiting_times(
    claim: Hours,
    contact: Hours,
    weeks: Sequence[str],
    claim_by_week: Sequence[Hours],
    contact_by_week: Sequence[Hours],
    threshold: int,
) -> bytes:
    """Left: overall median and 90th percentile; right: weekly medians where there are enough."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4), width_ratios=(1, 2))
    names = ("to claim", "to first contact")
    overall = (claim, contact)
    for offset, (what, colour) in enumerate((("median", _CLAIM), ("90th percentile", _CONTACT))):
        values = [(h.median if offset == 0 else h.p90) for h in overall]
        xs = [i + (offset - 0.5) * 0.38 for i in range(2)]
        left.bar(xs, [v or 0 for v in values], width=0.38, color=colour, label=what)
        for x, v, h in zip(xs, values, overall, strict=True):
            label = f"{v:.1f}" if v is not None else f"n<{threshold}" if h.n else "none"
            left.text(x, v or 0, label, ha="center", va="bottom", fontsize=8)
    left.set_xticks(range(2), names)
    left.set_ylabel("hours after the form was sent")
    left.set_title("All referrals in the period")
    left.legend(fontsize=8, frameon=False)
    left.spines[["top", "right"]].set_visible(False)

    enough = False
    for series, colour, name in (
        (claim_by_week, _CLAIM, "to claim"),
        (contact_by_week, _CONTACT, "to first contact"),
    ):
        points = [(i, h) for i, h in enumerate(series) if h.median is not None]
        if not points:
            continue
        enough = True
        xs = [i for i, _ in points]
        right.plot(xs, [h.median for _, h in points], "o-", color=colour, label=f"{name}: median")
        right.plot(xs, [h.p90 for _, h in points], "o--", color=colour, alpha=0.6,
                   label=f"{name}: 90th percentile")  # fmt: skip
    if enough:
        step = max(1, len(weeks) // 16)
        right.set_xticks(range(len(weeks))[::step], list(weeks)[::step], rotation=60, fontsize=8)
        right.set_xlim(-0.5, len(weeks) - 0.5)
        right.legend(fontsize=8, frameon=False)
    else:
        right.set_axis_off()
        right.text(
            0.5,
            0.5,
            f"No week had {threshold} or more referrals with this step done,\n"
            "so no weekly figures are shown.",
            ha="center",
            va="center",
            transform=right.transAxes,
        )
    right.set_title(f"By week (weeks with at least {threshold})")
    right.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def feedback(scores: Sequence[FeedbackScores], threshold: int) -> bytes:
    """Every counted feedback question's answers as horizontal bars, question by question
    (each question's answers protected like a table with its total)."""
    labels: list[str] = []
    cells: list[Cell] = []
    for question in scores:
        for score, cell in zip(
            question.scores, protect([s.count for s in question.scores], threshold), strict=True
        ):
            labels.append(f"{question.question_id}: {score.label}"[:60])
            cells.append(cell)
    if not cells:
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(9, 1.6))
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No feedback in this period.", ha="center", va="center")
        ax.set_title("Feedback at the end of support")
        return _png(fig)
    return bars(
        "Feedback at the end of support",
        labels,
        cells,
        threshold,
        horizontal=True,
        axis_label="answers",
    )
