"""The `leadbridge` command."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadbridge.cli import demo

if TYPE_CHECKING:
    from leadbridge.runtime import Runtime

# The embedded default's state: a fresh file per run, since its sandbox lives only as long.
EMBEDDED_DATABASE = Path("state") / "embedded.db"
# The connection files beside the package (a source checkout): the embedded default
# points them at the sandbox through environment variables.
SHIPPED_CONNECTORS = Path(__file__).resolve().parents[3] / "connectors"
PRELOADED_AGO = timedelta(minutes=10)


def main(argv: Sequence[str] | None = None, *, clock: Callable[[], datetime] | None = None) -> int:
    """`clock` lets an in-process caller (tests, the demo) run the sync on simulated time."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    args.clock = clock
    result: int = args.run(args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadbridge",
        description="Keeps a B2B lead's funnel stage true in HubSpot and Salesforce.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    sandbox = commands.add_parser(
        "sandbox",
        help="serve simulated HubSpot, Salesforce and Slack on loopback until interrupted",
        description=(
            "Starts simulated HubSpot and Salesforce (HTTPS, a throwaway CA) and Slack on free "
            "loopback ports, preloads realistic contacts and leads, prints one JSON line with "
            "their URLs and credentials, and serves until SIGINT or SIGTERM."
        ),
    )
    sandbox.add_argument("--seed", type=int, default=0, help="seed for data and faults")
    sandbox.add_argument("--leads", type=_count, default=100, help="people to preload")
    sandbox.add_argument("--no-limits", action="store_true", help="turn the rate limits off")
    sandbox.add_argument("--tls-dir", type=Path, help="where to write the CA bundle")
    sandbox.add_argument(
        "--search-lag",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="HubSpot search indexing delay (real portals: up to ~30 s)",
    )
    sandbox.set_defaults(run=_run_sandbox)

    check = commands.add_parser(
        "check",
        help="check the mappings: print every problem (exit 2), or a summary of the funnel",
    )
    check.add_argument("--mappings", type=Path, default=Path("mappings"), help="the directory")
    check.set_defaults(run=_run_check)

    db = commands.add_parser("db", help="the state database")
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", help="create or migrate the state database to the latest schema"
    )
    upgrade.add_argument(
        "--url",
        help="SQLAlchemy URL (default: $LEADBRIDGE_DATABASE_URL, else sqlite:///state/leadbridge.db)",
    )
    upgrade.set_defaults(run=_run_db_upgrade)
    _sync_commands(commands)
    demo.add_parser(commands)
    return parser


def _sync_commands(commands: Any) -> None:
    sync = commands.add_parser("sync", help="read both systems, decide, write the outcome")
    sync.add_argument("--once", action="store_true", required=True, help="run one cycle")
    plan = commands.add_parser(
        "plan", help="a dry run: the field-level diff a cycle would write, per record"
    )
    run = commands.add_parser(
        "run", help="sync continuously, a cycle every poll interval, until SIGTERM or SIGINT"
    )
    run.add_argument(
        "--interval", type=float, metavar="SECONDS", help="default: the connectors' poll_interval"
    )
    run.add_argument("--max-cycles", type=_count, help="stop after this many cycles")
    for command, run_command in ((sync, _run_sync), (plan, _run_plan), (run, _run_loop)):
        command.add_argument("--mappings", type=Path, default=Path("mappings"))
        command.add_argument(
            "--connectors",
            type=Path,
            help="directory of hubspot.yaml and salesforce.yaml; without it, an in-process "
            "sandbox (no credentials needed) with a fresh state file",
        )
        command.add_argument("--database", help="SQLAlchemy URL of the state database")
        command.add_argument(
            "--leads", type=_count, default=50, help="people the embedded sandbox starts with"
        )
        command.add_argument("--seed", type=int, default=0, help="the embedded sandbox's seed")
        command.set_defaults(run=run_command)
    explain = commands.add_parser(
        "explain", help="a lead's story: each transition, its rule and cause, what was written"
    )
    explain.add_argument("key", metavar="EMAIL_OR_ID", help="an email, lead id or record id")
    parked = commands.add_parser("parked", help="records set aside, with their reasons")
    for command, run in ((explain, _run_explain), (parked, _run_parked)):
        command.add_argument("--database", help="SQLAlchemy URL of the state database")
        command.set_defaults(run=run)


@contextmanager
def _runtime(args: argparse.Namespace) -> Iterator[Runtime]:
    import os

    from leadbridge.runtime import build, utc_now

    clock = args.clock or utc_now
    if args.connectors is not None:
        runtime = build(args.mappings, args.connectors, args.database, os.environ, clock=clock)
        try:
            yield runtime
        finally:
            runtime.close()
        return
    # The embedded default: the product never imports the sandbox; only this command does.
    from leadbridge.runtime import sandbox_env
    from leadbridge.sandbox.world import Sandbox

    database = args.database
    if database is None:
        EMBEDDED_DATABASE.unlink(missing_ok=True)
        database = f"sqlite:///{EMBEDDED_DATABASE}"
    shipped = SHIPPED_CONNECTORS
    with Sandbox(seed=args.seed, limits=False) as sandbox:
        sandbox.populate(args.leads)
        # Reads stop at the last whole second, so the people just made would wait a poll.
        sandbox.clock.advance(60)
        env = sandbox_env(sandbox.info())
        runtime = build(
            args.mappings, shipped, database, env, clock=args.clock or sandbox.clock.now
        )
        print(f"embedded sandbox with {args.leads} people; state in {database}")
        try:
            yield runtime
        finally:
            runtime.close()


def _run_sync(args: argparse.Namespace) -> int:
    from leadbridge.commands import sync_once

    with _runtime(args) as runtime:
        return sync_once(runtime.pipeline, sys.stdout)


def _run_loop(args: argparse.Namespace) -> int:
    from leadbridge.commands import run_loop

    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with _runtime(args) as runtime:
            interval = args.interval
            if interval is None:
                interval = min(
                    runtime.hubspot.settings.poll_interval,
                    runtime.salesforce.settings.poll_interval.total_seconds(),
                )
            return run_loop(runtime.pipeline, interval, stop, sys.stdout, args.max_cycles)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run_plan(args: argparse.Namespace) -> int:
    from leadbridge.commands import plan

    with _runtime(args) as runtime:
        return plan(runtime.pipeline, sys.stdout)


def _run_explain(args: argparse.Namespace) -> int:
    from leadbridge.commands import explain
    from leadbridge.store import Store

    with Store.open(args.database) as store:
        return explain(store, args.key, sys.stdout)


def _run_parked(args: argparse.Namespace) -> int:
    from leadbridge.commands import parked
    from leadbridge.store import Store

    with Store.open(args.database) as store:
        return parked(store, sys.stdout)


def _run_db_upgrade(args: argparse.Namespace) -> int:
    from leadbridge.store.migrate import db_upgrade

    revision = db_upgrade(args.url)
    print(f"state database at revision {revision}")
    return 0


def _run_check(args: argparse.Namespace) -> int:
    from leadbridge.check import run_check

    return run_check(args.mappings, sys.stdout)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be zero or more")
    return value


def _run_sandbox(args: argparse.Namespace) -> int:
    # The product never imports the sandbox; only this command and the demo do.
    from leadbridge.sandbox.clock import SimClock
    from leadbridge.sandbox.world import Sandbox

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    # The people are loaded "ten minutes ago", then the clock catches up with the
    # wall: a client's first poll finds them past every look-back window, instead
    # of waiting minutes for records stamped this very second to settle.
    clock = SimClock(datetime.now(UTC) - PRELOADED_AGO)
    sandbox = Sandbox(
        seed=args.seed,
        limits=not args.no_limits,
        tls_dir=args.tls_dir,
        search_lag_seconds=args.search_lag,
        clock=clock,
    )
    sandbox.populate(args.leads)
    clock.advance(max((datetime.now(UTC) - clock.now()).total_seconds(), 0.0))
    info = sandbox.start()
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    try:
        stop.wait()
    finally:
        sandbox.stop()
    return 0
