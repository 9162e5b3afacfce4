"""The funnel report as plain text (for a terminal or an email) and as JSON (for a program).

JSON durations are seconds and times ISO 8601, so a spreadsheet or a script
can use them without parsing "3d 4h"; the text rounds for people.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from leadbridge.report.build import Breakdown, Report, StuckLead


def duration(span: timedelta | None) -> str:
    """A duration the way people say it: "45s", "12m", "5h 30m", "3d 4h" (rounded down)."""
    if span is None:
        return "-"
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{seconds}s"


def percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.1f}%"


def period(report: Report) -> str:
    end = f"{report.now:%Y-%m-%d %H:%M} UTC"
    if report.since is None:
        return f"all time to {end}"
    return f"{report.since:%Y-%m-%d %H:%M} UTC to {end}"


def stage_label(name: str) -> str:
    """Stage names as RevOps says them: "mql" -> "MQL", "repeat_customer" -> "Repeat customer"."""
    if name in {"mql", "sql"}:
        return name.upper()
    return name.replace("_", " ").capitalize()


# --- text ---------------------------------------------------------------------------


def to_text(report: Report) -> str:
    overall = report.overall
    lines = [
        f"Funnel report, {period(report)}",
        f"{overall.leads} leads counted; {overall.won} won ({report.won_stage}), "
        f"win rate {percent(overall.win_rate)}",
        "",
        "Funnel: leads that reached each stage, and how many of them went on to the next",
        *_table(
            ["stage", "leads", "to next", "conversion"],
            [[s, overall.reached[s], *_next(overall, n)] for n, s in enumerate(report.stages)],
        ),
        "",
        "Time in stage: completed stays (median, 90th percentile); leads there now, past SLA",
        *_table(
            ["stage", "stays", "median", "p90", "now", "stuck", "sla"],
            [
                [
                    t.stage,
                    t.stays,
                    duration(t.median),
                    duration(t.p90),
                    t.now,
                    t.stuck,
                    duration(t.sla),
                ]
                for t in overall.times
            ],
        ),
        "",
        "Hand-backs by reason",
        *(
            _table(
                ["stage", "reason", "leads"],
                [[h.stage, h.reason, h.count] for h in overall.handbacks],
                text_columns=2,
            )
            if overall.handbacks
            else ["  none"]
        ),
        "",
        *_sources(report),
        "",
        f"Stuck now (past the stage's SLA), oldest first: {len(report.stuck)}",
        *([_stuck_line(lead) for lead in report.stuck] or ["  nobody"]),
    ]
    lines.extend(_notes(report))
    return "\n".join(lines) + "\n"


def _next(part: Breakdown, number: int) -> list[Any]:
    if number >= len(part.conversions):
        return ["", ""]
    step = part.conversions[number]
    return [step.converted, percent(step.ratio)]


def _sources(report: Report) -> list[str]:
    stages = list(report.stages)
    rows = list(report.by_source.items())
    conversions = [f"{a}>{b}" for a, b in itertools.pairwise(stages)]
    timed = [t.stage for t in report.overall.times if t.stays]
    return [
        "By source: leads that reached each stage (closed loop from source to revenue)",
        *_table(
            ["source", "leads", *stages, "won", "win rate"],
            [
                [
                    name,
                    part.leads,
                    *(part.reached[s] for s in stages),
                    part.won,
                    percent(part.win_rate),
                ]
                for name, part in rows
            ],
        ),
        "",
        "By source: conversion to the next stage",
        *_table(
            ["source", *conversions],
            [[name, *(percent(c.ratio) for c in part.conversions)] for name, part in rows],
        ),
        "",
        "By source: median time in stage",
        *_table(
            ["source", *timed],
            [
                [name, *(duration(t.median) for t in part.times if t.stage in timed)]
                for name, part in rows
            ],
        ),
        "",
        "By source: hand-backs",
        *[
            _printable(
                f"  {name}: "
                + ", ".join(f"{h.reason} ({h.stage}) {h.count}" for h in part.handbacks)
            )
            for name, part in rows
            if part.handbacks
        ],
    ]


def _stuck_line(lead: StuckLead) -> str:
    who = lead.name + (f" <{lead.email}>" if lead.email and lead.email != lead.name else "")
    company = f" ({lead.company})" if lead.company else ""
    owner = f", owner {lead.owner}" if lead.owner else ""
    return _printable(
        f"  {who}{company}: {lead.stage} for {duration(lead.waited)}, SLA {duration(lead.sla)} "
        f"({lead.overdue:.1f}x){owner}, source {lead.source}"
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
    """Words left-aligned, numbers right-aligned, two spaces of indent."""
    cells = [[_printable(c) for c in header], *[[_printable(c) for c in row] for row in rows]]
    widths = [max(len(row[n]) for row in cells) for n in range(len(header))]
    return [
        "  "
        + "  ".join(
            cell.ljust(widths[n]) if n < text_columns else cell.rjust(widths[n])
            for n, cell in enumerate(row)
        ).rstrip()
        for row in cells
    ]


def _printable(value: object) -> str:
    """CRM data may hold control characters; printed raw, they could rewrite the terminal."""
    text = str(value)
    return text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)


# --- JSON ---------------------------------------------------------------------------


def to_json(report: Report) -> str:
    return json.dumps(_report_dict(report), indent=2) + "\n"


def _report_dict(report: Report) -> dict[str, Any]:
    return {
        "now": _iso(report.now),
        "since": None if report.since is None else _iso(report.since),
        "stages": list(report.stages),
        "won_stage": report.won_stage,
        "overall": _breakdown_dict(report.overall),
        "by_source": {name: _breakdown_dict(part) for name, part in report.by_source.items()},
        "stuck": [_stuck_dict(lead) for lead in report.stuck],
        "unknown_stages": list(report.unknown_stages),
        "ignored_entries": report.ignored_entries,
    }


def _breakdown_dict(part: Breakdown) -> dict[str, Any]:
    return {
        "leads": part.leads,
        "won": part.won,
        "win_rate": part.win_rate,
        "reached": dict(part.reached),
        "conversions": [
            {
                "from": c.from_stage,
                "to": c.to_stage,
                "reached": c.reached,
                "converted": c.converted,
                "ratio": c.ratio,
            }
            for c in part.conversions
        ],
        "time_in_stage": [
            {
                "stage": t.stage,
                "sla_seconds": _seconds(t.sla),
                "stays": t.stays,
                "median_seconds": _seconds(t.median),
                "p90_seconds": _seconds(t.p90),
                "now": t.now,
                "stuck": t.stuck,
            }
            for t in part.times
        ],
        "handbacks": [
            {"stage": h.stage, "reason": h.reason, "count": h.count} for h in part.handbacks
        ],
    }


def _stuck_dict(lead: StuckLead) -> dict[str, Any]:
    return {
        "lead_id": lead.lead_id,
        "name": lead.name,
        "email": lead.email,
        "company": lead.company,
        "owner": lead.owner,
        "source": lead.source,
        "stage": lead.stage,
        "entered_at": _iso(lead.entered_at),
        "waited_seconds": _seconds(lead.waited),
        "sla_seconds": _seconds(lead.sla),
        "overdue": round(lead.overdue, 3),
    }


def _seconds(span: timedelta | None) -> float | None:
    return None if span is None else span.total_seconds()


def _iso(moment: datetime) -> str:
    return moment.isoformat()
