"""`leadbridge sandbox`: simulated HubSpot, Salesforce and Slack on loopback until interrupted."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from leadbridge.cli.options import PRELOADED_AGO, Commands, count


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
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
    sandbox.add_argument("--leads", type=count, default=100, help="people to preload")
    sandbox.add_argument("--no-limits", action="store_true", help="turn the rate limits off")
    sandbox.add_argument("--tls-dir", type=Path, help="where to write the CA bundle")
    sandbox.add_argument(
        "--search-lag",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="HubSpot search indexing delay (real portals: up to ~30 s)",
    )
    sandbox.add_argument(
        "--unprepared",
        action="store_true",
        help="play a customer before setup: a HubSpot app with contact scopes only, and an org "
        "without leadbridge's custom fields and Lead Status values",
    )
    sandbox.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: every other command starts without the sandbox.
    from leadbridge.sandbox.clock import SimClock
    from leadbridge.sandbox.world import Sandbox

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    # The people are loaded "ten minutes ago", then the clock catches up with the
    # wall: a client's first poll finds them past every lag tolerance, instead
    # of waiting minutes for records stamped this very second to settle.
    clock = SimClock(datetime.now(UTC) - PRELOADED_AGO)
    sandbox = Sandbox(
        seed=args.seed,
        limits=not args.no_limits,
        tls_dir=args.tls_dir,
        search_lag_seconds=args.search_lag,
        clock=clock,
        prepared=not args.unprepared,
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
