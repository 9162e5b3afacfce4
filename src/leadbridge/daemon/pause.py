"""The pause switch as the daemon sees it: read from the store at every job tick.

`leadbridge pause` is a row in the shared store (store.switches), not a signal to a
process, so every replica honours it within one tick of its jobs (the inbox job ticks
every few seconds), a replica started while paused starts paused, and nothing needs
telling. While paused, nothing is read from, decided for or written to HubSpot and
Salesforce, as under the schema gate (daemon.schema); webhooks are still stored. On
resume the polls and the inbox job run at once, from the saved cursors: they catch up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from leadbridge.store import Store
from leadbridge.store.switches import Pause
from leadbridge.telemetry.metrics import Metrics

_log = structlog.get_logger(__name__)


class PausedNow(Exception):
    """A backlog stops between two rounds: a person paused the sync meanwhile."""


def read_pause(store: Store) -> Pause | None:
    """The pause in force (one primary-key read that never waits for a writer)."""
    with store.reading() as uow:
        return uow.switches.paused()


class PauseWatch:
    """Thread-safe: every job asks `check`; a flip is logged once and shown in /metrics."""

    def __init__(
        self, store: Store, metrics: Metrics, on_resumed: Callable[[], None] = lambda: None
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._on_resumed = on_resumed
        self._lock = threading.Lock()
        self._last: Pause | None = None
        self._known = False  # read at least once

    @property
    def last(self) -> Pause | None:
        """What the last check found (None before the first, or not paused)."""
        with self._lock:
            return self._last

    def check(self) -> Pause | None:
        """The pause in force now; logs and counts a change since the last check."""
        pause = read_pause(self._store)
        with self._lock:
            was, known = self._last, self._known
            self._last, self._known = pause, True
        self._metrics.paused.set(1 if pause is not None else 0)
        if pause is not None and (was is None or not known):
            _log.warning(
                "sync paused by a person",
                by=pause.by,
                why=pause.why,
                effect="webhooks are stored; nothing is read, decided or written until "
                "`leadbridge resume`",
            )
        elif pause is None and was is not None:
            _log.info("sync resumed by a person", paused_by=was.by)
            self._on_resumed()
        return pause
