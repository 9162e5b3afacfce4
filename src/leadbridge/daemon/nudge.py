"""Debouncing: a burst of nudges (webhooks, a poll that found changes) becomes one early run.

Home Assistant's coordinator rule: a push never runs the sync itself, it asks for
a refresh soon. The first nudge wakes the job after `delay`; nudges until the
job starts add nothing; a nudge while it runs asks for exactly one more run
right after it (that run reads what the running one may have missed), however
many arrive meanwhile, after the same short delay.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum


class _State(Enum):
    IDLE = "idle"
    ARMED = "armed"  # a wake is on its way
    RUNNING = "running"
    AGAIN = "again"  # running, and nudged since it started


class Nudger:
    def __init__(self, wake: Callable[[float], None], *, delay: float = 0.05) -> None:
        """`wake(delay)` asks the scheduler to start the job `delay` seconds from now."""
        self._wake = wake
        self.delay = delay
        self._lock = threading.Lock()
        self._state = _State.IDLE
        self._enabled = True
        self.nudges = 0  # for tests and the logs
        self.wakes = 0
        self.runs = 0

    def nudge(self) -> None:
        with self._lock:
            self.nudges += 1
            if not self._enabled:
                return
            if self._state is _State.RUNNING:
                self._state = _State.AGAIN
                return
            if self._state is not _State.IDLE:
                return
            self._state = _State.ARMED
            self.wakes += 1
        self._wake(self.delay)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Wraps each run of the job, whatever started it (a nudge or its interval)."""
        with self._lock:
            self._state = _State.RUNNING
            self.runs += 1
        try:
            yield
        finally:
            with self._lock:
                again = self._state is _State.AGAIN and self._enabled
                self._state = _State.ARMED if again else _State.IDLE
                if again:
                    self.wakes += 1
            if again:
                # The same debounce as a first nudge: under a stream of pushes each run then
                # takes what arrived meanwhile in one batch, instead of one call per push.
                self._wake(self.delay)

    def disable(self) -> None:
        """Shutting down: nudges are counted but wake nothing."""
        with self._lock:
            self._enabled = False
