"""`peerdoor report` on a seeded database: the charts exist, the numbers match, small ones hide."""

from __future__ import annotations

import base64
import io
import re
import stat
import statistics
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from bot.errors import SetupError
from bot.ops.report import Cell, protect
from bot.ops.reports_cli import make_report
from storage import KeyRing, Store
from tests.unit.report_seed import (
    CANARY,
    CLAIM_HOURS,
    CONTACT_HOURS,
    FEEDBACK,
    FUNNEL,
    SINCE,
    UNTIL,
    seed,
)

NOW = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n"


def cell(page: str, row_id: str) -> str:
    """The text of the (first) number cell of the table row with this id."""
    row = re.search(rf'<tr id="{re.escape(row_id)}">(.*?)</tr>', page, re.DOTALL)
    assert row is not None, f"no row {row_id}"
    match = re.search(r'<td class="n">([^<]*)</td>', row.group(1))
    assert match is not None, f"no number in row {row_id}"
    return match.group(1).replace("&lt;", "<")


def test_protect_hides_small_counts_and_what_would_give_them_away() -> None:
    assert protect([7, 3, 0, 6], 5) == [Cell(7), Cell(3, "small"), Cell(0), Cell(6, "secondary")]
    assert protect([7, 5, 2, 1, 1, 0], 5) == [
        Cell(7),
        Cell(5),
        Cell(2, "small"),
        Cell(1, "small"),
        Cell(1, "small"),
        Cell(0),
    ]
    assert protect([0, 9, 12], 5) == [Cell(0), Cell(9), Cell(12)]
    assert [c.text(5) for c in protect([4, 30], 5)] == ["<5", "hidden"]


async def test_report_numbers_charts_and_suppression(tmp_path: Path) -> None:
    key = KeyRing.generate()
    database = tmp_path / "peerdoor.db"
    seeded = await seed(database, key)
    hiv = seeded.config.programme("hiv")
    assert hiv is not None
    store = await Store.open(database, KeyRing(key))
    out = tmp_path / "report"
    report, written = await make_report(
        store, [hiv], out, since=SINCE, until=UNTIL, now=NOW, close=False
    )
    try:
        names = sorted(p.name for p in written)
        assert names == [
            "hiv-feedback.png",
            "hiv-form-drop-off.png",
            "hiv-outcomes.png",
            "hiv-referrals-per-week.png",
            "hiv-waiting-times.png",
            "report.html",
        ]
        page = (out / "report.html").read_text(encoding="utf-8")
        for path in written:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            body = path.read_bytes()
            assert CANARY.encode() not in body
            if path.suffix == ".png":
                assert body.startswith(PNG)
                with Image.open(io.BytesIO(body)) as image:
                    image.verify()
                assert base64.b64encode(body).decode() in page, f"{path.name} not embedded"
        assert stat.S_IMODE(out.stat().st_mode) == 0o700
        assert "http://" not in page and "https://" not in page  # self-contained

        # Referrals per week: 7, 3 -> "<5", 0, 6 -> hidden (else 16 - 7 - 0 - 6 gives the 3).
        assert cell(page, "hiv-total") == "16"
        assert cell(page, "hiv-week-2025-W10") == "7"
        assert cell(page, "hiv-week-2025-W11") == "<5"
        assert cell(page, "hiv-week-2025-W12") == "0"
        assert cell(page, "hiv-week-2025-W13") == "hidden"
        assert '<tr id="hiv-week-2025-W09">' not in page  # before --since
        # Three urgent and two closed: shown as "<5", never as the number.
        assert cell(page, "hiv-urgent") == "<5"
        assert cell(page, "hiv-closed") == "<5"
        assert not re.search(r'<tr id="hiv-urgent">.*?<td class="n">3</td>', page)

        # Waiting times: medians and 90th percentiles over the seeded hours.
        assert cell(page, "hiv-claim-n") == "12"
        assert cell(page, "hiv-claim-median") == f"{statistics.median(CLAIM_HOURS):.1f}" == "7.0"
        p90 = statistics.quantiles(CLAIM_HOURS, n=10, method="inclusive")[8]
        assert cell(page, "hiv-claim-p90") == f"{p90:.1f}"
        assert cell(page, "hiv-contact-n") == "6"
        assert (
            cell(page, "hiv-contact-median") == f"{statistics.median(CONTACT_HOURS):.1f}" == "25.0"
        )
        # By week: W10 has 6 claimed (median of 1..6 h), W11 only 2 (no median, count "<5").
        assert "<td>2025-W10</td>" in page
        w10 = re.search(r'<tr id="hiv-times-2025-W10">(.*?)</tr>', page)
        assert w10 is not None
        assert '<td class="n">6</td><td class="n">3.5</td>' in w10.group(1)
        w11 = re.search(r'<tr id="hiv-times-2025-W11">(.*?)</tr>', page)
        assert w11 is not None
        assert '<td class="n">&lt;5</td><td class="n">—</td>' in w11.group(1)

        # Drop-off: the funnel counts of the period (the early "start" is left out).
        assert cell(page, "hiv-step-start") == "30"
        assert cell(page, "hiv-step-age_band") == "24"
        assert cell(page, "hiv-step-phone") == "<5"
        assert cell(page, "hiv-step-change") == "0"
        assert cell(page, "hiv-step-sent") == "16"
        assert [s.reached for s in report.programmes[0].steps][:4] == [30, 28, 26, 3]
        start = report.programmes[0].steps[0]
        assert "up to 22 short questions" in start.label, "the form's {questions}, filled in"

        # Outcomes: closed ones count under the outcome recorded before closing.
        assert cell(page, "hiv-outcome-open") == "7"
        assert cell(page, "hiv-outcome-matched") == "5"
        assert cell(page, "hiv-outcome-deferred") == "<5"
        assert cell(page, "hiv-outcome-declined") == "<5"
        assert cell(page, "hiv-outcome-withdrawn") == "<5"
        assert cell(page, "hiv-outcome-closed") == "0"
        assert report.programmes[0].outcomes == [7, 5, 2, 1, 1, 0]

        # Feedback: distributions per question, small ones hidden, the 1-5 scale's average.
        assert cell(page, "hiv-feedback-helpful-5") == "6"
        assert cell(page, "hiv-feedback-helpful-4") == "<5"
        assert cell(page, "hiv-feedback-helpful-3") == "<5"
        assert cell(page, "hiv-feedback-helpful-1") == "0"  # January's 4 are before --since
        assert cell(page, "hiv-feedback-helpful-total") == "10"
        assert cell(page, "hiv-feedback-helpful-average") == "4.5"
        # listened: 7, 5, 2: the 2 is "<5", so the next smallest (5) is hidden as well.
        assert cell(page, "hiv-feedback-listened-yes") == "7"
        assert cell(page, "hiv-feedback-listened-mostly") == "hidden"
        assert cell(page, "hiv-feedback-listened-no") == "<5"
        assert cell(page, "hiv-feedback-listened-total") == "14"
        assert '<tr id="hiv-feedback-listened-average">' not in page  # not a number scale
        # recommend: 9 and 1; the 1 is "<5", so the 9 is hidden too (10 - 9 would give it).
        assert cell(page, "hiv-feedback-recommend-no") == "<5"
        assert cell(page, "hiv-feedback-recommend-yes") == "hidden"
        assert 'id="hiv-feedback-anything_else' not in page  # free text: never counted
        [helpful, listened, recommend] = report.programmes[0].feedback
        assert [(s.answer, s.count) for s in helpful.scores] == [
            ("1", 0),
            ("2", 0),
            ("3", 1),
            ("4", 3),
            ("5", 6),
        ]
        assert helpful.average == sum(int(a) * n for a, n in FEEDBACK["helpful"].items()) / sum(
            FEEDBACK["helpful"].values()
        )
        assert listened.total == 14 and listened.average is None
        assert recommend.total == sum(FEEDBACK["recommend"].values())
        assert 'id="diabetes"' not in page  # only the programme asked for

        async with store.unit() as uow:
            entries = await uow.audit.entries(limit=5)
        assert (entries[-1].action, entries[-1].detail) == (
            "report",
            "programmes=1 referrals=16",
        )
        assert entries[-1].reference is None
        assert (await store.verify_audit()).ok

        # A second report into the same folder overwrites nothing.
        with pytest.raises(SetupError, match="already exists"):
            await make_report(store, [hiv], out, since=SINCE, until=UNTIL, now=NOW, close=False)
        assert (out / "report.html").read_text(encoding="utf-8") == page
    finally:
        await store.close()
    assert sum(FUNNEL.values()) > 0


async def test_report_over_everything_has_a_section_per_programme(tmp_path: Path) -> None:
    key = KeyRing.generate()
    database = tmp_path / "peerdoor.db"
    seeded = await seed(database, key)
    store = await Store.open(database, KeyRing(key))
    report, _ = await make_report(
        store, list(seeded.config.programmes), tmp_path / "all", until=UNTIL, now=NOW
    )
    page = (tmp_path / "all" / "report.html").read_text(encoding="utf-8")
    assert cell(page, "hiv-total") == "17"  # with the referral sent before the period
    assert cell(page, "diabetes-total") == "<5"
    assert cell(page, "hiv-step-start") == "31"
    assert report.referrals == 18
    assert CANARY not in page
