"""The daemon behind `leadbridge run`: scheduled jobs, the webhook server, leases for replicas.

An APScheduler BackgroundScheduler runs, each job one instance at a time,
coalesced, with jitter:

- a poll job per connector, every poll_interval of its connection file: that
  system's changes into the inbox; when it found any, it nudges the inbox job;
- the inbox job, every few seconds and soon after a nudge (daemon.nudge
  debounces bursts): the records webhooks named are read by id
  (sync.read_hints), then sync.process decides every pending item and sends
  the writes;
- a reconciliation job per connector that can list past its search index (HubSpot),
  when its connection file's `reconcile.every` is set: it asks every
  `reconcile_check` whether that long has passed since the last one, and then
  reads what the polls missed into the inbox (sync.reconcile);
- the SLA sweep, every minute, when the daemon was given one;
- the schema gate's check (daemon.schema), until both systems hold what the mappings
  need: the jobs above that read, decide or write wait for it.

uvicorn serves the webhook app (leadbridge.webhooks) in a thread: webhooks only
verify, store a hint and nudge, so pushed and polled changes take one path. With an
admin port (daemon.admin), /readyz and /metrics move to a second server on it.

Every job first reads the pause switch (daemon.pause): while a person paused the sync,
nothing is read, decided or written on any replica; webhooks are still stored. On
resume the polls and the inbox job run at once.

Several replicas may share one PostgreSQL store. Every replica serves webhooks
and stores hints, but polls, deciding and writing run only on the replica
holding the "sync" lease, and the sweep only on the one holding "sweep"
(daemon.lease: 30 s leases, renewed every 5 s, work fenced at every
transaction). One writer because identity resolution reaches across leads: a
new record is matched by email against every other lead's records, and the
twin check (do not create a Salesforce Lead while a HubSpot contact with that
email waits in the inbox) looks at items no lock covers. Two deciders could
each conclude "no one has this email" and create the same person twice. The
inbox claims still use FOR UPDATE SKIP LOCKED in order per lead, so a holder
change mid-round can never hand one item to two deciders.

Stopping (SIGTERM or SIGINT): no new job starts and the HTTP server stops
accepting; the batch in flight finishes; if it has not within `grace`, the
leases stop counting as held, so the batch stops at its next transaction (what
it decided is in the write log, for whoever holds the lease next); the leases
are given back only once nothing runs, then the daemon returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from starlette.applications import Starlette

from leadbridge.connectors.hubspot.settings import Push as HubSpotPush
from leadbridge.daemon.admin import WithoutInternal
from leadbridge.daemon.health import Board
from leadbridge.daemon.http import HttpServer, StoreReceiver
from leadbridge.daemon.jobs import Jobs, Sweep
from leadbridge.daemon.lease import (
    FOLLOW_EVERY,
    MARGIN,
    RENEW_EVERY,
    SWEEP,
    SYNC,
    TTL,
    LeaseKeeper,
    LeaseLost,
    holder_id,
)
from leadbridge.daemon.nudge import Nudger
from leadbridge.daemon.pause import PauseWatch
from leadbridge.daemon.schema import SchemaGate
from leadbridge.model import System
from leadbridge.sync.pipeline import Pipeline
from leadbridge.sync.reconcile import can_reconcile
from leadbridge.telemetry.metrics import Metrics
from leadbridge.webhooks import SalesforceHooks, create_app

__all__ = ["Daemon", "DaemonSettings", "Sweep", "poll_job", "reconcile_job"]

_INBOX = "inbox"
_SWEEP_JOB = "sweep"
_SCHEMA_JOB = "schema"
_SCHEMA_TICK = 5.0  # seconds; the gate itself decides when a check is due

_log = structlog.get_logger(__name__)


def poll_job(system: System) -> str:
    return f"poll-{system.value}"


def reconcile_job(system: System) -> str:
    return f"reconcile-{system.value}"


@dataclass(frozen=True)
class DaemonSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    # /readyz and /metrics on this port instead (daemon.admin); None: all on `port`.
    admin_port: int | None = None
    serve_http: bool = True
    poll_every: Mapping[System, float] = field(default_factory=dict)  # seconds, per connector
    inbox_every: float = 2.0
    # Seconds between reconciliations, per connector that can (none: no job); the job asks
    # every `reconcile_check` whether one is due, so a restart never postpones it.
    reconcile_every: Mapping[System, float] = field(default_factory=dict)
    reconcile_check: float = 3600.0
    sweep_every: float = 60.0
    jitter: float = 0.1  # a job's start moves by up to this share of its interval (5 s at most)
    nudge_delay: float = 0.05  # a burst of webhooks within this long makes one run
    lease_ttl: float = TTL
    renew_every: float = RENEW_EVERY
    follow_every: float = FOLLOW_EVERY
    lease_margin: float = MARGIN
    grace: float = 6.0  # after SIGTERM, how long the batch in flight may take to finish
    hubspot_push: HubSpotPush | None = None
    salesforce_hooks: SalesforceHooks | None = None


class Daemon:
    def __init__(
        self,
        pipeline: Pipeline,
        settings: DaemonSettings,
        *,
        metrics: Metrics | None = None,
        sweep: Sweep | None = None,
        holder: str | None = None,
        gate: SchemaGate | None = None,
    ) -> None:
        """`gate`: what both systems must hold before anything is decided or written
        (daemon.schema); without one, the caller vouches that they hold it."""
        self.pipeline = pipeline
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.sweep = sweep
        self.leases = LeaseKeeper(
            pipeline.store,
            holder or holder_id(),
            (SYNC, SWEEP) if sweep is not None else (SYNC,),
            ttl=settings.lease_ttl,
            renew_every=settings.renew_every,
            follow_every=settings.follow_every,
            margin=settings.lease_margin,
            on_gained=self._gained,
        )
        for name in self.leases.names:  # for the "no lease holder" alert (deploy/prometheus)
            held = partial(lambda lease: float(self.leases.holds(lease)), name)
            self.metrics.lease_held.labels(lease=name).set_function(held)
        # On resume the polls and the inbox job run at once: the sync catches up.
        pause = PauseWatch(pipeline.store, self.metrics, on_resumed=partial(self.run_now, SYNC))
        self.board = Board(
            pipeline.store,
            pipeline.connectors,
            self.metrics,
            pipeline.clock,
            gate=gate,
            pause=pause,
        )
        self.nudger = Nudger(self._wake_inbox, delay=settings.nudge_delay)
        self._stopping = threading.Event()
        self.jobs = Jobs(pipeline, self.leases, self.board, self.nudger, self._stopping, sweep)
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(len(pipeline.connectors) + 3)},
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )
        self._running = 0
        self._idle = threading.Condition()
        self.http: HttpServer | None = None
        self.admin: HttpServer | None = None

    @property
    def holder(self) -> str:
        return self.leases.holder

    @property
    def running(self) -> int:
        """Jobs in flight now."""
        with self._idle:
            return self._running

    def start(self) -> None:
        """Listen first (a port in use fails before any lease is taken), then take the leases
        and start the jobs."""
        _quiet_skips()
        self._listen()
        try:
            self.leases.start()
            now = datetime.now(UTC)
            on_ready = partial(self.run_now, SYNC)
            self._add(_SCHEMA_JOB, partial(self.jobs.schema, on_ready), _SCHEMA_TICK, now)
            for system in self.pipeline.connectors:
                every = self.settings.poll_every.get(system, 60.0)
                self._add(poll_job(system), partial(self.jobs.poll, system), every, now, system)
            self._add_reconciliations(now)
            self._add(_INBOX, self.jobs.inbox, self.settings.inbox_every, now)
            if self.sweep is not None:
                self._add(_SWEEP_JOB, self.jobs.sweep, self.settings.sweep_every, now)
            self.scheduler.start()
        except BaseException:
            self.stop()
            raise
        _log.info(
            "started",
            holder=self.holder,
            polls={
                s.value: self.settings.poll_every.get(s, 60.0) for s in self.pipeline.connectors
            },
            hubspot_webhooks=bool(
                self.settings.hubspot_push and self.settings.hubspot_push.enabled
            ),
            salesforce_outbound_messages=self.settings.salesforce_hooks is not None,
            sla_sweep=self.sweep is not None,
        )

    def run(self, stop: threading.Event) -> bool:
        """Start, serve until `stop` is set, stop; True when the shutdown was clean."""
        self.start()
        while not stop.wait(1.0):
            pass
        return self.stop()

    def stop(self) -> bool:
        """Finish the batch in flight and give the leases back; False when a batch was still
        running at the deadline (the leases are then left to expire, not released)."""
        started = time.monotonic()
        self._stopping.set()
        self.nudger.disable()
        _log.info("stopping", running=self._running)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for server in self._servers():
            server.begin_stop()
        idle = self._wait_idle(started + self.settings.grace)
        if not idle:
            _log.warning("the batch in flight did not finish in time; stopping it at its next step")
            self.leases.close()
            idle = self._wait_idle(started + self.settings.grace + 1.5)
        if idle:
            self.leases.release()
        else:
            self.leases.abandon()
        self._say_gone()
        for server in self._servers():
            server.join(max(started + self.settings.grace + 2.0 - time.monotonic(), 0.5))
        _log.info("stopped", clean=idle, seconds=round(time.monotonic() - started, 2))
        return idle

    # ---- jobs -------------------------------------------------------------------------

    def _add(
        self,
        job_id: str,
        body: Callable[[], None],
        every: float,
        first: datetime,
        system: System | None = None,
    ) -> None:
        jitter = min(every * self.settings.jitter, 5.0)
        trigger = IntervalTrigger(seconds=max(every, 0.1), jitter=jitter or None, timezone=UTC)
        self.scheduler.add_job(
            self._job(job_id, body, system), trigger, id=job_id, name=job_id, next_run_time=first
        )

    def _add_reconciliations(self, now: datetime) -> None:
        check = self.settings.reconcile_check
        for system, every in self.settings.reconcile_every.items():
            if every > 0 and can_reconcile(self.pipeline, system):
                body = partial(self.jobs.reconcile, system, every)
                first = now + timedelta(seconds=min(check, every))  # the polls go first
                self._add(reconcile_job(system), body, min(check, every), first, system)

    def _job(
        self, job_id: str, body: Callable[[], None], system: System | None
    ) -> Callable[[], None]:
        bound = {"job": job_id} | ({"system": system.value} if system is not None else {})

        def run() -> None:
            if self._stopping.is_set():
                return
            with self._in_flight(), structlog.contextvars.bound_contextvars(**bound):
                try:
                    body()
                except LeaseLost as lost:
                    _log.info("leased work stopped", reason=str(lost))
                except Exception:
                    _log.exception("job failed")

        return run

    # ---- nudges, leases, shutdown ----------------------------------------------------

    def _wake_inbox(self, delay: float) -> None:
        if self._stopping.is_set() or not self.scheduler.running:
            return
        when = datetime.now(UTC) + timedelta(seconds=delay)
        try:
            self.scheduler.modify_job(_INBOX, next_run_time=when)
        except Exception as exc:  # the scheduler shut down between the check and here
            _log.debug("nudge dropped", error=str(exc))

    def _gained(self, lease: str) -> None:
        """A takeover starts at once rather than at the jobs' next intervals."""
        self.run_now(lease)

    def run_now(self, lease: str = SYNC) -> None:
        """Run the jobs of `lease` (the polls and the inbox job, or the sweep) at once."""
        if not self.scheduler.running or self._stopping.is_set():
            return
        now = datetime.now(UTC)
        jobs = (
            [_SWEEP_JOB] if lease == SWEEP else [*map(poll_job, self.pipeline.connectors), _INBOX]
        )
        for job_id in jobs:
            try:
                self.scheduler.modify_job(job_id, next_run_time=now)
            except JobLookupError:  # the sweep, when the daemon runs none
                continue

    @contextmanager
    def _in_flight(self) -> Iterator[None]:
        with self._idle:
            self._running += 1
        try:
            yield
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def _wait_idle(self, deadline: float) -> bool:
        with self._idle:
            while self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _listen(self) -> None:
        """The webhook server, and the admin server when there is an admin port; a port that
        cannot be had fails here, with nothing left listening."""
        settings = self.settings
        if not settings.serve_http:
            return
        if settings.admin_port is None:
            self.http = HttpServer(self._app(), settings.host, settings.port)
            self.http.start()
            return
        self.http = HttpServer(WithoutInternal(self._app()), settings.host, settings.port)
        try:
            # No webhook endpoint here: both are 404 without their settings.
            self.admin = HttpServer(self._app(webhooks=False), settings.host, settings.admin_port)
            self.http.start()
        except BaseException:
            for server in self._servers():
                server.close()
            self.http = self.admin = None
            raise
        try:
            self.admin.start()
        except BaseException:
            self.http.begin_stop()
            self.http.join(2.0)
            self.http = self.admin = None
            raise

    def _say_gone(self) -> None:
        """`leadbridge status` lists this replica no more."""
        try:
            with self.pipeline.store.transaction() as uow:
                uow.replicas.gone(self.holder)
        except Exception as exc:  # the store is down: the row ages out (store.replicas)
            _log.debug("could not say gone", error=str(exc))

    def _servers(self) -> list[HttpServer]:
        return [server for server in (self.http, self.admin) if server is not None]

    def _app(self, *, webhooks: bool = True) -> Starlette:
        return create_app(
            StoreReceiver(self.pipeline.store, self.nudger.nudge),
            hubspot=self.settings.hubspot_push if webhooks else None,
            salesforce=self.settings.salesforce_hooks if webhooks else None,
            readiness=self.board.readiness,
            metrics=self.metrics,
            clock=self.pipeline.clock,
        )


class _ExpectedSkip(logging.Filter):
    """A tick of a job still running is skipped by design (max_instances=1, coalesced); with a
    long batch APScheduler would warn about it every few seconds."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


def _quiet_skips() -> None:
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _ExpectedSkip) for f in scheduler_log.filters):
        scheduler_log.addFilter(_ExpectedSkip())
