"""The report as text, JSON and HTML: the story's numbers, printed; CRM data never markup."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from leadbridge.model import Lead
from leadbridge.report.build import Report, compute
from leadbridge.report.html import to_html
from leadbridge.report.text import duration, to_json, to_text
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
    assert "8 leads counted; 1 won (customer), win rate 12.5%" in text
    assert section(text, "Funnel:")[1:] == [
        ["subscriber", "8", "7", "87.5%"],
        ["lead", "7", "6", "85.7%"],
        ["mql", "6", "5", "83.3%"],
        ["sql", "5", "3", "60.0%"],
        ["opportunity", "3", "1", "33.3%"],
        ["customer", "1", "0", "0.0%"],
        ["repeat_customer", "0"],
    ]
    times = {row[0]: row[1:] for row in section(text, "Time in stage:")[1:]}
    assert times["mql"] == ["4", "1d 12h", "6d 10h", "2", "2", "2d"]
    assert times["opportunity"] == ["2", "8d 12h", "9d 16h", "1", "0", "-"]
    assert section(text, "Hand-backs by reason")[1:] == [
        ["disqualified", "competitor", "1"],
        ["nurture", "bad_timing", "1"],
        ["nurture", "lost_to_competitor", "1"],
    ]


def test_text_by_source_and_stuck(report: Report) -> None:
    text = to_text(report)
    loop = {row[0]: row[1:] for row in section(text, "By source: leads that reached")[1:]}
    assert loop["paid_social"] == ["3", "3", "3", "2", "2", "1", "1", "0", "1", "33.3%"]
    assert loop["unknown"] == ["1", "1", "0", "0", "0", "0", "0", "0", "0", "0.0%"]
    assert "  referrals: lost_to_competitor (nurture) 1" in text
    stuck = section(text, "Stuck now")
    assert [line[0].split(" <")[0] for line in stuck] == ["Sam Stone", "Ivy Chen", "Lee Park"]
    assert "Ivy Chen <ivy@example.com> (Acme): sql for 7d 12h, SLA 5d (1.5x), owner 005IVY" in text


def test_text_defuses_terminal_control_characters() -> None:
    lead = Lead("x", "mql", story.at(0), fields={"first_name": "Eve\x1b[2J", "source": "ad\x07s"})
    text = to_text(compute([], [lead], story.funnel(), story.NOW))
    assert "\x1b" not in text and "\x07" not in text
    assert "Eve?[2J" in text and "ad?s" in text


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
    assert page.count('<g class="stage"') == len(report.stages)
    assert page.count('<g class="handback"') == 3


def test_html_with_nothing_to_show_still_renders() -> None:
    page = to_html(compute([], [], story.funnel(), story.NOW))
    assert "No hand-backs in this period." in page
    assert "Nobody is past their stage" in page
    assert page.count('<g class="stage"') == 7  # an empty funnel still shows its stages
