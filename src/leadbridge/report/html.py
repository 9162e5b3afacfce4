"""The funnel report as one self-contained HTML page: inline CSS and SVG, no scripts, no fonts.

A weekly meeting looks at it on a screen or on paper, so it must open from
an email attachment or a file share with nothing to fetch, and print well.
Every value that came from data (lead names come from the CRMs, reasons and
sources from reps' picklists) goes through `_e`, never into markup raw.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence

from leadbridge.report.build import Breakdown, Report, StuckLead
from leadbridge.report.text import duration, percent, period, stage_label

# One hue per forward stage, light to dark down the funnel: the eye reads depth.
_PALETTE = ("#9ec5fe", "#6ea8fe", "#3d8bfd", "#0d6efd", "#0a58ca", "#084298", "#052c65")
_HANDBACK = "#fd7e14"
_CHART_WIDTH = 760
_LABEL_WIDTH = 180
_BAR_AREA = 500
_ROW = 40
_GAP = 26  # between bars, where the conversion to the next stage is written

_CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
       sans-serif; color: var(--ink); margin: 0 auto; padding: 28px 32px; max-width: 1100px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 30px 0 10px; border-bottom: 1px solid var(--line);
     padding-bottom: 4px; }
p.period, p.note { color: var(--muted); margin: 0 0 12px; }
.cards { display: flex; gap: 14px; flex-wrap: wrap; margin: 16px 0 8px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 150px; }
.card b { display: block; font-size: 26px; }
.card span { color: var(--muted); font-size: 13px; }
svg text { font-family: inherit; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: right;
         font-variant-numeric: tabular-nums; }
th:first-child, td:first-child, .text { text-align: left; }
td { white-space: nowrap; }
td.text { white-space: normal; }
th { color: var(--muted); font-weight: 600; }
tr.escalated td { color: #b42318; font-weight: 600; }
section { break-inside: avoid; }
@media print {
  body { padding: 0; font-size: 11px; max-width: none; }
  h2 { margin-top: 18px; }
  .card { padding: 6px 10px; }
}
@page { margin: 14mm; }
"""


def to_html(report: Report) -> str:
    overall = report.overall
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Funnel report, {_e(period(report))}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Funnel report</h1>",
        f'<p class="period">{_e(period(report))}</p>',
        '<div class="cards">',
        _card(overall.leads, "leads counted"),
        _card(overall.won, f"won ({stage_label(report.won_stage)})"),
        _card(percent(overall.win_rate), "win rate"),
        _card(len(report.stuck), "stuck past SLA now"),
        "</div>",
        "<section><h2>Funnel</h2>",
        '<p class="note">Leads that reached each stage, and the share that went on to the next.'
        "</p>",
        _funnel_svg(report),
        "</section>",
        "<section><h2>Hand-backs by reason</h2>",
        _handbacks_svg(overall),
        "</section>",
        "<section><h2>Time in stage</h2>",
        '<p class="note">Completed stays that ended in the period; leads still in a stage count '
        "under <i>now</i>, and under <i>stuck</i> once past its SLA.</p>",
        _times_table(overall),
        "</section>",
        *_source_sections(report),
        f"<section><h2>Stuck now ({len(report.stuck)})</h2>",
        _stuck_table(report.stuck),
        "</section>",
        *_notes(report),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _funnel_svg(report: Report) -> str:
    """One centred bar per forward stage, width by leads, the conversion written between."""
    part = report.overall
    top = max([part.reached[s] for s in report.stages] + [1])
    height = len(report.stages) * (_ROW + _GAP) - _GAP
    centre = _LABEL_WIDTH + _BAR_AREA / 2
    out = [
        f'<svg id="funnel" role="img" aria-label="Funnel chart" width="{_CHART_WIDTH}" '
        f'height="{height}" viewBox="0 0 {_CHART_WIDTH} {height}">'
    ]
    for n, stage in enumerate(report.stages):
        count = part.reached[stage]
        width = max(_BAR_AREA * count / top, 3.0)  # an empty stage still shows where it is
        y = n * (_ROW + _GAP)
        colour = _PALETTE[min(n, len(_PALETTE) - 1)]
        out.append(
            f'<g class="stage" data-stage="{_e(stage)}">'
            f'<text x="{_LABEL_WIDTH - 12}" y="{y + _ROW / 2 + 5}" text-anchor="end" '
            f'font-size="15" font-weight="600">{_e(stage_label(stage))}</text>'
            f'<rect class="bar" x="{centre - width / 2:.1f}" y="{y}" width="{width:.1f}" '
            f'height="{_ROW}" rx="4" fill="{colour}"><title>{_e(stage_label(stage))}: '
            f"{count} leads</title></rect>"
            f'<text class="count" x="{_LABEL_WIDTH + _BAR_AREA + 14}" y="{y + _ROW / 2 + 5}" '
            f'font-size="15" font-weight="700">{count}</text></g>'
        )
        if n < len(part.conversions):
            step = part.conversions[n]
            out.append(
                f'<text class="conversion" x="{centre}" y="{y + _ROW + _GAP / 2 + 5}" '
                f'text-anchor="middle" font-size="13" fill="#59636e">&#9660; '
                f"{_e(percent(step.ratio))} ({step.converted} of {step.reached})</text>"
            )
    out.append("</svg>")
    return "".join(out)


def _handbacks_svg(part: Breakdown) -> str:
    if not part.handbacks:
        return '<p class="note">No hand-backs in this period.</p>'
    top = max(h.count for h in part.handbacks)
    row, gap, label = 26, 8, 260
    area = _CHART_WIDTH - label - 60
    height = len(part.handbacks) * (row + gap) - gap
    out = [
        f'<svg id="handbacks" role="img" aria-label="Hand-backs by reason" '
        f'width="{_CHART_WIDTH}" height="{height}" viewBox="0 0 {_CHART_WIDTH} {height}">'
    ]
    for n, back in enumerate(part.handbacks):
        y = n * (row + gap)
        width = max(area * back.count / top, 3.0)
        name = f"{back.reason} ({stage_label(back.stage)})"
        out.append(
            f'<g class="handback" data-reason="{_e(back.reason)}">'
            f'<text x="{label - 10}" y="{y + row / 2 + 5}" text-anchor="end" '
            f'font-size="14">{_e(name)}</text>'
            f'<rect class="bar" x="{label}" y="{y}" width="{width:.1f}" height="{row}" rx="3" '
            f'fill="{_HANDBACK}"><title>{_e(name)}: {back.count}</title></rect>'
            f'<text class="count" x="{label + width + 8:.1f}" y="{y + row / 2 + 5}" '
            f'font-size="14" font-weight="700">{back.count}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def _times_table(part: Breakdown) -> str:
    rows = [
        [
            stage_label(t.stage),
            t.stays,
            duration(t.median),
            duration(t.p90),
            t.now,
            t.stuck,
            duration(t.sla),
        ]
        for t in part.times
    ]
    return _table(["Stage", "Stays", "Median", "90th pct", "Now", "Stuck", "SLA"], rows)


def _source_sections(report: Report) -> list[str]:
    stages = list(report.stages)
    sources = list(report.by_source.items())
    loop = [
        "<tr>"
        + f'<td class="text">{_e(name)}</td><td>{part.leads}</td>'
        + "".join(_shaded(part.reached[s], part.leads) for s in stages)
        + f"<td>{part.won}</td><td>{_e(percent(part.win_rate))}</td></tr>"
        for name, part in sources
    ]
    head = "".join(f"<th>{_e(stage_label(s))}</th>" for s in stages)
    timed = [t.stage for t in report.overall.times if t.stays]
    conversions = _table(
        [
            "Source",
            *(
                f"{_e(stage_label(a))} &#8594; {_e(stage_label(b))}"
                for a, b in itertools.pairwise(stages)
            ),
        ],
        [[name, *(percent(c.ratio) for c in part.conversions)] for name, part in sources],
        raw_header=True,
    )
    medians = _table(
        ["Source", *(stage_label(s) for s in timed)],
        [
            [name, *(duration(t.median) for t in part.times if t.stage in timed)]
            for name, part in sources
        ],
    )
    backs = _table(
        ["Source", "Reason", "Stage", "Leads"],
        [
            [name, h.reason, stage_label(h.stage), h.count]
            for name, part in sources
            for h in part.handbacks
        ],
        text_columns=3,
    )
    return [
        "<section><h2>By source: from source to revenue</h2>",
        '<p class="note">Leads of each source that reached each stage; shading is the share of '
        "the source's leads.</p>",
        f'<table id="sources"><tr><th>Source</th><th>Leads</th>{head}<th>Won</th>'
        f"<th>Win rate</th></tr>{''.join(loop)}</table>",
        "</section>",
        "<section><h2>By source: conversion to the next stage</h2>",
        conversions,
        "</section>",
        "<section><h2>By source: median time in stage</h2>",
        medians,
        "<h2>By source: hand-backs</h2>",
        backs if any(part.handbacks for _, part in sources) else '<p class="note">None.</p>',
        "</section>",
    ]


def _stuck_table(stuck: Sequence[StuckLead]) -> str:
    if not stuck:
        return '<p class="note">Nobody is past their stage\'s SLA.</p>'
    rows = [
        [
            lead.name,
            lead.email or "",
            lead.company or "",
            stage_label(lead.stage),
            lead.owner or "",
            lead.source,
            duration(lead.waited),
            duration(lead.sla),
            f"{lead.overdue:.1f}\N{MULTIPLICATION SIGN}",
        ]
        for lead in stuck
    ]
    # Past twice the SLA is when the alert escalates: the page says so in red.
    classes = ["escalated" if lead.overdue >= 2 else "overdue" for lead in stuck]
    header = ["Name", "Email", "Company", "Stage", "Owner", "Source", "In stage", "SLA", "Over"]
    return _table(header, rows, text_columns=6, row_classes=classes, table_id="stuck")


def _notes(report: Report) -> list[str]:
    notes = []
    if report.unknown_stages:
        notes.append(
            "The journal names stages no longer in stages.yaml; they are left out: "
            + ", ".join(report.unknown_stages)
        )
    if report.ignored_entries:
        notes.append(f"{report.ignored_entries} journal entries of folded leads are left out.")
    return [f'<p class="note">{_e(note)}</p>' for note in notes]


def _card(value: object, label: str) -> str:
    return f'<div class="card"><b>{_e(value)}</b><span>{_e(label)}</span></div>'


def _shaded(count: int, total: int) -> str:
    """A count on a background as dark as its share of the row's leads: a heat map."""
    alpha = 0.0 if not total else 0.08 + 0.55 * count / total
    return f'<td style="background: rgba(13, 110, 253, {alpha:.2f})">{count}</td>'


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    raw_header: bool = False,
    text_columns: int = 1,
    row_classes: Sequence[str] = (),
    table_id: str | None = None,
) -> str:
    """The first `text_columns` are words (left-aligned), the rest numbers.

    `raw_header`: the header is markup already escaped (arrows between escaped labels).
    """
    head = "".join(
        ('<th class="text">' if n < text_columns else "<th>")
        + (h if raw_header else _e(h))
        + "</th>"
        for n, h in enumerate(header)
    )
    body = "".join(
        (f'<tr class="{row_classes[r]}">' if r < len(row_classes) else "<tr>")
        + "".join(
            f'<td class="text">{_e(cell)}</td>' if n < text_columns else f"<td>{_e(cell)}</td>"
            for n, cell in enumerate(row)
        )
        + "</tr>"
        for r, row in enumerate(rows)
    )
    opening = "<table>" if table_id is None else f'<table id="{table_id}">'
    return f"{opening}<tr>{head}</tr>{body}</table>"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
