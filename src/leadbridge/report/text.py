"""The funnel report as plain text, for a terminal or an email: readable in 100 columns.

Codes are shown in words (report.labels), every percentage with the counts it
is made of, and stages or columns where every number is zero are left out.
A table wider than 100 columns continues below itself, its first column
repeated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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

WIDTH = 100
TREND_WEEKS = 12  # the text shows the last quarter; JSON and HTML carry more


def to_text(report: Report) -> str:
    overall = report.overall
    lines = [
        f"Funnel report, {period(report)}",
        f"{overall.leads} leads counted; {overall.won} won "
        f"({report.stage_label(report.won_stage)}), win rate {share(overall.won, overall.leads)}",
        "",
        "Funnel: leads that reached each stage, and how many of them went on to the next",
        *_funnel(report),
        "",
        *_trend(report),
        "",
        *_cohorts(report),
        "",
        "Time in stage: completed stays (median, 90th percentile); leads there now, past SLA",
        *_times(report),
        "",
        *_handbacks(report),
        "",
        *_sources(report),
        "",
        *_owners(report),
        "",
        *_scoring(report),
        "",
        *_stuck(report),
    ]
    lines.extend(_notes(report))
    return "\n".join(lines) + "\n"


def _funnel(report: Report) -> list[str]:
    part = report.overall
    shown = reached_stages(report, [part])
    rows = []
    for stage in shown:
        n = report.stages.index(stage)
        step = part.conversions[n] if n < len(part.conversions) else None
        went = [] if step is None else [step.converted, share(step.converted, step.reached)]
        rows.append([report.stage_label(stage), part.reached[stage], *went])
    return _table(["stage", "leads", "went on", "conversion"], rows)


def _trend(report: Report) -> list[str]:
    title = "New per week (weeks from Monday, UTC): leads that reached each stage that week"
    weeks = report.trend[-TREND_WEEKS:]
    if not weeks:
        return [title, "  no moves in this period"]
    stages = [s for s in report.trend_stages if any(w.arrivals[s] for w in report.trend)]
    stages = stages or list(report.trend_stages)
    more = len(report.trend) - len(weeks)
    return [
        title + (f" (the last {len(weeks)} of {len(report.trend)})" if more else ""),
        *_table(
            ["week", *(report.stage_label(s) for s in stages)],
            [[week(w.start), *(w.arrivals[s] for s in stages)] for w in weeks],
        ),
    ]


def _cohorts(report: Report) -> list[str]:
    handoff = report.stage_label(report.cohort_stage)
    title = (
        f"Cohorts: of the leads that became {handoff} in a week, how many reached each later stage"
    )
    if not report.cohorts:
        return [title, f"  nobody became {handoff} in this period"]
    later = [s for s in report.cohorts[0].reached if any(c.reached[s] for c in report.cohorts)]
    return [
        title,
        *_table(
            ["week", handoff, *(report.stage_label(s) for s in later)],
            [
                [week(c.start), c.leads, *(share(c.reached[s], c.leads) for s in later)]
                for c in report.cohorts
            ],
        ),
    ]


def _times(report: Report) -> list[str]:
    rows = time_rows(report)
    if not rows:
        return ["  no lead in any stage"]
    return _table(["stage", "stays", "median", "p90", "now", "stuck", "sla"], rows)


def _handbacks(report: Report) -> list[str]:
    backs = report.overall.handbacks
    if not backs:
        return ["Hand-backs by reason", "  none"]
    sources = [name for name, part in report.by_source.items() if part.handbacks]
    counts = {
        (name, h.stage, h.reason): h.count
        for name, part in report.by_source.items()
        for h in part.handbacks
    }
    return [
        "Hand-backs by reason, and by the source of the leads handed back",
        *_table(
            ["stage", "reason", "leads", *(report.value_label(s) for s in sources)],
            [
                [
                    report.stage_label(h.stage),
                    report.value_label(h.reason),
                    h.count,
                    *(counts.get((s, h.stage, h.reason), 0) or "" for s in sources),
                ]
                for h in backs
            ],
            text_columns=2,
        ),
    ]


def _sources(report: Report) -> list[str]:
    parts = report.by_source
    stages = reached_stages(report, parts.values())
    pairs = moving_pairs(report, parts.values())
    timed = [t.stage for t in report.overall.times if t.stays]
    return [
        "By source: leads that reached each stage (closed loop from source to revenue)",
        *_table(
            ["source", "leads", *(report.stage_label(s) for s in stages), "won", "win rate"],
            [
                [
                    report.value_label(name),
                    part.leads,
                    *(part.reached[s] for s in stages),
                    part.won,
                    share(part.won, part.leads),
                ]
                for name, part in parts.items()
            ],
        ),
        "",
        "By source: conversion from the stage before",
        *_conversions(report, parts, pairs, "source"),
        "",
        "By source: median time in stage",
        *_table(
            ["source", *(report.stage_label(s) for s in timed)],
            [
                [
                    report.value_label(name),
                    *(duration(t.median) for t in part.times if t.stage in timed),
                ]
                for name, part in parts.items()
            ],
        ),
    ]


def _owners(report: Report) -> list[str]:
    pairs, rows = owner_rows(report)
    header = ["owner", "leads", *_pair_names(report, pairs), "won", "stuck now"]
    return [
        "By owner: conversion from the stage before, and leads past their SLA now",
        *_table(header, rows),
    ]


def _conversions(
    report: Report, parts: Mapping[str, Breakdown], pairs: Sequence[int], column: str
) -> list[str]:
    return _table(
        [column, *_pair_names(report, pairs)],
        [
            [
                report.value_label(name),
                *(share(part.conversions[n].converted, part.conversions[n].reached) for n in pairs),
            ]
            for name, part in parts.items()
        ],
    )


def _pair_names(report: Report, pairs: Sequence[int]) -> list[str]:
    # The funnel is one line: "to SQL" is the conversion from the stage before it.
    return [f"to {report.stage_label(report.stages[n + 1])}" for n in pairs]


def _scoring(report: Report) -> list[str]:
    if not report.by_score_band and not report.by_grade:
        return ["By score band and grade: no lead has a score or a grade yet, nothing to compare"]
    return [
        *_scored(report, report.by_score_band, "score band", "score"),
        "",
        *_scored(report, report.by_grade, "grade", "grade"),
    ]


def _scored(report: Report, parts: Mapping[str, Breakdown], what: str, field: str) -> list[str]:
    if not parts:
        return [f"By {what}: no lead has a {field} yet, so there is nothing to compare"]
    stages = list(report.trend_stages)
    return [
        f"By {what} (the lead's {field} now): how many of its leads reached each stage",
        *_table(
            [what, "leads", *(report.stage_label(s) for s in stages)],
            [
                [name, part.leads, *(share(part.reached[s], part.leads) for s in stages)]
                for name, part in parts.items()
            ],
        ),
    ]


def _stuck(report: Report) -> list[str]:
    title = f"Stuck now (past the stage's SLA), by owner, oldest first: {len(report.stuck)}"
    if not report.stuck:
        return [title, "  nobody"]
    owners: dict[str, list[StuckLead]] = {}
    for lead in report.stuck:
        owners.setdefault(lead.owner or NO_OWNER, []).append(lead)
    lines = [title]
    for owner, leads in sorted(
        owners.items(), key=lambda kv: (kv[0] == NO_OWNER, -len(kv[1]), kv[0])
    ):
        lines.append(_printable(f"  {owner}: {len(leads)}"))
        lines.extend(_stuck_line(report, lead) for lead in leads)
    return lines


def _stuck_line(report: Report, lead: StuckLead) -> str:
    who = lead.name + (f" <{lead.email}>" if lead.email and lead.email != lead.name else "")
    company = f" ({lead.company})" if lead.company else ""
    return _printable(
        f"    {who}{company}: {report.stage_label(lead.stage)} for {duration(lead.waited)}, "
        f"SLA {duration(lead.sla)} ({lead.overdue:.1f}x), source {report.value_label(lead.source)}"
    )


def _notes(report: Report) -> list[str]:
    notes = []
    if report.unknown_stages:
        notes.append(
            "note: the journal names stages no longer in stages.yaml, left out: "
            + ", ".join(report.unknown_stages)
        )
    if report.ignored_entries:
        notes.append(
            f"note: {report.ignored_entries} journal entries of leads folded into others, left out"
        )
    return ["", *notes] if notes else []


def _table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], text_columns: int = 1
) -> list[str]:
    """Words left-aligned, numbers right-aligned, two spaces of indent; wider than WIDTH, the
    other columns continue in a block below, the text columns repeated."""
    cells = [[_printable(c) for c in header], *[[_printable(c) for c in row] for row in rows]]
    widths = [max(len(row[n]) for row in cells) for n in range(len(header))]
    lines: list[str] = []
    for block in _blocks(widths, text_columns):
        if lines:
            lines.append("")
        columns = [*range(min(text_columns, len(header))), *block]
        lines.extend(
            "  "
            + "  ".join(
                row[n].ljust(widths[n]) if n < text_columns else row[n].rjust(widths[n])
                for n in columns
            ).rstrip()
            for row in cells
        )
    return lines


def _blocks(widths: Sequence[int], text_columns: int) -> list[list[int]]:
    fixed = 2 + sum(w + 2 for w in widths[:text_columns])
    blocks: list[list[int]] = [[]]
    used = fixed
    for n in range(text_columns, len(widths)):
        if blocks[-1] and used + widths[n] + 2 > WIDTH + 2:
            blocks.append([])
            used = fixed
        blocks[-1].append(n)
        used += widths[n] + 2
    return blocks


def _printable(value: object) -> str:
    """CRM data may hold control characters; printed raw, they could rewrite the terminal."""
    text = str(value)
    return text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)
