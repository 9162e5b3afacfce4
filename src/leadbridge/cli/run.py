"""`leadbridge run`: the daemon (webhooks, polls, SLA sweep) until SIGTERM or SIGINT;
with --max-cycles, that many plain sync cycles in the foreground instead."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from leadbridge.cli.options import (
    DEFAULT_PORT,
    ENV_HOST,
    ENV_PORT,
    Commands,
    Opened,
    add_runtime_options,
    configured,
    count,
    opened,
    port,
    seconds,
)
from leadbridge.cli.progress import console_for
from leadbridge.cli.sync import run_loop, unprepared
from leadbridge.daemon.schema import RECHECK

# /readyz and /metrics on their own internal port (daemon.admin); unset: on the main port.
ENV_ADMIN_PORT = "LEADBRIDGE_ADMIN_PORT"

if TYPE_CHECKING:
    from leadbridge.alerts.slack import Slack
    from leadbridge.daemon.health import Board
    from leadbridge.daemon.service import DaemonSettings, Sweep
    from leadbridge.sync.pipeline import Pipeline
    from leadbridge.telemetry.logs import Redactor
    from leadbridge.telemetry.metrics import Metrics


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    run_ = commands.add_parser(
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
    run_.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        help="poll every this often (default: each connection file's poll_interval)",
    )
    run_.add_argument(
        "--max-cycles", type=count, help="run this many sync cycles in the foreground, then stop"
    )
    run_.add_argument(
        "--recheck",
        type=seconds,
        metavar="SECONDS",
        default=RECHECK,
        help="while HubSpot or Salesforce lacks what the mappings need (what `leadbridge "
        "doctor` lists), nothing is decided or written; check again this often (default 300)",
    )
    run_.add_argument(
        "--host", help=f"address to serve on (${ENV_HOST}; default 127.0.0.1, in a container all)"
    )
    run_.add_argument(
        "--port", type=port, help=f"port to serve on (${ENV_PORT}; default {DEFAULT_PORT})"
    )
    run_.add_argument(
        "--admin-port",
        type=port,
        help=f"serve /readyz and /metrics on this internal port instead (${ENV_ADMIN_PORT}; "
        "default: on --port with the webhooks)",
    )
    add_runtime_options(run_)
    run_.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.max_cycles is not None:
        return _run_cycles(args)
    import structlog

    from leadbridge.cli.failures import known
    from leadbridge.daemon.startup import Aborted, Startup
    from leadbridge.telemetry import logs

    redactor = logs.configure()
    log = logging.getLogger("leadbridge.cli")
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {
        signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        configured(args)
        redactor.add(logs.database_password(args.database))
        host, chosen = _address(args)
        startup = Startup(host, chosen, stop)
        try:
            with opened(args, announce=log.info, starting=startup.build) as wired:
                startup.close()
                settings = _daemon_settings(args, wired)
                clean = _run_daemon(wired, settings, stop, redactor, recheck=args.recheck)
                if not clean:
                    # A batch is still running in a worker thread, which the interpreter
                    # would wait for at exit. Everything it did is committed or in the write
                    # log, as after a crash; the exit code stays 0, a shutdown asked for is
                    # not a failure.
                    logging.shutdown()
                    os._exit(0)
        except Aborted:
            log.info("stopped while starting")
        except Exception as exc:
            found = None if args.debug else known(exc)
            if found is None:
                raise
            # One event with fields a person (or an alert rule) can read, not a traceback.
            structlog.get_logger(__name__).error(
                "cannot start", what=found.what, system=found.system, fix=found.fix
            )
            return 2
        finally:
            startup.close()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _run_daemon(
    wired: Opened,
    settings: DaemonSettings,
    stop: threading.Event,
    redactor: Redactor,
    *,
    sweep: Sweep | None = None,
    metrics: Metrics | None = None,
    recheck: float = RECHECK,
) -> bool:
    """The daemon until `stop` is set; True when it stopped cleanly (no batch left
    running). The connection files' secrets join the redactor first."""
    import structlog

    from leadbridge.daemon.schema import SchemaGate
    from leadbridge.daemon.service import Daemon
    from leadbridge.telemetry.logs import secrets_of
    from leadbridge.telemetry.metrics import Metrics

    runtime, slack = wired.runtime, wired.slack
    redactor.add(*secrets_of(runtime.hubspot.settings), *secrets_of(runtime.salesforce.settings))
    if slack is not None:
        redactor.add(*secrets_of(slack.settings))
    metrics = metrics or Metrics()
    if sweep is None and slack is not None:
        sweep = _alerting(runtime.pipeline, slack, metrics, lambda: daemon.board)
    gate = SchemaGate(wired.diagnose, recheck=recheck)
    daemon = Daemon(runtime.pipeline, settings, metrics=metrics, sweep=sweep, gate=gate)
    clean = daemon.run(stop)
    structlog.get_logger(__name__).info(
        "api requests sent",
        hubspot=runtime.hubspot.requests.total(),
        salesforce=runtime.salesforce.requests.total(),
    )
    return clean


def _alerting(
    pipeline: Pipeline, slack: Slack, metrics: Metrics, board: Callable[[], Board]
) -> Sweep:
    """The daemon's sweep job: stuck-lead alerts, then one health message per change of
    health (the readiness checks /readyz shows), each counted in /metrics."""
    from leadbridge.alerts.sweep import health, sweep

    def run(now: datetime) -> None:
        stuck = sweep(pipeline.store, pipeline.funnel, slack, now)
        metrics.alerts_sent.labels(kind="stuck").inc(stuck.sent)
        told = health(pipeline.store, slack, board().readiness().checks, now)
        metrics.alerts_sent.labels(kind="health").inc(told.sent)

    return run


def _daemon_settings(args: argparse.Namespace, wired: Opened) -> DaemonSettings:
    from leadbridge.daemon.service import DaemonSettings
    from leadbridge.model import System
    from leadbridge.webhooks import hooks_from

    hubspot, salesforce = wired.runtime.hubspot.settings, wired.runtime.salesforce.settings
    every = {
        System.HUBSPOT: hubspot.poll_interval,
        System.SALESFORCE: salesforce.poll_interval.total_seconds(),
    }
    if args.interval is not None:
        every = dict.fromkeys(every, args.interval)
    host, chosen = _address(args)
    admin = args.admin_port
    if admin is None and os.environ.get(ENV_ADMIN_PORT):
        admin = port(os.environ[ENV_ADMIN_PORT])
    return DaemonSettings(
        host=host,
        port=chosen,
        admin_port=admin,
        poll_every=every,
        reconcile_every={System.HUBSPOT: hubspot.reconcile.every},
        hubspot_push=hubspot.push,
        salesforce_hooks=hooks_from(salesforce),
    )


def _address(args: argparse.Namespace) -> tuple[str, int]:
    chosen = args.port if args.port is not None else port(os.environ.get(ENV_PORT) or "8080")
    return args.host or os.environ.get(ENV_HOST) or _default_host(), chosen


def _default_host() -> str:
    """Loopback on a workstation; every interface in a container, where the port is mapped."""
    containers = (Path("/.dockerenv"), Path("/run/.containerenv"))
    # systemd-nspawn and podman set `container`; Docker leaves /.dockerenv.
    if os.environ.get("container") or any(m.exists() for m in containers):  # noqa: SIM112
        return "0.0.0.0"  # noqa: S104 - a container's network is its own; the port is mapped
    return "127.0.0.1"


def _run_cycles(args: argparse.Namespace) -> int:
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with opened(args) as wired:
            if unprepared(wired, sys.stderr, "run"):
                return 2
            interval = args.interval
            if interval is None:
                interval = min(
                    wired.runtime.hubspot.settings.poll_interval,
                    wired.runtime.salesforce.settings.poll_interval.total_seconds(),
                )
            return run_loop(
                wired.pipeline,
                interval,
                stop,
                sys.stdout,
                args.max_cycles,
                progress=console_for(sys.stderr),
            )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
