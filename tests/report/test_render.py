"""The report as text, JSON and HTML: the story's numbers, printed; CRM data never markup."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from leadbridge.model import Lead
from leadbridge.report.build import Report, compute
from leadbridge.report.data import to_json
from leadbridge.report.format import duration
from leadbridge.report.html import to_html
from leadbridge.report.text import WIDTH, to_text
from tests.report import story

H = 3600.0


@pytest.fixture(scope="module")
def report() -> Report:
    return compute(story.entries(), story.leads(), story.funnel(), story.NOW)


def section(text: str, title: str) -> list[list[str]]:
    """The rows (split on runs of spaces) of the block under the line starting with `title`."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(title))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


@pytest.mark.parametrize(
    ("hours", "shown"),
    [
        (None, "-"),
        (0, "0s"),
        (0.25, "15m"),
        (5.5, "5h 30m"),
        (24, "1d"),
        (130, "5d 10h"),
        (154.4, "6d 10h"),
    ],
)
def test_durations_read_like_people_say_them(hours: float | None, shown: str) -> None:
    assert duration(None if hours is None else timedelta(hours=hours)) == shown


def test_text_funnel_times_and_handbacks(report: Report) -> None:
    text = to_text(report)
    assert text.startswith("Funnel report, all time to 2026-03-22 09:00 UTC\n")
    assert "8 leads counted; 1 won (Customer), win rate 12.5% (1/8)" in text
    # Every percentage with its counts; repeat customer, reached by nobody, is left out.
    assert section(text, "Funnel:")[1:] == [
        ["Subscriber", "8", "7", "87.5% (7/8)"],
        ["Lead", "7", "6", "85.7% (6/7)"],
        ["MQL", "6", "5", "83.3% (5/6)"],
        ["SQL", "5", "3", "60.0% (3/5)"],
        ["Opportunity", "3", "1", "33.3% (1/3)"],
        ["Customer", "1", "0", "0.0% (0/1)"],
    ]
    times = {row[0]: row[1:] for row in section(text, "Time in stage:")[1:]}
    assert times["MQL"] == ["4", "1d 12h", "6d 10h", "2", "2", "2d"]
    assert times["Opportunity"] == ["2", "8d 12h", "9d 16h", "1", "0", "-"]
    assert "Repeat customer" not in times  # no stay, nobody there: all zero
    # Reasons and sources in words; the source columns say whose leads came back.
    assert section(text, "Hand-backs by reason")[1:] == [
        ["Disqualified", "Competitor", "1", "1"],
        ["Nurture", "Bad timing", "1", "1"],
        ["Nurture", "Lost to a competitor", "1", "1"],
    ]
    header = section(text, "Hand-backs by reason")[0]
    assert header == ["stage", "reason", "leads", "Paid social", "Referrals"]
    lines = text.splitlines()
    head = next(line for line in lines if line.endswith("Paid social  Referrals"))
    lost = next(line for line in lines if "Lost to a competitor" in line)
    assert len(lost) == len(head)  # Priya's 1 is right-aligned under Referrals


def test_text_trend_and_cohorts(report: Report) -> None:
    text = to_text(report)
    # Week of 2 March (hours 0-159): MQL Dana, Omar (skipped through), Lee, Priya, Ivy;
    # SQL Dana, Omar, Lee, Priya; opportunity Dana, Omar, Priya. 9 March: Sam MQL, Ivy SQL.
    # 16 March: Lee MQL again (re-engaged), Dana won.
    assert section(text, "New per week")[1:] == [
        ["2026-03-02", "5", "4", "3", "0"],
        ["2026-03-09", "1", "1", "0", "0"],
        ["2026-03-16", "1", "0", "0", "1"],
    ]
    assert section(text, "New per week")[0] == ["week", "MQL", "SQL", "Opportunity", "Customer"]
    # Lee's second MQL is no new cohort member: his first was in the week of 2 March.
    assert section(text, "Cohorts: of the leads that became MQL")[1:] == [
        ["2026-03-02", "5", "100.0% (5/5)", "60.0% (3/5)", "20.0% (1/5)"],
        ["2026-03-09", "1", "0.0% (0/1)", "0.0% (0/1)", "0.0% (0/1)"],
    ]


def test_text_by_source_owner_and_stuck(report: Report) -> None:
    text = to_text(report)
    loop = {row[0]: row[1:] for row in section(text, "By source: leads that reached")[1:]}
    assert loop["Paid social"] == ["3", "3", "3", "2", "2", "1", "1", "1", "33.3% (1/3)"]
    assert loop["Unknown"] == ["1", "1", "0", "0", "0", "0", "0", "0", "0.0% (0/1)"]
    conversions = section(text, "By source: conversion")
    assert conversions[0][-1] == "to Customer"  # nobody reached repeat customer: no column
    assert {row[0]: row[3] for row in conversions[1:]}["Organic search"] == "66.7% (2/3)"
    owners = {row[0]: row[1:] for row in section(text, "By owner:")[1:]}
    assert section(text, "By owner:")[0] == [
        "owner",
        "leads",
        "to SQL",
        "to Opportunity",
        "to Customer",
        "won",
        "stuck now",
    ]
    assert owners["005IVY"] == ["1", "100.0% (1/1)", "0.0% (0/1)", "-", "0", "1"]
    assert owners["(no owner)"] == ["6", "75.0% (3/4)", "100.0% (3/3)", "33.3% (1/3)", "1", "1"]
    assert "By score band and grade: no lead has a score or a grade yet" in text
    stuck = text.split("Stuck now (past the stage's SLA), by owner, oldest first: 3\n")[1]
    assert stuck.splitlines()[:6] == [
        "  005IVY: 1",
        "    Ivy Chen <ivy@example.com> (Acme): SQL for 7d 12h, SLA 5d (1.5x), source Organic "
        "search",
        "  005LEE: 1",
        "    Lee Park <lee@example.com> (Acme): MQL for 3d, SLA 2d (1.5x), source Paid social",
        "  (no owner): 1",
        f"    Sam Stone <sam@example.com> ({story.HOSTILE}): MQL for 11d 16h, SLA 2d (5.8x), "
        "source Organic search",
    ]


def test_text_tables_fit_in_100_columns() -> None:
    """Sixty leads over nine sources and four owners: wide tables continue below themselves."""
    people = []
    sources = [
        "organic_search",
        "paid_search",
        "email_marketing",
        "social_media",
        "paid_social",
        "direct_traffic",
        "referrals",
        "offline",
        "other_campaigns",
    ]
    for n in range(60):
        fields = {"source": sources[n % 9], "score": n * 2, "grade": "ABCD"[n % 4]}
        people.append(Lead(f"p{n}", "sql", story.at(n), owner=f"005OWNER{n % 4}", fields=fields))
    text = to_text(compute([], people, story.funnel(), story.NOW))
    long = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not long, long
    assert "Direct traffic" in text and "Other campaigns" in text
    assert section(text, "By score band")[0][:3] == ["score band", "leads", "MQL"]
    assert [row[0] for row in section(text, "By score band")[1:]] == [
        "75+",
        "50-74",
        "25-49",
        "0-24",
    ]
    assert [row[0] for row in section(text, "By grade")[1:]] == ["A", "B", "C", "D"]


def test_text_defuses_terminal_control_characters() -> None:
    lead = Lead("x", "mql", story.at(0), fields={"first_name": "Eve\x1b[2J", "source": "ad\x07s"})
    text = to_text(compute([], [lead], story.funnel(), story.NOW))
    assert "\x1b" not in text and "\x07" not in text
    assert "Eve?[2J" in text and "Ad?s" in text


def test_json_carries_every_number(report: Report) -> None:
    data: dict[str, Any] = json.loads(to_json(report))
    overall = data["overall"]
    assert (data["since"], data["won_stage"], overall["leads"], overall["won"]) == (
        None,
        "customer",
        8,
        1,
    )
    assert overall["reached"]["mql"] == 6
    assert [c["ratio"] for c in overall["conversions"]][:2] == [0.875, pytest.approx(6 / 7)]
    mql = next(t for t in overall["time_in_stage"] if t["stage"] == "mql")
    assert mql == {
        "stage": "mql",
        "sla_seconds": 48 * H,
        "stays": 4,
        "median_seconds": 36 * H,
        "p90_seconds": pytest.approx(154.4 * H),
        "now": 2,
        "stuck": 2,
    }
    assert overall["handbacks"][0] == {"stage": "disqualified", "reason": "competitor", "count": 1}
    assert list(data["by_source"]) == ["organic_search", "paid_social", "referrals", "unknown"]
    assert data["by_source"]["paid_social"]["won"] == 1
    sam = data["stuck"][0]
    assert (sam["name"], sam["waited_seconds"], sam["sla_seconds"], sam["company"]) == (
        "Sam Stone",
        280 * H,
        48 * H,
        story.HOSTILE,
    )
    assert sam["entered_at"] == "2026-03-10T17:00:00+00:00"


def test_html_is_self_contained_and_escapes_crm_data(report: Report) -> None:
    page = to_html(report)
    lowered = page.lower()
    for outside in ("<script", "http://", "https://", "url(", "@import", "<link", "<img", "@font"):
        assert outside not in lowered, outside
    assert "Stone &amp; Sons &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count('<g class="stage"') == len(report.stages) - 1  # repeat customer: 0
    assert page.count('<g class="handback"') == 3


def test_html_with_nothing_to_show_still_renders() -> None:
    page = to_html(compute([], [], story.funnel(), story.NOW))
    assert "No hand-backs in this period." in page
    assert "Nobody is past their stage" in page
    assert page.count('<g class="stage"') == 7  # an empty funnel still shows its stages
    assert "No moves in this period." in page and "Nobody became MQL in this period." in page
