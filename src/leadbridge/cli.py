"""The `leadbridge` command."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
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
    return parser


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
    from leadbridge.sandbox.world import Sandbox

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    sandbox = Sandbox(
        seed=args.seed,
        limits=not args.no_limits,
        tls_dir=args.tls_dir,
        search_lag_seconds=args.search_lag,
    )
    sandbox.populate(args.leads)
    info = sandbox.start()
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    try:
        stop.wait()
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
