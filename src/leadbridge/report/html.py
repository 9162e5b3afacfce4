"""The funnel report as one self-contained HTML page: inline CSS and SVG, no scripts, no fonts.

A weekly meeting looks at it on a screen or on paper, so it must open from
an email attachment or a file share with nothing to fetch, and print well.
Every value that came from data (lead names come from the CRMs, reasons and
sources from reps' picklists) goes through `_e`, never into markup raw.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from leadbridge.report.build import NO_OWNER, Breakdown, Report, StuckLead
from leadbridge.report.format import (
    duration,
    moving_pairs,
    owner_rows,
    period,
    reached_stages,
    share,
    time_rows,
    week,
)
from leadbridge.report.svg import funnel_svg, handbacks_svg, trend_svg

TREND_WEEKS = 26  # half a year on one chart; the JSON has every week

_CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
       sans-serif; color: var(--ink); margin: 0 auto; padding: 28px 32px; max-width: 1100px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 30px 0 10px; border-bottom: 1px solid var(--line);
     padding-bottom: 4px; }
h3 { font-size: 15px; margin: 14px 0 4px; }
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
        _card(overall.won, f"won ({report.stage_label(report.won_stage)})"),
        _card(
            share(overall.won, overall.leads).split(" ")[0],
            f"win rate ({overall.won} of {overall.leads})",
        ),
        _card(len(report.stuck), "stuck past SLA now"),
        "</div>",
        "<section><h2>Funnel</h2>",
        '<p class="note">Leads that reached each stage, and how many went on to the next.</p>',
        funnel_svg(report, reached_stages(report, [overall])),
        "</section>",
        *_trend(report),
        *_cohorts(report),
        "<section><h2>Hand-backs by reason</h2>",
        handbacks_svg(report),
        _handbacks_by_source(report),
        "</section>",
        "<section><h2>Time in stage</h2>",
        '<p class="note">Completed stays that ended in the period; leads still in a stage count '
        "under <i>now</i>, and under <i>stuck</i> once past its SLA.</p>",
        _times_table(report),
        "</section>",
        *_source_sections(report),
        *_owner_section(report),
        *_scoring_sections(report),
        f"<section><h2>Stuck now, by owner ({len(report.stuck)})</h2>",
        _stuck_table(report),
        "</section>",
        *_notes(report),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _trend(report: Report) -> list[str]:
    stages = [s for s in report.trend_stages if any(w.arrivals[s] for w in report.trend)]
    shown = min(len(report.trend), TREND_WEEKS)
    return [
        "<section><h2>New per week</h2>",
        f'<p class="note">Leads that reached each stage, per week (from Monday, UTC); the last '
        f"{shown} of {len(report.trend)} weeks.</p>",
        trend_svg(report, stages or list(report.trend_stages), TREND_WEEKS),
        "</section>",
    ]


def _cohorts(report: Report) -> list[str]:
    handoff = report.stage_label(report.cohort_stage)
    head = [
        "<section><h2>Cohorts</h2>",
        f'<p class="note">Of the leads that became {_e(handoff)} in a week, how many reached '
        "each later stage by now.</p>",
    ]
    if not report.cohorts:
        return [
            *head,
            f'<p class="note">Nobody became {_e(handoff)} in this period.</p>',
            "</section>",
        ]
    later = [s for s in report.cohorts[0].reached if any(c.reached[s] for c in report.cohorts)]
    rows = [
        [week(c.start), c.leads, *(share(c.reached[s], c.leads) for s in later)]
        for c in report.cohorts
    ]
    header = ["Week", handoff, *(report.stage_label(s) for s in later)]
    return [*head, _table(header, rows, table_id="cohorts"), "</section>"]


def _handbacks_by_source(report: Report) -> str:
    backs = report.overall.handbacks
    sources = [name for name, part in report.by_source.items() if part.handbacks]
    if not backs:
        return ""
    counts = {
        (name, h.stage, h.reason): h.count
        for name, part in report.by_source.items()
        for h in part.handbacks
    }
    rows = [
        [
            report.value_label(h.reason),
            report.stage_label(h.stage),
            h.count,
            *(counts.get((s, h.stage, h.reason), 0) or "" for s in sources),
        ]
        for h in backs
    ]
    header = ["Reason", "Stage", "All", *(report.value_label(s) for s in sources)]
    return "<h3>By the source of the leads handed back</h3>" + _table(
        header, rows, text_columns=2, table_id="handbacks-by-source"
    )


def _times_table(report: Report) -> str:
    rows = time_rows(report)
    return _table(["Stage", "Stays", "Median", "90th pct", "Now", "Stuck", "SLA"], rows)


def _source_sections(report: Report) -> list[str]:
    parts = report.by_source
    stages = reached_stages(report, parts.values())
    loop = [
        "<tr>"
        + f'<td class="text">{_e(report.value_label(name))}</td><td>{part.leads}</td>'
        + "".join(_shaded(part.reached[s], part.leads) for s in stages)
        + f"<td>{part.won}</td><td>{_e(share(part.won, part.leads))}</td></tr>"
        for name, part in parts.items()
    ]
    head = "".join(f"<th>{_e(report.stage_label(s))}</th>" for s in stages)
    timed = [t.stage for t in report.overall.times if t.stays]
    medians = _table(
        ["Source", *(report.stage_label(s) for s in timed)],
        [
            [
                report.value_label(name),
                *(duration(t.median) for t in part.times if t.stage in timed),
            ]
            for name, part in parts.items()
        ],
    )
    return [
        "<section><h2>By source: from source to revenue</h2>",
        '<p class="note">Leads of each source that reached each stage; shading is the share of '
        "the source's leads.</p>",
        f'<table id="sources"><tr><th>Source</th><th>Leads</th>{head}<th>Won</th>'
        f"<th>Win rate</th></tr>{''.join(loop)}</table>",
        "</section>",
        "<section><h2>By source: conversion from the stage before</h2>",
        _conversions(report, parts, moving_pairs(report, parts.values()), "Source", "conversions"),
        "</section>",
        "<section><h2>By source: median time in stage</h2>",
        medians,
        "</section>",
    ]


def _owner_section(report: Report) -> list[str]:
    pairs, rows = owner_rows(report)
    header = ["Owner", "Leads", *_pair_names(report, pairs), "Won", "Stuck now"]
    return [
        "<section><h2>By owner</h2>",
        '<p class="note">Conversion from the stage before, from the handoff on, and the '
        "owner's leads past their SLA now.</p>",
        _table(header, rows, table_id="owners"),
        "</section>",
    ]


def _conversions(
    report: Report, parts: Mapping[str, Breakdown], pairs: Sequence[int], column: str, table_id: str
) -> str:
    rows = [
        [
            report.value_label(name),
            *(share(part.conversions[n].converted, part.conversions[n].reached) for n in pairs),
        ]
        for name, part in parts.items()
    ]
    return _table([column, *_pair_names(report, pairs)], rows, table_id=table_id)


def _pair_names(report: Report, pairs: Sequence[int]) -> list[str]:
    return [f"to {report.stage_label(report.stages[n + 1])}" for n in pairs]


def _scoring_sections(report: Report) -> list[str]:
    found = ["<section><h2>By score band and grade</h2>"]
    if not report.by_score_band and not report.by_grade:
        found.append('<p class="note">No lead has a score or a grade yet: nothing to compare.</p>')
    for what, parts, table_id in (
        ("Score band", report.by_score_band, "score-bands"),
        ("Grade", report.by_grade, "grades"),
    ):
        if not parts:
            continue
        stages = list(report.trend_stages)
        rows = [
            [name, part.leads, *(share(part.reached[s], part.leads) for s in stages)]
            for name, part in parts.items()
        ]
        header = [what, "Leads", *(report.stage_label(s) for s in stages)]
        found.append(f"<h3>{what} (the lead's now): how many of its leads reached each stage</h3>")
        found.append(_table(header, rows, table_id=table_id))
    return [*found, "</section>"]


def _stuck_table(report: Report) -> str:
    if not report.stuck:
        return '<p class="note">Nobody is past their stage\'s SLA.</p>'
    ordered = _by_owner(report.stuck)
    rows = [
        [
            lead.owner or NO_OWNER,
            lead.name,
            lead.email or "",
            lead.company or "",
            report.stage_label(lead.stage),
            report.value_label(lead.source),
            duration(lead.waited),
            duration(lead.sla),
            f"{lead.overdue:.1f}\N{MULTIPLICATION SIGN}",
        ]
        for lead in ordered
    ]
    # Past twice the SLA is when the alert escalates: the page says so in red.
    classes = ["escalated" if lead.overdue >= 2 else "overdue" for lead in ordered]
    header = ["Owner", "Name", "Email", "Company", "Stage", "Source", "In stage", "SLA", "Over"]
    return _table(header, rows, text_columns=6, row_classes=classes, table_id="stuck")


def _by_owner(stuck: Sequence[StuckLead]) -> list[StuckLead]:
    """The owner with the most stuck leads first ("no owner" last), oldest first within."""
    counts: dict[str | None, int] = {}
    for lead in stuck:
        counts[lead.owner] = counts.get(lead.owner, 0) + 1
    return sorted(
        stuck,
        key=lambda lead: (
            lead.owner is None,
            -counts[lead.owner],
            lead.owner or "",
            lead.entered_at,
        ),
    )


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
    text_columns: int = 1,
    row_classes: Sequence[str] = (),
    table_id: str | None = None,
) -> str:
    """The first `text_columns` are words (left-aligned), the rest numbers."""
    head = "".join(
        ('<th class="text">' if n < text_columns else "<th>") + _e(h) + "</th>"
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
