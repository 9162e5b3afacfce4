"""`leadbridge doctor`: every check of the mappings, HubSpot, Salesforce and Slack at once, as
a checklist with the fix for each ✗; exit 0 when all pass, else 2. It writes nothing:
no state database, no CRM write, no Slack message."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from leadbridge.alerts.settings import load_slack_settings
from leadbridge.cli.options import Commands, connectors_option, directory, mappings_option
from leadbridge.config import ConfigError
from leadbridge.preflight import Check, SlackFacts, diagnose, slack_checks

_OK, _PROBLEMS = 0, 2
_FOLD_FROM = 3  # ✓ lines in a row about one thing, folded into one


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="check the connections and everything the mappings need of HubSpot, Salesforce "
        "and Slack; print a checklist with a fix for each problem (exit 2); writes nothing",
    )
    mappings_option(doctor)
    connectors_option(doctor)
    doctor.add_argument("--format", choices=("text", "json"), default="text")
    doctor.add_argument("--verbose", "-v", action="store_true", help="every ✓ on its own line")
    doctor.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    checks = doctor(args, os.environ)
    if getattr(args, "format", "text") == "json":
        _json(checks, sys.stdout)
    else:
        _text(checks, sys.stdout, verbose=bool(getattr(args, "verbose", False)))
    return _OK if all(check.ok for check in checks) else _PROBLEMS


def doctor(args: argparse.Namespace, env: Mapping[str, str]) -> list[Check]:
    mappings = directory(getattr(args, "mappings", None), "mappings", env)
    connectors = directory(getattr(args, "connectors", None), "connectors", env)
    checks = diagnose(mappings, connectors, env)
    return checks + slack_checks(_slack(connectors / "slack.yaml", env))


def _slack(path: Path, env: Mapping[str, str]) -> SlackFacts:
    if not path.is_file():
        return SlackFacts(None)
    try:
        settings = load_slack_settings(path, env)
    except ConfigError as exc:
        return SlackFacts(str(path), tuple(str(problem) for problem in exc.problems))
    routes = (
        ("alerts", settings.webhook_url),
        ("escalation", settings.escalation.webhook_url),
        ("health", settings.health.webhook_url),
    )
    webhooks = [(route, url.get_secret_value()) for route, url in routes if url is not None]
    return SlackFacts(str(path), (), webhooks if settings.webhook_url is not None else [])


def _text(checks: Sequence[Check], out: TextIO, *, verbose: bool = False) -> None:
    """Every ✗ with its fix; runs of ✓ about one thing (an object's fields, the scopes) on
    one line unless `verbose`."""
    group = None
    for run_ in _runs(checks, verbose):
        first = run_[0]
        if first.group != group:
            group = first.group
            out.write(f"{group}\n")
        if len(run_) > 1:
            names = ", ".join(check.name.removeprefix(_topic(first) + ".") for check in run_)
            out.write(f"  ✓ {_topic(first)}: {len(run_)} checks passed ({names})\n")
            continue
        mark = "✓" if first.ok else "✗"
        out.write(f"  {mark} {first.name}: {first.detail}\n")
        if not first.ok:
            out.write(f"      fix: {first.fix}\n")
    problems = sum(not check.ok for check in checks)
    if problems:
        out.write(f"{problems} of {len(checks)} checks failed; nothing was written anywhere\n")
    else:
        out.write(f"all {len(checks)} checks passed; nothing was written anywhere\n")


def _runs(checks: Sequence[Check], verbose: bool) -> list[list[Check]]:
    runs: list[list[Check]] = []
    for check in checks:
        last = runs[-1] if runs else None
        if (
            not verbose
            and last is not None
            and check.ok
            and last[-1].ok
            and (last[-1].group, _topic(last[-1])) == (check.group, _topic(check))
        ):
            last.append(check)
        else:
            runs.append([check])
    # A short run reads better as its lines.
    return runs if verbose else _split_short(runs)


def _split_short(runs: list[list[Check]]) -> list[list[Check]]:
    return [part for r in runs for part in ([r] if len(r) > _FOLD_FROM else [[c] for c in r])]


def _topic(check: Check) -> str:
    """What a check is about: `Lead` for Lead.Email, `scope` for a scope, `property`..."""
    head = check.name.split(" ")[0]
    return head.split(".")[0]


def _json(checks: Sequence[Check], out: TextIO) -> None:
    body = {
        "ok": all(check.ok for check in checks),
        "checks": [
            {
                "group": check.group,
                "name": check.name,
                "ok": check.ok,
                "detail": check.detail,
                "fix": check.fix or None,
            }
            for check in checks
        ],
    }
    out.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
