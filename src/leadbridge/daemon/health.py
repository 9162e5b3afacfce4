"""What /readyz and /metrics say: readiness probed on demand, figures from each job's Summary.

Ready means "can take webhooks": the store answers a trivial query (within
_PROBE_TIMEOUT, so a hung database makes /readyz say so instead of hanging with it).
A webhook only stores a hint, so a CRM outage, a missing field (daemon.schema), a spent
budget or a pause (daemon.pause) must not take a replica out of its Service: records
would stop arriving exactly when they pile up. Those are listed in /readyz's checks,
each "ok" or one plain line (an HTML error page reduced to its title), have their own
metrics (leadbridge_crm_up, leadbridge_paused, ...), and reach Slack through the health
sweep. Readiness is logged when it changes, not on every probe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog

from leadbridge.connectors.base import Connector
from leadbridge.daemon.pause import PauseWatch
from leadbridge.daemon.schema import SchemaGate
from leadbridge.model import System
from leadbridge.store import Store
from leadbridge.sync.pipeline import Summary
from leadbridge.telemetry.logs import redactor
from leadbridge.telemetry.metrics import Metrics
from leadbridge.telemetry.plain import one_line
from leadbridge.webhooks import Readiness

_PROBE_TIMEOUT = 2.0
_OK = "ok"

_log = structlog.get_logger(__name__)


def _probe_store(store: Store, timeout: float = _PROBE_TIMEOUT) -> str:
    """OK, or why the store did not answer SELECT 1 within `timeout` seconds."""
    answer: list[str] = []

    def ask() -> None:
        try:
            # A read that never waits for the sync's write lock (SQLite's BEGIN IMMEDIATE).
            with store.reading() as uow:
                uow.connection.execute(sa.text("SELECT 1"))
            answer.append(_OK)
        except Exception as exc:
            answer.append(f"unreachable: {type(exc).__name__}: {_first_line(exc)}")

    # A thread of its own: a connect that hangs must not hold up /readyz, nor a pool worker.
    thread = threading.Thread(target=ask, name="probe-store", daemon=True)
    thread.start()
    thread.join(timeout)
    return answer[0] if answer else f"unreachable: no answer within {timeout:g} s"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


class Board:
    """Readiness and metrics for one daemon. Thread-safe: jobs report, the HTTP thread reads."""

    def __init__(
        self,
        store: Store,
        connectors: Mapping[System, Connector],
        metrics: Metrics,
        clock: Callable[[], datetime],
        *,
        gate: SchemaGate | None = None,
        pause: PauseWatch | None = None,
        probe_timeout: float = _PROBE_TIMEOUT,
    ) -> None:
        self._store = store
        self.gate = gate or SchemaGate.passed()
        self.pause = pause or PauseWatch(store, metrics)
        self._connectors = connectors
        self.metrics = metrics
        self._clock = clock
        self._probe_timeout = probe_timeout
        self._lock = threading.Lock()
        self._paused: dict[str, str] = {}  # job -> why its last run stopped at a budget
        self._last_poll: dict[System, datetime] = {}
        self._polled: set[System] = set()  # polled in this process (to its end or a budget)
        self._ready: bool | None = None
        self._failing: set[str] = set()  # the checks not ok at the last probe
        self._last_cycle: dict[str, Any] | None = None  # the inbox job's last run, for status

    @property
    def paused(self) -> str | None:
        with self._lock:
            return "; ".join(sorted(set(self._paused.values()))) or None

    def polled(self, system: System, summary: Summary) -> None:
        """A poll of `system` finished (summary.paused: it stopped at a spent budget)."""
        self.metrics.changes_read.labels(system=system.value).inc(summary.changes_read)
        with self._lock:
            self._polled.add(system)
            if summary.paused is None:
                self._last_poll[system] = self._clock()
        self._set_paused(f"poll-{system.value}", summary.paused)
        self._gauges()

    @property
    def polled_all(self) -> bool:
        """Whether every system's poll ran in this process (to its end, or to a spent budget:
        waiting a day for the budget's reset would hold the other system's changes too)."""
        with self._lock:
            return self._polled >= set(self._connectors)

    def reconciled(self, system: System, new: int, paused: str | None) -> None:
        """A reconciliation of `system` finished: `new` changes the polls had missed."""
        self.metrics.reconciled.labels(system=system.value).inc(new)
        self._set_paused(f"reconcile-{system.value}", paused)
        self._gauges()

    def processed(self, summary: Summary, *, pushed: Mapping[System, int]) -> None:
        """The inbox job finished: read hints (`pushed` by system), decided, wrote."""
        for system, count in pushed.items():
            self.metrics.changes_read.labels(system=system.value).inc(count)
        for system, count in summary.written.items():
            if count:
                self.metrics.writes.labels(system=system.value, outcome="ok").inc(count)
        for system, count in summary.refused.items():
            if count:
                self.metrics.writes.labels(system=system.value, outcome="parked").inc(count)
        self._set_paused("inbox", summary.paused)
        self._gauges()
        with self._lock:
            self._last_cycle = {
                "at": self._clock().isoformat(),
                "changes_read": summary.changes_read + sum(pushed.values()),
                "leads_decided": summary.leads_decided,
                "transitions": summary.transitions,
                "written": {s.value: n for s, n in summary.written.items()},
                "parked": {s.value: n for s, n in summary.refused.items()},
                "stopped": summary.paused,
            }

    def snapshot(self) -> dict[str, Any]:
        """What `leadbridge status` shows of this replica (store.replicas): its last cycle,
        each system's API budget and health, the schema gate. JSON-ready."""
        systems: dict[str, Any] = {}
        for system, connector in self._connectors.items():
            health = connector.health()
            budget = health.budget
            systems[system.value] = {
                "up": health.healthy or health.paused,
                "detail": "ok" if health.healthy else one_line(redactor().scrub(health.detail)),
                "used_today": None if budget is None else budget.daily_used,
                "allowed_today": None if budget is None else budget.daily_allowed,
                "budget_paused": health.paused,
            }
        with self._lock:
            last = dict(self._last_cycle) if self._last_cycle is not None else None
        return {"systems": systems, "last_cycle": last, "schema": self.gate.status()}

    def depth(self, pending: int, parked: int, oldest: datetime | None = None) -> None:
        """The inbox's pending items (`oldest` enqueued when) and the parked records."""
        now = self._clock()
        self.metrics.inbox_depth.set(pending)
        self.metrics.parked.set(parked)
        with self._lock:
            polls = dict(self._last_poll)
        # Lag: how long the oldest waiting item has waited; with none waiting, the view is
        # as old as the oldest poll.
        if pending and oldest is not None:
            lag = (now - oldest).total_seconds()
        elif not pending and len(polls) == len(self._connectors):
            lag = (now - min(polls.values())).total_seconds()
        else:
            return
        self.metrics.sync_lag_seconds.set(max(lag, 0.0))

    def _set_paused(self, job: str, reason: str | None) -> None:
        with self._lock:
            changed = reason != self._paused.get(job)
            if reason is None:
                self._paused.pop(job, None)
            else:
                self._paused[job] = reason
        if changed and reason is not None:
            _log.warning("sync paused", job=job, reason=reason)
        elif changed:
            _log.info("sync resumed", job=job)

    def _gauges(self) -> None:
        """Each system's up gauge and budget left, from what its last calls said."""
        for system, connector in self._connectors.items():
            health = connector.health()
            # A spent budget is no outage: it has its own gauge and its own reset.
            self.metrics.crm_up.labels(system=system.value).set(
                1 if health.healthy or health.paused else 0
            )
            budget = health.budget
            if budget is None or not budget.daily_allowed:
                continue
            left = max(1.0 - budget.daily_used / budget.daily_allowed, 0.0)
            self.metrics.budget_left.labels(system=system.value).set(left)

    def readiness(self) -> Readiness:
        """Ready when the store answers; every check listed, "ok" or one plain line."""
        store = _probe_store(self._store, self._probe_timeout)
        checks: dict[str, str] = {"store": store}
        for system, connector in self._connectors.items():
            health = connector.health()
            checks[system.value] = _OK if health.healthy else health.detail
        checks["schema"] = self.gate.status()
        paused = self.paused
        checks["budget"] = _OK if paused is None else f"paused: {paused}"
        checks["pause"] = self._pause_status() if store == _OK else _OK
        self._gauges()
        # /readyz is unauthenticated and the health alerts go to Slack: an error's text may
        # quote a URL or a header, so it passes the log redactor first.
        scrub = redactor().scrub
        checks = {
            name: value if value == _OK else one_line(scrub(value))
            for name, value in checks.items()
        }
        ready = checks["store"] == _OK
        self._say(ready, {name: value for name, value in checks.items() if value != _OK})
        return Readiness(ready, checks)

    def _say(self, ready: bool, failing: dict[str, str]) -> None:
        """Log when readiness or the set of failing checks changes, not on every probe."""
        with self._lock:
            changed = ready != self._ready or set(failing) != self._failing
            self._ready, self._failing = ready, set(failing)
        if not changed:
            return
        if not ready:
            _log.warning("not ready", **failing)
        elif failing:
            # Webhooks are still taken; what cannot go on is named, once per change.
            _log.warning("ready, with checks failing", **failing)
        else:
            _log.info("ready")

    def _pause_status(self) -> str:
        try:
            pause = self.pause.check()
        except Exception as exc:  # the store went away since the probe: say so, not 500
            return f"unknown: {type(exc).__name__}: {_first_line(exc)}"
        return _OK if pause is None else f"{pause.line()}; webhooks are stored"
