"""The funnel report as JSON, for a program: every number, codes as the data holds them.

Durations are seconds and times ISO 8601, so a spreadsheet or a script can
use them without parsing "3d 4h"; `labels` gives the words the text and HTML
show for each code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from leadbridge.report.build import Breakdown, Report, StuckLead


def to_json(report: Report) -> str:
    return json.dumps(_report_dict(report), indent=2) + "\n"


def _report_dict(report: Report) -> dict[str, Any]:
    return {
        "now": _iso(report.now),
        "since": None if report.since is None else _iso(report.since),
        "stages": list(report.stages),
        "won_stage": report.won_stage,
        "overall": _breakdown_dict(report.overall),
        "by_source": _parts(report.by_source),
        "by_owner": _parts(report.by_owner),
        "by_score_band": _parts(report.by_score_band),
        "by_grade": _parts(report.by_grade),
        "trend": {
            "stages": list(report.trend_stages),
            "weeks": [{"week": _iso(w.start), "arrivals": dict(w.arrivals)} for w in report.trend],
        },
        "cohorts": {
            "stage": report.cohort_stage,
            "weeks": [
                {"week": _iso(c.start), "leads": c.leads, "reached": dict(c.reached)}
                for c in report.cohorts
            ],
        },
        "stuck": [_stuck_dict(lead) for lead in report.stuck],
        "unknown_stages": list(report.unknown_stages),
        "ignored_entries": report.ignored_entries,
        "labels": {"stages": dict(report.stage_labels), "values": dict(report.value_labels)},
    }


def _parts(parts: Mapping[str, Breakdown]) -> dict[str, Any]:
    return {name: _breakdown_dict(part) for name, part in parts.items()}


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
