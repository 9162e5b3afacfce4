"""`leadbridge check`: every problem in the mappings at once, or a one-screen view of the funnel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from leadbridge.cli.options import Commands
from leadbridge.config import ConfigError, Funnel, Rule, load_funnel
from leadbridge.config.conditions import render, render_duration
from leadbridge.model import Stage

_OK, _INVALID = 0, 2


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check",
        help="check the mappings: print every problem (exit 2), or a summary of the funnel",
    )
    check.add_argument("--mappings", type=Path, default=Path("mappings"), help="the directory")
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_check(args.mappings, sys.stdout)


def run_check(mappings_dir: Path, out: TextIO) -> int:
    """Print each problem as `path:line:col: field: message` and return 2, or the summary and 0."""
    try:
        funnel = load_funnel(mappings_dir)
    except ConfigError as exc:
        for problem in exc.problems:
            out.write(f"{problem}\n")
        count = len(exc.problems)
        out.write(f"{count} problem{'s' if count != 1 else ''} in {mappings_dir}/\n")
        return _INVALID
    out.write(_summary(funnel, mappings_dir))
    return _OK


def _summary(funnel: Funnel, mappings_dir: Path) -> str:
    lines = [
        f"{mappings_dir}/ is valid: {len(funnel.stages)} stages, {len(funnel.fields)} fields, "
        f"{len(funnel.rules)} rules.",
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
        "",
        "Rules: the first that applies and holds decides; HubSpot changes never move a lead",
        "out of a sales-owned stage except forward.",
    ]
    width = max(len(rule.name) for rule in funnel.rules)
    for rule in funnel.rules:
        lines.append(f"{rule.index + 1:>2} {rule.name:<{width}}  {_rule(rule, funnel)}")
    return "\n".join(lines) + "\n"


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
