"""`leadbridge report`: the funnel from the journal, as text, JSON or one HTML file.

Reads the state database only (never a CRM), so it can run beside the
daemon, on a replica, or on a copy of the database.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from leadbridge.alerts.elapsed import time_in_stage
from leadbridge.cli.options import Commands, database_option, directory, mappings_option
from leadbridge.config import ConfigError, Funnel, load_funnel
from leadbridge.model import Lead
from leadbridge.report.build import InStage, Report, compute
from leadbridge.report.data import to_json
from leadbridge.report.html import to_html
from leadbridge.report.text import to_text
from leadbridge.store import Store
from leadbridge.store.engine import MissingDatabase
from leadbridge.store.history import live_leads, stories_since

_RENDERERS: dict[str, Callable[[Report], str]] = {"text": to_text, "json": to_json, "html": to_html}


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    report = commands.add_parser(
        "report",
        help="the funnel: conversions, trend, cohorts, time in stage, hand-backs, who is stuck",
        description=(
            "Conversion ratios stage to stage, new MQLs, SQLs and wins per week, weekly MQL "
            "cohorts, median and 90th-percentile time in each stage, hand-backs by reason and "
            "source, conversion by source, owner, score band and grade, and the leads past "
            "their stage's SLA now, by owner; from the state database's journal."
        ),
    )
    report.add_argument(
        "--since",
        type=since_moment,
        metavar="DATE",
        help="only leads that moved at or after DATE (YYYY-MM-DD or ISO date-time; UTC if no "
        "zone is given); default: all time",
    )
    report.add_argument(
        "--as-of",
        type=since_moment,
        metavar="MOMENT",
        help="the report as it stood at MOMENT (same forms as --since): later moves are left "
        "out and stuck is measured at MOMENT; default: now. The demo prints its own time to "
        "use here, as its data lives in simulated time",
    )
    report.add_argument(
        "--format",
        choices=sorted(_RENDERERS),
        default="text",
        help="text for people (default), json for programs, html: one self-contained page",
    )
    database_option(report)
    mappings_option(report)
    report.add_argument("--output", type=Path, metavar="FILE", help="write here, not to stdout")
    report.set_defaults(run=run)


def since_moment(text: str) -> datetime:
    """A date means its midnight UTC; a date-time without a zone is UTC."""
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    clock = getattr(args, "clock", None) or (lambda: datetime.now(UTC))
    try:
        funnel = load_funnel(directory(args.mappings, "mappings"))
    except ConfigError as error:
        print(f"leadbridge report: {error}", file=sys.stderr)
        return 2
    now = args.as_of or clock()
    if args.since is not None and args.since > now:
        print(
            f"leadbridge report: --since {args.since:%Y-%m-%d %H:%M} is after the report's "
            f"moment {now:%Y-%m-%d %H:%M} UTC; give an earlier --since or a later --as-of",
            file=sys.stderr,
        )
        return 2
    try:
        report = _read(args.database, funnel, now, args.since)
    except (sa.exc.OperationalError, sa.exc.ArgumentError) as error:
        reason = getattr(error, "orig", None) or error
        print(f"leadbridge report: cannot read the state database: {reason}", file=sys.stderr)
        return 2
    if report is None:
        print(
            "leadbridge report: the state database has no schema yet; "
            "run `leadbridge db upgrade` (and a sync) first",
            file=sys.stderr,
        )
        return 2
    text = _RENDERERS[args.format](report)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"report written to {args.output}", file=sys.stderr)
    return 0


def _read(url: str | None, funnel: Funnel, now: datetime, since: datetime | None) -> Report | None:
    """The report, or None when the database is not there or was never upgraded (it has no
    journal to read)."""
    try:
        store = Store.open(url, existing=True)
    except MissingDatabase:
        return None  # not there at all: the same answer as a database never upgraded
    with store:
        if store.revision() is None:
            return None
        return build_report(store, funnel, now, since)


def build_report(
    store: Store,
    funnel: Funnel,
    now: datetime,
    since: datetime | None = None,
    in_stage: InStage | None = None,
) -> Report:
    """The report of the store's journal at `now` (the demo can call this too).

    `in_stage`: how time in stage counts against an SLA; by default as the Slack alerts
    count it (business hours where a stage's SLA has them), so both name the same leads.
    """
    if in_stage is None:
        in_stage = _as_alerts_count(funnel)
    with store.reading() as uow:
        entries = stories_since(uow.connection, since)
        leads = live_leads(uow.connection)
    return compute(entries, leads, funnel, now, since, in_stage=in_stage)


def _as_alerts_count(funnel: Funnel) -> InStage:
    def in_stage(lead: Lead, now: datetime) -> timedelta:
        return time_in_stage(lead.stage_entered_at, now, funnel.slas.get(lead.stage))

    return in_stage
