"""The `leadbridge` command."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadbridge.cli import demo, report
from leadbridge.defaults import shipped

if TYPE_CHECKING:
    from leadbridge.daemon import DaemonSettings
    from leadbridge.runtime import Runtime

# The embedded default's state: a fresh file per run, since its sandbox lives only as long.
EMBEDDED_DATABASE = Path("state") / "embedded.db"
# The packaged default connection files: the embedded default points them at the sandbox
# through environment variables.
SHIPPED_CONNECTORS = shipped("connectors")
PRELOADED_AGO = timedelta(minutes=10)
# Configuration by environment (the container sets these); a flag wins over its variable.
ENV_CONNECTORS = "LEADBRIDGE_CONNECTORS"
ENV_MAPPINGS = "LEADBRIDGE_MAPPINGS"
ENV_DATABASE = "LEADBRIDGE_DATABASE_URL"
ENV_HOST = "LEADBRIDGE_HTTP_HOST"
ENV_PORT = "LEADBRIDGE_HTTP_PORT"
DEFAULT_PORT = 8080


def main(argv: Sequence[str] | None = None, *, clock: Callable[[], datetime] | None = None) -> int:
    """`clock` lets an in-process caller (tests, the demo) run the sync on simulated time."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    args.clock = clock
    _plain_logs()
    result: int = args.run(args)
    return result


def _plain_logs() -> None:
    """One-shot commands print their results on stdout; their logs (warnings and worse)
    go to stderr, never between the lines a person or a script reads. `run` as a daemon
    reconfigures for JSON lines (logs.configure)."""
    import logging

    import structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


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
    report.add_parser(commands)
    return parser


def _sync_commands(commands: Any) -> None:
    sync = commands.add_parser("sync", help="read both systems, decide, write the outcome")
    sync.add_argument("--once", action="store_true", required=True, help="run one cycle")
    plan = commands.add_parser(
        "plan", help="a dry run: the field-level diff a cycle would write, per record"
    )
    run = commands.add_parser(
        "run",
        help="the daemon: webhooks, polls and the SLA sweep until SIGTERM or SIGINT",
        description=(
            "Serves the webhook endpoints, /healthz, /readyz and /metrics, polls each system "
            "every poll interval, decides and writes as changes arrive, and runs the SLA "
            "sweep; several replicas may share one PostgreSQL database. Logs are JSON lines "
            "on stderr. With --max-cycles it runs that many plain sync cycles instead, "
            "printing a summary line each, and serves nothing."
        ),
    )
    run.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        help="poll every this often (default: each connection file's poll_interval)",
    )
    run.add_argument(
        "--max-cycles", type=_count, help="run this many sync cycles in the foreground, then stop"
    )
    run.add_argument(
        "--host", help=f"address to serve on (${ENV_HOST}; default 127.0.0.1, in a container all)"
    )
    run.add_argument(
        "--port", type=_port, help=f"port to serve on (${ENV_PORT}; default {DEFAULT_PORT})"
    )
    for command, run_command in ((sync, _run_sync), (plan, _run_plan), (run, _run_run)):
        command.add_argument(
            "--mappings",
            type=Path,
            help=f"the mappings directory (${ENV_MAPPINGS}; default ./mappings, else the "
            "packaged ones)",
        )
        command.add_argument(
            "--connectors",
            type=Path,
            help=f"directory of hubspot.yaml and salesforce.yaml (${ENV_CONNECTORS}); without "
            "either, an in-process sandbox (no credentials needed) with a fresh state file",
        )
        command.add_argument(
            "--database", help=f"SQLAlchemy URL of the state database (${ENV_DATABASE})"
        )
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


def _configured(args: argparse.Namespace) -> None:
    """Fill what the flags left out from the environment, then from the defaults."""
    env = os.environ
    if args.connectors is None and env.get(ENV_CONNECTORS):
        args.connectors = Path(env[ENV_CONNECTORS])
    # The embedded default keeps its fresh file: its sandbox is new each run, and state
    # left from another world would be wrong there.
    if args.database is None and env.get(ENV_DATABASE) and args.connectors is not None:
        args.database = env[ENV_DATABASE]
    if args.mappings is None:
        local = Path("mappings")
        from_env = env.get(ENV_MAPPINGS)
        args.mappings = (
            Path(from_env) if from_env else local if local.is_dir() else shipped("mappings")
        )


@contextmanager
def _runtime(
    args: argparse.Namespace, announce: Callable[[str], None] = print
) -> Iterator[Runtime]:
    from leadbridge.runtime import build, utc_now

    _configured(args)
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
    shipped_files = SHIPPED_CONNECTORS
    with Sandbox(seed=args.seed, limits=False) as sandbox:
        sandbox.populate(args.leads)
        # Reads stop at the last whole second, so the people just made would wait a poll.
        sandbox.clock.advance(60)
        env = sandbox_env(sandbox.info())
        runtime = build(
            args.mappings, shipped_files, database, env, clock=args.clock or sandbox.clock.now
        )
        announce(f"embedded sandbox with {args.leads} people; state in {database}")
        try:
            yield runtime
        finally:
            runtime.close()


def _run_sync(args: argparse.Namespace) -> int:
    from leadbridge.commands import sync_once

    with _runtime(args) as runtime:
        return sync_once(runtime.pipeline, sys.stdout)


def _run_run(args: argparse.Namespace) -> int:
    if args.max_cycles is not None:
        return _run_loop(args)
    from leadbridge import logs
    from leadbridge.commands import run_daemon

    redactor = logs.configure()
    log = logging.getLogger("leadbridge.cli")
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {
        signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    clean = True
    try:
        _configured(args)
        redactor.add(logs.database_password(args.database))
        with _runtime(args, announce=log.info) as runtime:
            clean = run_daemon(runtime, _daemon_settings(args, runtime), stop, redactor)
            if not clean:
                # A batch is still running in a worker thread, which the interpreter would
                # wait for at exit. Everything it did is committed or in the write log, as
                # after a crash; the exit code stays 0, a shutdown asked for is not a failure.
                logging.shutdown()
                os._exit(0)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _daemon_settings(args: argparse.Namespace, runtime: Runtime) -> DaemonSettings:
    from leadbridge.daemon import DaemonSettings
    from leadbridge.model import System
    from leadbridge.webhooks import hooks_from

    hubspot, salesforce = runtime.hubspot.settings, runtime.salesforce.settings
    every = {
        System.HUBSPOT: hubspot.poll_interval,
        System.SALESFORCE: salesforce.poll_interval.total_seconds(),
    }
    if args.interval is not None:
        every = dict.fromkeys(every, args.interval)
    port = args.port if args.port is not None else _port(os.environ.get(ENV_PORT) or "8080")
    return DaemonSettings(
        host=args.host or os.environ.get(ENV_HOST) or _default_host(),
        port=port,
        poll_every=every,
        hubspot_push=hubspot.push,
        salesforce_hooks=hooks_from(salesforce),
    )


def _default_host() -> str:
    """Loopback on a workstation; every interface in a container, where the port is mapped."""
    containers = (Path("/.dockerenv"), Path("/run/.containerenv"))
    # systemd-nspawn and podman set `container`; Docker leaves /.dockerenv.
    if os.environ.get("container") or any(m.exists() for m in containers):  # noqa: SIM112
        return "0.0.0.0"  # noqa: S104 - a container's network is its own; the port is mapped
    return "127.0.0.1"


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


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return value


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
