"""`leadbridge sync --once`, and the plain cycle loop `run --max-cycles` uses."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from leadbridge.cli.options import Commands, Opened, add_runtime_options, opened
from leadbridge.cli.progress import console_for, watching
from leadbridge.model import System
from leadbridge.sync.pipeline import Pipeline, Summary, cycle
from leadbridge.sync.reconcile import reconcile

if TYPE_CHECKING:
    from rich.console import Console


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    sync = commands.add_parser("sync", help="read both systems, decide, write the outcome")
    sync.add_argument("--once", action="store_true", required=True, help="run one cycle")
    sync.add_argument(
        "--reconcile",
        action="store_true",
        help="first read what the polls missed since the last reconciliation, past HubSpot's "
        "search index (the daemon does this every reconcile.every, nightly by default)",
    )
    add_runtime_options(sync)
    sync.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with opened(args) as wired:
        if unprepared(wired, sys.stderr, "sync"):
            return 2
        return sync_once(
            wired.pipeline,
            sys.stdout,
            reconciling=args.reconcile,
            progress=console_for(sys.stderr),
        )


def unprepared(wired: Opened, out: TextIO, who: str) -> bool:
    """True, having said what is missing, when HubSpot or Salesforce lacks what the mappings
    need (the doctor's checks): nothing is decided or written then, as in the daemon."""
    from leadbridge.preflight import blocking

    if _paused(wired.pipeline, who, out, say=False):
        return False  # paused: not even the checks call the systems; run_loop says so
    missing = blocking(wired.diagnose())
    if not missing:
        return False
    count = f"{len(missing)} check{'s' if len(missing) != 1 else ''}"
    print(f"leadbridge: {who} did nothing: {count} of HubSpot and Salesforce failed", file=out)
    for check in missing:
        print(f"  ✗ {check.group} {check.name}: {check.detail}", file=out)
        print(f"      fix: {check.fix}", file=out)
    print("`leadbridge setup` makes what can be made; `leadbridge doctor` checks again", file=out)
    return True


def sync_once(
    pipeline: Pipeline,
    out: TextIO,
    *,
    reconciling: bool = False,
    progress: Console | None = None,
) -> int:
    """One cycle (after a reconciliation, when asked), under the "sync" lease (`run_loop`)."""
    return run_loop(
        pipeline,
        0.0,
        threading.Event(),
        out,
        1,
        quiet=True,
        who="sync",
        reconciling=reconciling,
        progress=progress,
    )


def run_loop(
    pipeline: Pipeline,
    interval: float,
    stop: threading.Event,
    out: TextIO,
    max_cycles: int | None = None,
    *,
    quiet: bool = False,
    who: str = "run",
    reconciling: bool = False,
    progress: Console | None = None,
) -> int:
    """Cycles every `interval` seconds until `stop` is set; the cycle in flight finishes first,
    so a SIGTERM never cuts a batch in half (its writes are logged and would resume anyway).
    With a `progress` console (stderr, a terminal) each cycle shows how far it has got.

    All of it under the "sync" lease: beside a running daemon on the same database this
    would be a second decider (identity matching assumes one), so it refuses instead."""
    from leadbridge.daemon.lease import LeaseLost, leased
    from leadbridge.sync.redeploy import Stranded

    cycles = 0
    with leased(pipeline, who) as fenced:
        if fenced is None:
            print(
                f"{who}: another leadbridge (a daemon?) holds the sync lease on this database; "
                "nothing was done",
                file=out,
            )
            return 1
        try:
            if reconciling and not _paused(fenced, who, out, say=False):
                _reconcile(fenced, out)
            while not stop.is_set() and (max_cycles is None or cycles < max_cycles):
                started = time.monotonic()
                cycles += 1
                if _paused(fenced, who, out):
                    stop.wait(interval if max_cycles is None or cycles < max_cycles else 0.0)
                    continue
                with watching(fenced, progress) as watched:
                    summary = cycle(watched)
                print(summary_line(summary), file=out, flush=True)
                if summary.paused:
                    print(f"paused: {summary.paused}; the rest waits", file=out, flush=True)
                if max_cycles is None or cycles < max_cycles:
                    stop.wait(max(interval - (time.monotonic() - started), 0.0))
        except LeaseLost as lost:
            print(f"{who}: stopped, {lost}; what was decided waits in the write log", file=out)
            return 1
        except Stranded as stranded:
            print(f"{who}: nothing was decided: {stranded}", file=out)
            return 2
    if not quiet:
        print(f"run: stopped after {cycles} cycles", file=out, flush=True)
    return 0


def _paused(pipeline: Pipeline, who: str, out: TextIO, *, say: bool = True) -> bool:
    """True, having said so, while a person paused the sync (`leadbridge pause`): nothing is
    read, decided or written, as in the daemon (daemon.pause)."""
    from leadbridge.daemon.pause import read_pause

    pause = read_pause(pipeline.store)
    if pause is None or not say:
        return pause is not None
    print(
        f"{who}: paused, nothing was read, decided or written ({pause.line()}); "
        "`leadbridge resume` goes on",
        file=out,
        flush=True,
    )
    return True


def _reconcile(pipeline: Pipeline, out: TextIO) -> None:
    for system in pipeline.connectors:
        done = reconcile(pipeline, system)
        if done is None:
            continue  # Salesforce: its poll reads no index (sync.reconcile)
        line = f"reconciled {system.value}: {done.read} read, {done.new} new"
        print(line + (f"; paused: {done.paused}" if done.paused else ""), file=out, flush=True)


def summary_line(summary: Summary) -> str:
    hs, sf = System.HUBSPOT, System.SALESFORCE
    return (
        f"sync: {summary.changes_read} changes read, {summary.leads_decided} leads decided, "
        f"{summary.transitions} transitions, {summary.echoes} echoes ignored; "
        f"written: hubspot {summary.written.get(hs, 0)} ({write_calls(summary, hs)}), "
        f"salesforce {summary.written.get(sf, 0)} ({write_calls(summary, sf)}); "
        f"parked: {summary.parked}"
    )


def write_calls(summary: Summary, system: System) -> str:
    """The write requests the connector counted, e.g. "7 calls, least possible 6": the
    least is computed (writes packed at the batch maximum), so it carries that name."""
    counted = f"{summary.write_calls.get(system, 0)} calls"
    least = summary.least_write_calls.get(system, 0)
    return f"{counted}, least possible {least}" if least else counted
