"""`leadbridge explain`: a lead's story in plain words: where it stands and what comes next,
links to its records, and one line per move (what changed, where, why) with what it wrote.

Reads the state database and the files only (mappings for labels and rules, slack.yaml's
`links` for where records open): never a CRM.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadbridge.alerts.blocks import Links
from leadbridge.cli import explain_render, explain_story
from leadbridge.cli.options import (
    Commands,
    connectors_option,
    database_option,
    directory,
    mappings_option,
)
from leadbridge.config import ConfigError, Funnel, load_funnel
from leadbridge.model import System
from leadbridge.store import Store, UnitOfWork

_UTC = "UTC"


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    explain_ = commands.add_parser(
        "explain",
        help="a lead's story: each move, what changed and where, what was written",
        description=(
            "Where the lead stands and what comes next, links to its records, and one line "
            "per move: what changed, in which system, the reason, and what leadbridge wrote "
            "for it. Reads the state database and the files only."
        ),
    )
    explain_.add_argument("key", metavar="EMAIL_OR_ID", help="an email, lead id or record id")
    explain_.add_argument(
        "--tz",
        type=_zone_argument,
        metavar="ZONE",
        help="show times in this time zone (an IANA name such as Europe/Berlin); "
        "default $TZ, else UTC",
    )
    explain_.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default), json for programs",
    )
    database_option(explain_)
    mappings_option(explain_)
    connectors_option(explain_)
    explain_.set_defaults(run=run)


def _zone_argument(text: str) -> ZoneInfo:
    zone = _zone(text)
    if zone is None:
        raise argparse.ArgumentTypeError(
            f"unknown time zone {text!r}, expected an IANA name such as Europe/Berlin or UTC"
        )
    return zone


def _zone(text: str) -> ZoneInfo | None:
    # POSIX lets TZ start with ":" to mean "a file name": the IANA name follows.
    name = text.strip().removeprefix(":")
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def time_zone(
    given: ZoneInfo | None, env: Mapping[str, str]
) -> tuple[tuple[ZoneInfo, str], str | None]:
    """The zone times are shown in and where it came from (--tz, $TZ, else UTC), and a note
    when $TZ names no zone this machine knows."""
    if given is not None:
        return (given, "--tz"), None
    from_env = env.get("TZ", "")
    if from_env.strip():
        zone = _zone(from_env)
        if zone is not None:
            return (zone, "$TZ"), None
        note = f"$TZ={from_env!r} is not a time zone this machine knows; times are in UTC"
        return (ZoneInfo(_UTC), "default"), note
    return (ZoneInfo(_UTC), "default"), None


def run(args: argparse.Namespace) -> int:
    zone, zone_note = time_zone(args.tz, os.environ)
    funnel, notes = _funnel(directory(args.mappings, "mappings"))
    links, link_note = _links(directory(args.connectors, "connectors"), os.environ)
    notes += [note for note in (zone_note, link_note) if note]
    with Store.open(args.database, existing=True) as store:
        found = _story(store, args.key, funnel, links, zone, notes)
    if found is None:
        print(f"no lead is known by {args.key}", file=sys.stdout)
        return 1
    render = explain_render.to_json if args.format == "json" else explain_render.to_text
    sys.stdout.write(render(found))
    return 0


def _funnel(mappings: Path) -> tuple[Funnel | None, list[str]]:
    """The mappings for labels and rules; without them the story is told in codes."""
    try:
        return load_funnel(mappings), []
    except ConfigError as error:
        first = error.problems[0] if error.problems else error
        return None, [f"stages, reasons and rules show as codes: {mappings} did not load ({first})"]


def _links(connectors: Path, env: Mapping[str, str]) -> tuple[Links | None, str | None]:
    """Where records open, from slack.yaml's `links` (the alerts' links): None without it."""
    from leadbridge.alerts.settings import load_slack_settings

    path = connectors / "slack.yaml"
    if not path.is_file():
        return None, None
    try:
        found = load_slack_settings(path, env).links
    except ConfigError as error:
        first = error.problems[0] if error.problems else error
        return None, f"records without links: {path} did not load ({first})"
    return (
        Links(
            hubspot_portal=found.hubspot_portal_id,
            salesforce_url=found.salesforce_url,
            hubspot_app_url=found.hubspot_app_url or "https://app.hubspot.com",
        ),
        None,
    )


def _story(
    store: Store,
    key: str,
    funnel: Funnel | None,
    links: Links | None,
    zone: tuple[ZoneInfo, str],
    notes: list[str],
) -> explain_story.Story | None:
    with store.reading() as uow:
        lead_id = _find_lead(uow, key)
        lead = uow.leads.load(lead_id) if lead_id is not None else None
        if lead is None:
            return None
        entries = uow.journal.entries(lead.id)
    return explain_story.build(lead, entries, funnel, links, zone, notes)


# Where a bare record id may live, so `explain 00Q...` finds its lead without saying which.
_RECORD_KINDS = (
    (System.HUBSPOT, "contact"),
    (System.SALESFORCE, "Lead"),
    (System.SALESFORCE, "Contact"),
    (System.SALESFORCE, "Opportunity"),
)


def _find_lead(uow: UnitOfWork, key: str) -> str | None:
    """The lead an email, a lead id or a record id of either system names."""
    if "@" in key:
        found = {link.lead_id for link in uow.links.by_email(key)}
        return uow.leads.resolve(sorted(found)[0]) if found else None
    if uow.leads.load(key) is not None:
        return uow.leads.resolve(key)
    for system, obj in _RECORD_KINDS:
        leads = uow.links.leads_for(system, obj, key)
        if leads:
            return uow.leads.resolve(leads[0])
    return None
