"""Request counters for the simulated services' limits: a rolling window and a daily allocation."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from leadbridge.sandbox.clock import SimClock

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: float  # seconds until a slot frees; 0 when allowed


class RollingWindow:
    """At most `limit` requests in any `window` seconds (HubSpot's TEN_SECONDLY_ROLLING)."""

    def __init__(self, limit: int, window: float, clock: SimClock) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._stamps and self._stamps[0] <= now - self.window:
            self._stamps.popleft()

    def hit(self) -> Verdict:
        """Count one request if there is room; a refused request does not count."""
        with self._lock:
            now = self._clock.time()
            self._expire(now)
            if len(self._stamps) >= self.limit:
                wait = self._stamps[0] + self.window - now
                return Verdict(False, self.limit, 0, max(wait, 0.0))
            self._stamps.append(now)
            return Verdict(True, self.limit, self.limit - len(self._stamps), 0.0)


class DailyAllocation:
    """A quota per UTC day (the simulated day), refused once spent, as both CRMs do."""

    def __init__(self, limit: int, clock: SimClock) -> None:
        self.limit = limit
        self._clock = clock
        self._day = -1
        self._used = 0
        self._lock = threading.Lock()

    def _roll(self) -> None:
        day = int(self._clock.time() // DAY_SECONDS)
        if day != self._day:
            self._day, self._used = day, 0

    def hit(self) -> Verdict:
        with self._lock:
            self._roll()
            if self._used >= self.limit:
                wait = (self._day + 1) * DAY_SECONDS - self._clock.time()
                return Verdict(False, self.limit, 0, max(wait, 0.0))
            self._used += 1
            return Verdict(True, self.limit, self.limit - self._used, 0.0)

    @property
    def used(self) -> int:
        with self._lock:
            self._roll()
            return self._used
