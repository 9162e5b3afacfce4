"""How the report writes numbers for people, and the cells of the tables both renderers
draw: shared by the text and the HTML renderers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from leadbridge.report.build import NO_OWNER, Breakdown, Report


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


def share(part: int, whole: int) -> str:
    """A percentage with the counts it is made of: "60.0% (3/5)"; "-" of nobody."""
    return "-" if not whole else f"{part / whole * 100:.1f}% ({part}/{whole})"


def period(report: Report) -> str:
    end = f"{report.now:%Y-%m-%d %H:%M} UTC"
    if report.since is None:
        return f"all time to {end}"
    return f"{report.since:%Y-%m-%d %H:%M} UTC to {end}"


def week(start: datetime) -> str:
    return f"{start:%Y-%m-%d}"


def reached_stages(
    report: Report, parts: Iterable[Breakdown], stages: Sequence[str] = ()
) -> list[str]:
    """The stages (all forward ones, or `stages`) that some part reached: all-zero columns go.

    With nothing reached anywhere, every stage stays, so an empty report still shows the
    funnel's shape.
    """
    chosen = list(stages or report.stages)
    parts = list(parts)
    found = [s for s in chosen if any(part.reached.get(s, 0) for part in parts)]
    return found or chosen


def moving_pairs(report: Report, parts: Iterable[Breakdown], start: str | None = None) -> list[int]:
    """Indexes of the conversions (from `start` on) worth a column: some part had leads to
    convert, and someone reached the next stage (a stage nobody reached is an all-zero column)."""
    parts = list(parts)
    first = report.stages.index(start) if start in report.stages else 0
    return [
        n
        for n in range(first, len(report.stages) - 1)
        if any(part.conversions[n].reached for part in parts)
        and report.overall.reached[report.stages[n + 1]]
    ]


def time_rows(report: Report) -> list[list[object]]:
    """Time in stage, a row per stage that had a stay or holds leads now: label, stays,
    median, 90th percentile, now, stuck, SLA (both renderers draw these cells)."""
    return [
        [
            report.stage_label(t.stage),
            t.stays,
            duration(t.median),
            duration(t.p90),
            t.now,
            t.stuck,
            duration(t.sla),
        ]
        for t in report.overall.times
        if t.stays or t.now
    ]


def owner_rows(report: Report) -> tuple[list[int], list[list[object]]]:
    """By owner, from the handoff on: the stage pairs shown, and a row per owner with its
    leads, each pair's conversion, wins and leads past their SLA now."""
    parts = report.by_owner
    pairs = moving_pairs(report, parts.values(), report.cohort_stage)
    stuck = Counter(lead.owner or NO_OWNER for lead in report.stuck)
    rows: list[list[object]] = [
        [
            name,
            part.leads,
            *(share(part.conversions[n].converted, part.conversions[n].reached) for n in pairs),
            part.won,
            stuck[name],
        ]
        for name, part in parts.items()
    ]
    return pairs, rows
