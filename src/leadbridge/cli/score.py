"""`leadbridge score EMAIL`: a lead's score and grade now, criterion by criterion.

Reads the state database and the mappings only (never a CRM). Fit criteria are tested on
the lead's fields as leadbridge last knew them; engagement is what the lead earned,
decayed to the moment asked about (now, or `--at`).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TextIO

from leadbridge.cli.options import Commands, database_option, directory, mappings_option
from leadbridge.cli.report import since_moment
from leadbridge.config import ConfigError, load_funnel
from leadbridge.config.conditions import render_duration
from leadbridge.config.scoring import FIT, SCORE, Scoring
from leadbridge.core.scoring import Breakdown, Line, breakdown
from leadbridge.model import Lead, Value
from leadbridge.store import Store, UnitOfWork


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    score = commands.add_parser(
        "score", help="a lead's score and grade now: each criterion, its points, and why"
    )
    score.add_argument("key", metavar="EMAIL_OR_ID", help="an email or a lead id")
    score.add_argument(
        "--at",
        type=since_moment,
        metavar="WHEN",
        help="decay engagement to this moment (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC) instead of now",
    )
    score.add_argument("--format", choices=("text", "json"), default="text")
    mappings_option(score)
    database_option(score)
    score.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        funnel = load_funnel(directory(args.mappings, "mappings"))
    except ConfigError as error:
        print(f"leadbridge score: {error}", file=sys.stderr)
        return 2
    if funnel.scoring is None:
        print(
            "leadbridge score: the mappings have no scoring.yaml; add one (the shipped "
            "mappings show it) to score leads",
            file=sys.stderr,
        )
        return 2
    with Store.open(args.database, existing=True) as store, store.reading() as uow:
        lead = _find(uow, args.key)
    if lead is None:
        print(f"no lead is known by {args.key}", file=sys.stdout)
        return 1
    clock = getattr(args, "clock", None) or (lambda: datetime.now(UTC))
    at = args.at or _not_before_last_scored(lead, clock())
    result = breakdown(lead.fields, funnel.scoring, at, lead.stage_entered_at)
    if args.format == "json":
        print(json.dumps(as_json(lead, result, at), indent=2))
    else:
        show(lead, result, funnel.scoring, at, sys.stdout)
    return 0


def _find(uow: UnitOfWork, key: str) -> Lead | None:
    if "@" in key:
        found = sorted({link.lead_id for link in uow.links.by_email(key)})
        key = found[0] if found else ""
    if not key or uow.leads.load(key) is None:
        return None
    return uow.leads.load(uow.leads.resolve(key))


def _not_before_last_scored(lead: Lead, now: datetime) -> datetime:
    """Now, or the lead's last scoring if the clock is behind it (a demo's simulated time
    runs ahead): engagement never grows by looking back in time."""
    stamp = lead.stamps.get(SCORE)
    return max(now, stamp.at) if stamp is not None else now


def show(lead: Lead, result: Breakdown, scoring: Scoring, at: datetime, out: TextIO) -> None:
    email = lead.fields.get("email") or lead.id
    print(
        f"{email} (lead {lead.id}, {lead.stage}): score {result.score}, grade {result.grade}"
        f" as of {at:%Y-%m-%d %H:%M} UTC",
        file=out,
    )
    thresholds = ", ".join(f"{name} from {least:g}" for name, least in scoring.grades)
    print(f"  fit {result.fit:g} ({thresholds}, else {scoring.lowest_grade})", file=out)
    fit = [line for line in result.lines if line.kind == FIT]
    for line in fit or ():
        print(f"    {_points(line.points):>9}  {line.criterion}{_why(line)}", file=out)
    if not fit:
        print("    no fit criterion met", file=out)
    half_life = render_duration(scoring.half_life)
    print(f"  engagement {result.engagement:.1f} (halves every {half_life})", file=out)
    engaged = [line for line in result.lines if line.kind != FIT]
    for line in engaged:
        points = f"{_points(line.earned)}→{_points(line.points)}"
        when = f", {line.at:%Y-%m-%d}" if line.at is not None else ""
        print(f"    {points:>9}  {line.criterion}{_why(line)}{when}", file=out)
    if not engaged:
        print("    nothing earned yet", file=out)
    written = lead.fields.get(SCORE)
    if written is not None and written != result.score:
        print(
            f"  last written to the systems: {written} (at the lead's last change; "
            "engagement has decayed since)",
            file=out,
        )


def as_json(lead: Lead, result: Breakdown, at: datetime) -> dict[str, object]:
    return {
        "lead": lead.id,
        "email": lead.fields.get("email"),
        "stage": lead.stage,
        "at": at.isoformat(),
        "score": result.score,
        "grade": result.grade,
        "fit": result.fit,
        "engagement": round(result.engagement, 2),
        "criteria": [
            {
                "criterion": line.criterion,
                "kind": line.kind,
                "points": round(line.points, 2),
                "earned": line.earned,
                "field": line.field,
                "value": _plain(line.value),
                "at": line.at.isoformat() if line.at is not None else None,
            }
            for line in result.lines
        ],
    }


def _why(line: Line) -> str:
    if line.field is None:
        return ""
    return f"  ({line.field}: {_plain(line.value)})"


def _points(points: float) -> str:
    number = round(points, 1)
    return f"{number:g}" if number < 0 else f"+{number:g}"


def _plain(value: Value) -> str | int | float | bool | None:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return value.isoformat()
