"""`leadbridge check`: every problem in the mappings and the connection files at once, or a
summary of the funnel (stages, field mappings, rules). Warnings (a rule that can never
fire) are printed either way and do not change the exit code.

It reads files, the environment and (when there is one) the state database: no CRM is
called (that is `leadbridge doctor`). The connection files' ${VARS} are expanded from the
environment, so an unset secret is a problem here, as it would be at start-up. Directories
come as the other commands take them: the flag, else $LEADBRIDGE_MAPPINGS /
$LEADBRIDGE_CONNECTORS, else ./mappings and ./connectors, else the packaged ones.

With the state database (--database, else $LEADBRIDGE_DATABASE_URL, else
state/leadbridge.db where it exists) a funnel that would strand leads in a stage it no
longer has is a problem too; `--impact` shows what deploying the mappings would do to the
leads it knows (cli.impact), writing nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa

from leadbridge.cli.impact import OldDatabase, stranded_problem, write_impact
from leadbridge.cli.options import (
    ENV_DATABASE,
    Commands,
    connectors_option,
    directory,
    mappings_option,
)
from leadbridge.config import ConfigError, Funnel, Problem, Rule, load_funnel
from leadbridge.config.conditions import render, render_duration
from leadbridge.config.funnel import FieldMap
from leadbridge.model import Stage
from leadbridge.store import Store

_OK, _INVALID = 0, 2
_DEFAULT_DATABASE = "sqlite:///state/leadbridge.db"


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check",
        help="check the mappings: print every problem (exit 2), or a summary of the funnel",
    )
    mappings_option(check)
    connectors_option(check)
    check.add_argument(
        "--database",
        metavar="URL",
        help=f"the state database to check the funnel against (default ${ENV_DATABASE}, "
        f"else {_DEFAULT_DATABASE} where it exists)",
    )
    check.add_argument(
        "--impact",
        action="store_true",
        help="show what deploying these mappings would do to the leads the state database "
        "knows (moves, with examples, and the writes they would cause); writes nothing",
    )
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_check(
        directory(args.mappings, "mappings"),
        sys.stdout,
        connectors=directory(args.connectors, "connectors"),
        env=os.environ,
        database=_database(args.database, impact=args.impact),
        impact=args.impact,
    )


def _database(given: str | None, *, impact: bool) -> str | None:
    """The state database to check against: the flag, the variable, else the default file
    where it exists (--impact asks for it there even when it does not: the error says so)."""
    found = given or os.environ.get(ENV_DATABASE)
    if found:
        return found
    if impact or Path(_DEFAULT_DATABASE.removeprefix("sqlite:///")).is_file():
        return _DEFAULT_DATABASE
    return None


def run_check(
    mappings_dir: Path,
    out: TextIO,
    *,
    connectors: Path | None = None,
    env: Mapping[str, str] | None = None,
    database: str | None = None,
    impact: bool = False,
) -> int:
    """Print each problem as `path:line:col: field: message` and return 2, or the summary and 0.
    Warnings (`path:line:col: warning: rule "x": message`) come first and never fail the check.
    With `connectors`, its hubspot.yaml, salesforce.yaml and (if there) slack.yaml too; with
    `database`, the leads it holds (stranded stages; with `impact`, what deploying does)."""
    problems: list[Problem] = []
    funnel = None
    try:
        funnel = load_funnel(mappings_dir)
    except ConfigError as exc:
        problems.extend(exc.problems)
    # The impact is the funnel's: the connection files are checked without --impact.
    if connectors is not None and not impact:
        problems.extend(_connection_problems(connectors, env or {}))
    if funnel is not None and database is not None and not impact:
        problems.extend(_stranded(funnel, mappings_dir, database))
    if problems:
        for problem in problems:
            out.write(f"{problem}\n")
        count = len(problems)
        where = f"{mappings_dir}/" + (f" and {connectors}/" if connectors is not None else "")
        out.write(f"{count} problem{'s' if count != 1 else ''} in {where}\n")
        return _INVALID
    assert funnel is not None
    for warning in funnel.warnings:
        out.write(f"{warning}\n")
    if impact:
        assert database is not None
        return _impact(funnel, database, out, connectors, env or {})
    out.write(_summary(funnel, mappings_dir))
    if connectors is not None:
        out.write(f"\n{connectors}/ is valid: the connection files load with this environment.\n")
    return _OK


def _connection_problems(connectors: Path, env: Mapping[str, str]) -> list[Problem]:
    from leadbridge.alerts.settings import load_slack_settings
    from leadbridge.connectors.hubspot.settings import load_hubspot_settings
    from leadbridge.connectors.salesforce.settings import load_salesforce_settings

    loaders: list[tuple[str, Callable[[Path, Mapping[str, str]], object]]] = [
        ("hubspot.yaml", load_hubspot_settings),
        ("salesforce.yaml", load_salesforce_settings),
    ]
    if (connectors / "slack.yaml").is_file():
        loaders.append(("slack.yaml", load_slack_settings))
    found: list[Problem] = []
    for name, load in loaders:
        try:
            load(connectors / name, env)
        except ConfigError as exc:
            found.extend(exc.problems)
    return found


def _stranded(funnel: Funnel, mappings_dir: Path, database: str) -> list[Problem]:
    """A problem at stages.yaml when leads in the database sit in a stage it dropped."""
    with Store.open(database, existing=True) as store:
        problem = stranded_problem(funnel, store)
    if problem is None:
        return []
    return [Problem(str(mappings_dir / "stages.yaml"), 1, 1, "stages", problem)]


def _impact(
    funnel: Funnel, database: str, out: TextIO, connectors: Path | None, env: Mapping[str, str]
) -> int:
    with Store.open(database, existing=True) as store:
        try:
            return write_impact(
                funnel,
                store,
                out,
                where=_shown_url(database),
                external_id_field=_external_id_field(connectors, env),
            )
        except OldDatabase as old:
            out.write(f"{old}\n")
            return _INVALID


def _external_id_field(connectors: Path | None, env: Mapping[str, str]) -> str | None:
    """The Lead field creates are upserted by, as the sync would use it (None: the default)."""
    from leadbridge.connectors.salesforce.settings import load_salesforce_settings

    if connectors is None:
        return None
    try:
        return load_salesforce_settings(connectors / "salesforce.yaml", env).external_id_field
    except ConfigError:
        return None  # already reported as a problem


def _shown_url(url: str) -> str:
    """The database as a person knows it: a SQLite file's path, a server's URL without its
    password."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    return sa.make_url(url).render_as_string(hide_password=True)


def _summary(funnel: Funnel, mappings_dir: Path) -> str:
    count = len(funnel.warnings)
    warned = f" ({count} warning{'s' if count != 1 else ''} above)" if count else ""
    lines = [
        f"{mappings_dir}/ is valid: {len(funnel.stages)} stages, {len(funnel.fields)} fields, "
        f"{len(funnel.rules)} rules{warned}.",
        "",
        "Stages, in funnel order",
    ]
    names = max(len(stage.name) for stage in funnel.stages)
    hubspot = {stage.name: _hubspot(stage) for stage in funnel.stages}
    shown = max(len(text) for text in hubspot.values())
    lines.append(
        f"   {'stage':<{names}}  {'owner':<9}  {'SLA':<4}  {'HubSpot':<{shown}}  Salesforce"
    )
    for stage in funnel.stages:
        sla = render_duration(stage.sla) if stage.sla else "-"
        lines.append(
            f"{stage.index + 1:>2} {stage.name:<{names}}  {stage.owner.value:<9}  {sla:<4}  "
            f"{hubspot[stage.name]:<{shown}}  {_salesforce(stage)}"
        )
    if funnel.hubspot_stage_property:
        lines.append(f"   HubSpot also shows the stage name in {funnel.hubspot_stage_property}.")
    lines += [
        f"   {stage.name} was {', '.join(stage.was)}." for stage in funnel.stages if stage.was
    ]
    lines += ["", *_fields(funnel)]
    lines += [
        "",
        "Rules: the first that applies and holds decides; HubSpot changes never move a lead",
        "out of a sales-owned stage except forward.",
    ]
    width = max(len(rule.name) for rule in funnel.rules)
    for rule in funnel.rules:
        lines.append(f"{rule.index + 1:>2} {rule.name:<{width}}  {_rule(rule, funnel)}")
    return "\n".join(lines) + "\n"


# How a direction moves values between the two systems, as an arrow between their columns.
_ARROWS = {
    "two_way": "<->",
    "prefer_salesforce_unless_blank": "<->",
    "prefer_hubspot_unless_blank": "<->",
    "always_hubspot": "-->",
    "always_salesforce": "<--",
    "none": " x ",
}


def _fields(funnel: Funnel) -> list[str]:
    """One line per field: HubSpot property <-> Salesforce object.field, who wins, transforms."""
    rows = [
        (fmap.name, fmap.hubspot or "-", _salesforce_fields(fmap), fmap, _field_extras(fmap))
        for fmap in funnel.fields.values()
    ]
    name_w = max(len(row[0]) for row in rows)
    hub_w = max(len(row[1]) for row in rows)
    sf_w = max(len(row[2]) for row in rows)
    lines = [
        "Fields: HubSpot property <-> Salesforce field, and who wins (--> HubSpot's value "
        "is written to Salesforce)",
        f"   {'field':<{name_w}}  {'HubSpot':<{hub_w}}       {'Salesforce':<{sf_w}}  direction",
    ]
    for name, hubspot, salesforce, fmap, extras in rows:
        both = fmap.hubspot is not None and bool(fmap.salesforce)
        arrow = _ARROWS[fmap.direction] if both else "   "
        tail = f"  [{'; '.join(extras)}]" if extras else ""
        lines.append(
            f"   {name:<{name_w}}  {hubspot:<{hub_w}}  {arrow}  {salesforce:<{sf_w}}  "
            f"{_direction(fmap)}{tail}"
        )
    return lines


def _salesforce_fields(fmap: FieldMap) -> str:
    return ", ".join(f"{obj}.{name}" for obj, name in fmap.salesforce.items()) or "-"


def _direction(fmap: FieldMap) -> str:
    if fmap.sales_owned is not None and fmap.sales_owned != fmap.direction:
        return f"{fmap.direction}, sales-owned: {fmap.sales_owned}"
    return fmap.direction


def _field_extras(fmap: FieldMap) -> list[str]:
    extras = [spec.describe() for spec in fmap.transforms]
    if fmap.values:
        extras.append(f"{len(fmap.values)} values")
    if fmap.placeholder is not None:
        extras.append(f"placeholder {fmap.placeholder}")
    return extras


def _hubspot(stage: Stage) -> str:
    if stage.hubspot_lifecycle is None and not stage.hubspot_lead_status:
        return "-"
    shown = stage.hubspot_lifecycle or "-"
    if stage.hubspot_lead_status:
        shown += " / " + "|".join(stage.hubspot_lead_status)
    shown += " (hand-back)" if stage.handback else ""
    return shown + ("" if stage.hubspot_create else " (not created)")


def _salesforce(stage: Stage) -> str:
    parts = []
    if stage.salesforce_status:
        parts.append("Lead " + "|".join(stage.salesforce_status))
    if stage.salesforce_converted:
        parts.append("converted")
    deals = stage.opportunity_stages
    if deals:
        parts.append(
            "deal " + ("|".join(deals) if len(deals) < 3 else f"{deals[0]}… ({len(deals)})")
        )
    if stage.salesforce_create:
        parts.append("created here")
    return ", ".join(parts) or "-"


def _rule(rule: Rule, funnel: Funnel) -> str:
    sources = "any"
    if rule.sources is not None:
        sources = ",".join(stage.name for stage in funnel.stages if stage.name in rule.sources)
    extras = []
    if rule.reason is not None and rule.reason != rule.name:
        extras.append(f"reason {rule.reason}")
    elif rule.reason_field is not None:
        extras.append(f"reason {rule.reason_field} or {rule.reason_default}")
    extras += [f"set {name}={value}" for name, value in rule.sets.items()]
    extras += [f"never written to {system.value}" for system in sorted(rule.block)]
    tail = f"  [{'; '.join(extras)}]" if extras else ""
    return f"{sources} -> {rule.target} when {render(rule.condition)}{tail}"
