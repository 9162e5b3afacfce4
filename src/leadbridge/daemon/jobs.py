"""What each scheduled job does; the daemon (daemon.py) decides when, and stops them.

Nothing is read, decided or written while the schema gate (daemon.schema) says a
system lacks what the mappings need, nor while a person paused the sync (daemon.pause,
read from the store at every tick so every replica honours it); webhooks are still
stored meanwhile.

Leased work runs on `fenced`, the pipeline whose store checks the lease at each
transaction (daemon.lease.FencedStore). The connectors are not thread-safe, so the
jobs that drive them (the polls, the reconciliations and the inbox job) take turns on
one lock; the SLA sweep brings its own clients and does not wait for them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import structlog

from leadbridge.connectors.budget import BudgetPaused
from leadbridge.daemon.health import Board
from leadbridge.daemon.lease import SWEEP, SYNC, FencedStore, LeaseKeeper, LeaseLost
from leadbridge.daemon.nudge import Nudger
from leadbridge.daemon.pause import PausedNow
from leadbridge.daemon.progress import ProgressLog
from leadbridge.model import System
from leadbridge.sync.pipeline import (
    HINTS_PER_READ,
    Pipeline,
    Summary,
    apply_funnel,
    poll,
    process,
    read_hints,
)
from leadbridge.sync.reconcile import reconcile
from leadbridge.sync.redeploy import Stranded

# The SLA sweep, given the time: e.g. a closure over alerts.sweep.sweep and its clients. What
# it returns is only logged; it counts its own alerts (Metrics.alerts_sent).
Sweep = Callable[[datetime], object]

# Seconds between two reports of this replica to the store (store.replicas).
REPORT_EVERY = 10.0

_log = structlog.get_logger(__name__)


class Jobs:
    def __init__(
        self,
        pipeline: Pipeline,
        leases: LeaseKeeper,
        board: Board,
        nudger: Nudger,
        stopping: threading.Event,
        sweep: Sweep | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.leases = leases
        # What the leased jobs run on: each transaction holds only while the lease does.
        self.fenced = replace(pipeline, store=FencedStore(pipeline.store, leases, SYNC))
        self.board = board
        self.nudger = nudger
        self.sweep_with = sweep
        self._stopping = stopping
        self._work = threading.Lock()
        self._stranded = ""  # the last "funnel strands leads" said, to say it once
        self._reported = -REPORT_EVERY  # monotonic time of the last report

    def schema(self, on_ready: Callable[[], None]) -> None:
        """Checks the systems for what the mappings need when a check is due
        (daemon.schema); once they hold it, `on_ready` starts the leased jobs at once."""
        if self.board.gate.tick():
            on_ready()

    def poll(self, system: System) -> None:
        if not self.leases.holds(SYNC):
            _log.debug("skipped: another replica holds the sync lease")
            return
        if not self.board.gate.ready or self.board.pause.check() is not None:
            return  # daemon.schema, daemon.pause: nothing read, decided or written
        summary = Summary()
        started = time.monotonic()
        with self._work:
            if self._stopping.is_set():
                return  # waited for the lock while the daemon began to stop: no new work
            watched = self._watched()
            try:
                poll(watched, summary, watched.store.transaction, only=system)
            except BudgetPaused as paused:
                summary.paused = str(paused)
            self.board.polled(system, summary)  # under the lock: the inbox job asks it
        if summary.changes_read:
            _log.info("polled", changes=summary.changes_read, seconds=_since(started))
            self.nudger.nudge()

    def reconcile(self, system: System, every: float) -> None:
        """Once `every` seconds have passed since the last one: what the polls of `system`
        missed, into the inbox (sync.reconcile). Asked often, it calls nothing until due."""
        if not self.leases.holds(SYNC) or not self.board.gate.ready:
            return
        if self.board.pause.check() is not None:
            return
        started = time.monotonic()
        with self._work:
            if self._stopping.is_set():
                return
            done = reconcile(self.fenced, system, every=every)
        if done is None:
            return
        self.board.reconciled(system, done.new, done.paused)
        _log.info(
            "reconciled",
            system=system.value,
            read=done.read,
            new=done.new,
            echoes=done.echoes,
            seconds=_since(started),
        )
        if done.new:
            self.nudger.nudge()

    def inbox(self) -> None:
        with self.nudger.running():
            # Every replica reads the pause each tick: its /metrics and /readyz show it.
            held = self.board.pause.check() is not None
            if held or not self.leases.holds(SYNC) or not self.board.gate.ready:
                # The shared inbox's depth is known on every replica, and grows with the
                # webhooks stored while the schema gate or a pause holds the sync back.
                self._report_depth()
                return
            summary = Summary()
            started = time.monotonic()
            with self._work:
                # Nothing is decided before both systems were polled once (under this lock,
                # so a poll that ran first counts): a HubSpot contact decided before its
                # Salesforce Lead is in the inbox would get a twin (the twin check looks in
                # the inbox). At start-up the jobs all run at once; which locks first is chance.
                if self._stopping.is_set() or not self.board.polled_all:
                    return
                pushed = self._hinted()
                watched = self._watched()
                try:
                    read_hints(watched, summary)
                    apply_funnel(watched, summary)
                    process(watched, summary, between_rounds=self._go_on)
                except BudgetPaused as paused:
                    summary.paused = str(paused)
                except PausedNow as paused_now:
                    _log.info("stopped between rounds", reason=str(paused_now))
                except Stranded as stranded:
                    # Nothing is decided while leads would be lost in a stage the mappings
                    # dropped; webhooks are still stored, and a fixed mapping goes on.
                    self._say_stranded(str(stranded))
            self.board.processed(summary, pushed=pushed)
            self._report_depth()
            if summary.changes_read or summary.leads_decided or any(summary.written.values()):
                _log.info(
                    "synced",
                    changes=summary.changes_read,
                    leads=summary.leads_decided,
                    transitions=summary.transitions,
                    echoes=summary.echoes,
                    written_hubspot=summary.written.get(System.HUBSPOT, 0),
                    written_salesforce=summary.written.get(System.SALESFORCE, 0),
                    seconds=_since(started),
                )

    def _say_stranded(self, message: str) -> None:
        if message != self._stranded:
            _log.error("funnel strands leads", problem=message)
        self._stranded = message

    def _watched(self) -> Pipeline:
        """The fenced pipeline, logging a progress line every 10 s while a backlog lasts."""
        return replace(self.fenced, on_progress=ProgressLog(self._pending))

    def _pending(self) -> int:
        with self.pipeline.store.reading() as uow:
            return uow.inbox.pending_count()

    def _go_on(self) -> None:
        """Between two rounds of a backlog: stop here, cleanly, on SIGTERM or a lost lease."""
        if self._stopping.is_set():
            raise LeaseLost("stopping: the rest of the inbox waits for the next holder")
        self.leases.check(SYNC)
        pause = self.board.pause.check()
        if pause is not None:
            raise PausedNow(f"{pause.line()}; the rest of the inbox waits for `leadbridge resume`")

    def sweep(self) -> None:
        if self.sweep_with is None or not self.leases.holds(SWEEP):
            return
        result = self.sweep_with(self.pipeline.clock())
        _log.debug("swept", result=result)

    def _hinted(self) -> Counter[System]:
        """Hints about to be read, by system (what the changes-read metric counts them as)."""
        with self.pipeline.store.reading() as uow:
            return Counter(hint.system for hint in uow.hints.take(HINTS_PER_READ * 10))

    def _report_depth(self) -> None:
        with self.pipeline.store.reading() as uow:
            pending, parked = uow.inbox.pending_count(), uow.parked.count()
            oldest = uow.inbox.oldest_pending()
        self.board.depth(pending, parked, oldest)
        self.report()

    def report(self, *, now: bool = False) -> None:
        """Tell the store what only this replica knows (store.replicas), every REPORT_EVERY
        seconds at most; a failure costs the report, never the job."""
        if not now and time.monotonic() - self._reported < REPORT_EVERY:
            return
        self._reported = time.monotonic()
        status = self.board.snapshot()
        try:
            self.pipeline.store.run(lambda uow: uow.replicas.report(self.leases.holder, status))
        except Exception as exc:
            _log.debug("report skipped", error=str(exc))


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)
