"""`leadbridge plan`: a dry run, the records and field-level diff a cycle would write;
writes nothing."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from leadbridge.cli.options import Commands, add_runtime_options, opened
from leadbridge.cli.progress import console_for, watching
from leadbridge.model import System
from leadbridge.sync.pipeline import Pipeline, Summary, cycle

if TYPE_CHECKING:
    from rich.console import Console

_KINDS = ("create", "update")


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    plan_ = commands.add_parser(
        "plan",
        help="a dry run: the records and the field-level diff a cycle would write",
        description=(
            "Reads both systems and decides as a cycle would, then prints what it would "
            "write and writes nothing, anywhere. Text: the records to create and update per "
            "system and object, one line per field to write, then a closing line. JSON "
            '(--format json): one document, {"changes_read": int, "leads_decided": int, '
            '"transitions": int, "records": [{"system": "hubspot", "object": "contact", '
            '"create": int, "update": int}, ...], "diffs": [the text\'s field lines]}.'
        ),
    )
    plan_.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for a person (default), json for a script",
    )
    add_runtime_options(plan_)
    plan_.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    as_json = args.format == "json"
    # JSON is one document on stdout: the embedded sandbox's greeting goes to stderr then.
    announce = _to_stderr if as_json else print
    # A dry run: nothing is written anywhere, the state database included.
    with opened(args, announce, read_only=True) as wired:
        summary = planned(wired.pipeline, console_for(sys.stderr))
    if as_json:
        sys.stdout.write(json.dumps(document(summary), ensure_ascii=False, indent=2) + "\n")
    else:
        _text(summary, sys.stdout)
    return 0


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def planned(pipeline: Pipeline, progress: Console | None = None) -> Summary:
    """The dry run's summary, its progress shown on `progress` (a terminal) meanwhile."""
    with watching(pipeline, progress, dry_run=True) as watched:
        return cycle(watched, dry_run=True)


def records(summary: Summary) -> list[dict[str, Any]]:
    """Records to create and update per system and object, HubSpot first."""
    found = sorted(
        {(system, obj) for system, obj, _ in summary.planned},
        key=lambda key: (key[0] is not System.HUBSPOT, key[1]),
    )
    return [
        {"system": system.value, "object": obj}
        | {kind: summary.planned[(system, obj, kind)] for kind in _KINDS}
        for system, obj in found
    ]


def document(summary: Summary) -> dict[str, Any]:
    return {
        "changes_read": summary.changes_read,
        "leads_decided": summary.leads_decided,
        "transitions": summary.transitions,
        "records": records(summary),
        "diffs": list(summary.diffs),
    }


def _text(summary: Summary, out: TextIO) -> None:
    rows = records(summary)
    if rows:
        print("plan: records to write", file=out)
        for row in rows:
            print(
                f"  {row['system']} {row['object']}: "
                f"{row['create']} to create, {row['update']} to update",
                file=out,
            )
    else:
        print("plan: no record to write", file=out)
    for line in summary.diffs:
        print(line, file=out)
    print(
        f"plan: {summary.changes_read} changes read, {summary.leads_decided} leads decided, "
        f"{summary.transitions} transitions, {len(summary.diffs)} fields to write; "
        "nothing was written",
        file=out,
    )
