"""The HTML report in a real browser: headless Chromium (Debian's `chromium`) renders the file.

Two looks: a screenshot (a PNG of the window's size, with the chart's colours
in it, not a blank page) and the DOM after rendering (the funnel SVG with one
bar per stage reached, the weekly trend drawn as lines, the cohort table, the
story's numbers, the CRM's markup still only text).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from leadbridge.report.build import compute
from leadbridge.report.html import to_html
from tests.report import story
from tests.report.png import read_png

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

WIDTH, HEIGHT = 1200, 1600
# Repeat customer, reached by nobody in the story, is left out.
STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Colours the page draws only with its charts: a funnel bar (#0d6efd), a hand-back bar, and
# the trend's SQL line (#6f42c1) and customer line (#198754).
FUNNEL_BLUE, HANDBACK_ORANGE = bytes((13, 110, 253)), bytes((253, 126, 20))
SQL_PURPLE, WON_GREEN = bytes((111, 66, 193)), bytes((25, 135, 84))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if CHROMIUM is None:
        # CI installs it and sets this: there, a missing browser fails instead of skipping.
        if os.environ.get("LEADBRIDGE_REQUIRE_CHROMIUM"):
            pytest.fail("no chromium on PATH, and LEADBRIDGE_REQUIRE_CHROMIUM is set")
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium)")
    report = compute(story.entries(), story.leads(), story.funnel(), story.NOW)
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(to_html(report), encoding="utf-8")
    return path


def chromium(page: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tempfile.mkdtemp(prefix="profile-", dir=page.parent)
    command = [
        CHROMIUM,
        "--headless",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",  # throwaway: never the user's profile
        f"--window-size={WIDTH},{HEIGHT}",
        *flags,
        page.as_uri(),
    ]
    if os.geteuid() == 0:
        command.insert(1, "--no-sandbox")  # Chromium refuses to sandbox itself as root
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_screenshot_is_the_window_size_and_not_blank(page: Path) -> None:
    shot = page.parent / "report.png"
    chromium(page, f"--screenshot={shot}")
    image = read_png(shot.read_bytes())  # checks the signature and every chunk's CRC
    assert (image.width, image.height) == (WIDTH, HEIGHT)
    colours = image.colours()
    assert len(colours) >= 100, f"only {len(colours)} colours: a blank or broken page"
    background, most = colours.most_common(1)[0]
    assert most / (WIDTH * HEIGHT) < 0.95, f"{background!r} covers nearly everything"
    # The charts were drawn, not only the text: each bar colour fills a real area.
    assert colours[FUNNEL_BLUE] > 2000 and colours[HANDBACK_ORANGE] > 2000
    # ... and the trend's lines, thin, but each a few hundred pixels long.
    assert colours[SQL_PURPLE] > 300 and colours[WON_GREEN] > 300


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: int | None
    text: list[str] = field(default_factory=list)


class Dom(HTMLParser):
    """The rendered DOM as a flat list of elements, each knowing its parent."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr"})

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.nodes: list[Node] = []
        self._open: list[int] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self._open[-1] if self._open else None
        self.nodes.append(Node(tag, {k: v or "" for k, v in attrs}, parent))
        if tag not in self.VOID:
            self._open.append(len(self.nodes) - 1)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self.nodes[self._open.pop()].tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for index in self._open:
            self.nodes[index].text.append(data)

    def text(self, node: Node) -> str:
        return "".join(node.text).strip()

    def within(self, ancestor: Node, tag: str, cls: str | None = None) -> list[Node]:
        found = []
        for node in self.nodes:
            if node.tag != tag or (cls is not None and cls not in node.attrs.get("class", "")):
                continue
            up = node.parent
            while up is not None and self.nodes[up] is not ancestor:
                up = self.nodes[up].parent
            if up is not None:
                found.append(node)
        return found

    def by_id(self, element_id: str) -> Node:
        return next(n for n in self.nodes if n.attrs.get("id") == element_id)


@pytest.fixture(scope="module")
def dom(page: Path) -> Dom:
    """The DOM after Chromium parsed and laid out the page (not our string)."""
    return Dom(chromium(page, "--dump-dom").stdout)


def test_rendered_dom_has_the_funnel_chart_and_the_story_numbers(dom: Dom) -> None:
    funnel = dom.by_id("funnel")
    assert funnel.tag == "svg"
    stages = dom.within(funnel, "g", "stage")
    assert [g.attrs["data-stage"] for g in stages] == list(STAGES)
    bars = [dom.within(g, "rect", "bar") for g in stages]
    assert [len(found) for found in bars] == [1] * 6  # one bar per stage
    widths = [float(found[0].attrs["width"]) for found in bars]
    assert widths == sorted(widths, reverse=True)  # 8 7 6 5 3 1: a funnel narrows
    counts = [dom.text(dom.within(g, "text", "count")[0]) for g in stages]
    assert counts == ["8", "7", "6", "5", "3", "1"]
    conversions = [dom.text(t) for t in dom.within(funnel, "text", "conversion")]
    assert conversions == [
        "\N{BLACK DOWN-POINTING TRIANGLE} 87.5% (7 of 8)",
        "\N{BLACK DOWN-POINTING TRIANGLE} 85.7% (6 of 7)",
        "\N{BLACK DOWN-POINTING TRIANGLE} 83.3% (5 of 6)",
        "\N{BLACK DOWN-POINTING TRIANGLE} 60.0% (3 of 5)",
        "\N{BLACK DOWN-POINTING TRIANGLE} 33.3% (1 of 3)",
    ]
    handbacks = dom.within(dom.by_id("handbacks"), "g", "handback")
    assert [g.attrs["data-reason"] for g in handbacks] == [
        "competitor",
        "bad_timing",
        "lost_to_competitor",
    ]


def test_rendered_dom_tables_and_crm_markup_stays_text(dom: Dom) -> None:
    rows = [
        [dom.text(cell) for cell in dom.within(row, "td")]
        for row in dom.within(dom.by_id("sources"), "tr")
    ]
    assert rows[1:] == [
        ["Organic search", "3", "3", "3", "3", "2", "1", "0", "0", "0.0% (0/3)"],
        ["Paid social", "3", "3", "3", "2", "2", "1", "1", "1", "33.3% (1/3)"],
        ["Referrals", "1", "1", "1", "1", "1", "1", "0", "0", "0.0% (0/1)"],
        ["Unknown", "1", "1", "0", "0", "0", "0", "0", "0", "0.0% (0/1)"],
    ]
    stuck = table(dom, "stuck")
    # By owner: Ivy's and Lee's owners (one each, by name), then the leads nobody owns.
    assert [row[:2] for row in stuck] == [
        ["005IVY", "Ivy Chen"],
        ["005LEE", "Lee Park"],
        ["(no owner)", "Sam Stone"],
    ]
    assert stuck[2][3] == story.HOSTILE  # shown as the CRM has it...
    assert not [n for n in dom.nodes if n.tag == "script"]  # ...and never run
    assert stuck[2][6:] == ["11d 16h", "2d", "5.8\N{MULTIPLICATION SIGN}"]
    backs = table(dom, "handbacks-by-source")
    assert backs == [
        ["Competitor", "Disqualified", "1", "1", ""],
        ["Bad timing", "Nurture", "1", "1", ""],
        ["Lost to a competitor", "Nurture", "1", "", "1"],
    ]


def table(dom: Dom, element_id: str) -> list[list[str]]:
    """The rows of a table as text; the header row's cells are th, so it comes out empty."""
    rows = [
        [dom.text(c) for c in dom.within(r, "td")] for r in dom.within(dom.by_id(element_id), "tr")
    ]
    return [row for row in rows if row]


def test_rendered_dom_has_the_trend_chart_and_the_cohort_table(dom: Dom) -> None:
    trend = dom.by_id("trend")
    assert trend.tag == "svg"
    series = dom.within(trend, "g", "series")
    assert [g.attrs["data-stage"] for g in series] == ["mql", "sql", "opportunity", "customer"]
    # One line per stage, one point per week: the weeks of 2, 9 and 16 March.
    assert all(len(dom.within(g, "polyline")) == 1 for g in series)
    values = [[p.attrs["data-value"] for p in dom.within(g, "circle", "point")] for g in series]
    assert values == [["5", "1", "1"], ["4", "1", "0"], ["3", "0", "0"], ["0", "0", "1"]]
    # More arrivals draw higher: MQL's 5 sits above its 1 (SVG's y grows downwards).
    mql = [float(p.attrs["cy"]) for p in dom.within(series[0], "circle", "point")]
    assert mql[0] < mql[1] == mql[2]
    weeks = [dom.text(t) for t in dom.within(trend, "text", "week")]
    assert weeks == ["2026-03-02", "2026-03-09", "2026-03-16"]
    legend = [dom.text(t) for g in dom.within(trend, "g", "legend") for t in dom.within(g, "text")]
    assert legend == ["MQL (7)", "SQL (5)", "Opportunity (3)", "Customer (1)"]
    assert table(dom, "cohorts") == [
        ["2026-03-02", "5", "100.0% (5/5)", "60.0% (3/5)", "20.0% (1/5)"],
        ["2026-03-09", "1", "0.0% (0/1)", "0.0% (0/1)", "0.0% (0/1)"],
    ]
    owners = table(dom, "owners")
    assert owners[0] == ["005IVY", "1", "100.0% (1/1)", "0.0% (0/1)", "-", "0", "1"]
