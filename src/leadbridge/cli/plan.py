"""`leadbridge plan`: a dry run, the field-level diff a cycle would write; writes nothing."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from leadbridge.cli.options import Commands, add_runtime_options, opened
from leadbridge.sync.pipeline import Pipeline, cycle


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    plan_ = commands.add_parser(
        "plan", help="a dry run: the field-level diff a cycle would write, per record"
    )
    add_runtime_options(plan_)
    plan_.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # A dry run: nothing is written anywhere, the state database included.
    with opened(args, read_only=True) as wired:
        return _plan(wired.pipeline, sys.stdout)


def _plan(pipeline: Pipeline, out: TextIO) -> int:
    summary = cycle(pipeline, dry_run=True)
    for line in summary.diffs:
        print(line, file=out)
    print(
        f"plan: {summary.changes_read} changes read, {summary.leads_decided} leads decided, "
        f"{summary.transitions} transitions, {len(summary.diffs)} fields to write; "
        "nothing was written",
        file=out,
    )
    return 0
