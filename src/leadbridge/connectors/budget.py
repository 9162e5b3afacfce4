"""The budget governor: spend a system's API limits without ever tripping them.

HubSpot refuses the 191st call in ten seconds and every app on the portal
shares that window; Salesforce's daily allocation is shared by every
integration of the org, so burning it takes the whole org down. A governor
per system paces calls under the rolling window (with headroom for the other
apps) and stops at a configured share of the daily allocation, like the
native connector's "allocated to HubSpot" cap. At the cap it pauses and says
so through `health`; it never fails a record: the work waits for the next day.

What the service reports in its headers wins over our own count, because
other clients spend the same budget.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


class BudgetPaused(Exception):
    """The daily share is spent: stop this cycle, keep the work, try again after the reset."""

    def __init__(self, used: int, allowed: int) -> None:
        super().__init__(f"daily API budget spent: {used} of {allowed} calls allowed to leadbridge")
        self.used = used
        self.allowed = allowed


@dataclass(frozen=True)
class BudgetState:
    window_used: int
    window_limit: int | None
    daily_used: int
    daily_allowed: int | None
    paused: bool


class Governor:
    """Paces calls for one system. Thread-safe; `acquire()` before every remote call."""

    def __init__(
        self,
        *,
        window_limit: int | None,
        window_seconds: float = 10.0,
        headroom: float = 0.9,
        daily_limit: int | None = None,
        daily_share: float = 1.0,
        day_seconds: float = 86_400.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < headroom <= 1 or not 0 < daily_share <= 1:
            raise ValueError("headroom and daily_share are fractions in (0, 1]")
        self.window_limit = None if window_limit is None else max(int(window_limit * headroom), 1)
        self.window_seconds = window_seconds
        self._daily_share = daily_share
        self.daily_allowed = None if daily_limit is None else int(daily_limit * daily_share)
        self._day_seconds = day_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()
        self._daily_used = 0
        self._day_started = clock()
        self.waited = 0.0  # seconds spent pacing, for metrics

    def acquire(self) -> None:
        """Blocks until a call fits in the window; raises BudgetPaused at the daily cap."""
        while True:
            with self._lock:
                now = self._clock()
                self._roll_day(now)
                if self.daily_allowed is not None and self._daily_used >= self.daily_allowed:
                    raise BudgetPaused(self._daily_used, self.daily_allowed)
                wait = self._window_wait(now)
                if wait <= 0:
                    self._calls.append(now)
                    self._daily_used += 1
                    return
            self.waited += wait
            self._sleep(wait)

    def observe(
        self,
        *,
        window_used: int | None = None,
        daily_used: int | None = None,
        daily_limit: int | None = None,
    ) -> None:
        """Folds in what the service reported (rate-limit headers, Sforce-Limit-Info)."""
        with self._lock:
            if daily_limit is not None:
                self.daily_allowed = int(daily_limit * self._daily_share)
            if daily_used is not None:
                # The service's count is the truth: it includes the org's other
                # integrations, and it drops when the service's own day resets.
                self._daily_used = daily_used
            if window_used is not None and self.window_limit is not None:
                # Other apps spent part of the shared window: count their calls as ours.
                now = self._clock()
                self._expire(now)
                for _ in range(window_used - len(self._calls)):
                    self._calls.append(now)

    def state(self) -> BudgetState:
        with self._lock:
            now = self._clock()
            self._roll_day(now)
            self._expire(now)
            paused = self.daily_allowed is not None and self._daily_used >= self.daily_allowed
            return BudgetState(
                len(self._calls), self.window_limit, self._daily_used, self.daily_allowed, paused
            )

    def _expire(self, now: float) -> None:
        while self._calls and self._calls[0] <= now - self.window_seconds:
            self._calls.popleft()

    def _window_wait(self, now: float) -> float:
        if self.window_limit is None:
            return 0.0
        self._expire(now)
        if len(self._calls) < self.window_limit:
            return 0.0
        return self._calls[0] + self.window_seconds - now + 0.001

    def _roll_day(self, now: float) -> None:
        if now - self._day_started >= self._day_seconds:
            self._day_started = now
            self._daily_used = 0
