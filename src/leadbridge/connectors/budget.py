"""The budget governor: spend a system's API limits without ever tripping them.

HubSpot refuses the 191st call in ten seconds and every app on the portal
shares that window; a Salesforce org's (a HubSpot portal's) daily allocation is
shared by all its integrations, so burning it takes the whole account down. A
governor per system paces calls under the rolling window (with headroom for the
other apps) and pauses at a daily limit. Paused, it says so through `health`;
it never fails a record: the work waits.

Two daily limits, because a service's usage header counts everyone:

- `own_daily_cap` (or `own_daily_share` of the service's allocation) caps the
  calls this governor let through itself: its own count, never the header's.
- `org_floor` is a floor of the service's remaining calls (from the header):
  below it leadbridge pauses so the other integrations keep room. A busy org
  or portal does not pause leadbridge until the floor is crossed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# A paused governor forgets the service's count after this long, so one call can read
# the header again: the real allocation rolls over 24 hours, not at one instant.
ORG_READING_SECONDS = 900.0


class BudgetPaused(Exception):
    """A daily limit is reached: stop this cycle, keep the work, try again after the reset.
    `reason` says which limit, in words a person can act on."""

    def __init__(self, used: int, allowed: int, reason: str | None = None) -> None:
        reason = (
            reason or f"daily API budget spent: {used} of {allowed} calls allowed to leadbridge"
        )
        super().__init__(reason)
        self.used = used
        self.allowed = allowed
        self.reason = reason


@dataclass(frozen=True)
class BudgetState:
    window_used: int
    window_limit: int | None
    daily_used: int  # leadbridge's own calls today
    daily_allowed: int | None  # leadbridge's own cap
    paused: bool
    reason: str | None = None  # which limit paused it, when paused
    org_used: int | None = None  # the service's count of everyone's calls, as last reported
    org_limit: int | None = None
    org_floor: int | None = None


class Governor:
    """Paces calls for one system. Thread-safe; `acquire()` before every remote call."""

    def __init__(
        self,
        *,
        window_limit: int | None,
        window_seconds: float = 10.0,
        headroom: float = 0.9,
        daily_limit: int | None = None,
        own_daily_cap: int | None = None,
        own_daily_share: float | None = None,
        org_floor: int | None = None,
        whole: str = "the org",
        floor_setting: str = "budget.min_org_calls_left",
        day_seconds: float = 86_400.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`own_daily_cap` (or `own_daily_share` of the service's allocation) caps our own
        count; the service's remaining calls must stay at or above `org_floor` (and above
        zero). `whole` ("the org", "the portal") and `floor_setting` (the key that sets
        `org_floor`) word the pause reasons for the service's admin."""
        share = 1.0 if own_daily_share is None else own_daily_share
        if not 0 < headroom <= 1 or not 0 < share <= 1:
            raise ValueError("headroom and own_daily_share are fractions in (0, 1]")
        self.window_limit = None if window_limit is None else max(int(window_limit * headroom), 1)
        self.window_seconds = window_seconds
        self._own_cap = own_daily_cap
        self._own_share = own_daily_share
        self._org_floor = org_floor
        self._whole = whole
        self._floor_setting = floor_setting
        self._org_limit = daily_limit
        self._org_used: int | None = None
        self._org_seen = 0.0
        self.daily_allowed = self._allowed()
        self._day_seconds = day_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()
        self._daily_used = 0
        self._day_started = clock()
        self.waited = 0.0  # seconds spent pacing, for metrics

    def acquire(self) -> None:
        """Blocks until a call fits in the window; raises BudgetPaused at a daily limit."""
        while True:
            with self._lock:
                now = self._clock()
                self._roll_day(now)
                reason = self._pause_reason(now)
                if reason is not None:
                    raise BudgetPaused(self._daily_used, self.daily_allowed or 0, reason)
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
                self._org_limit = daily_limit
                self.daily_allowed = self._allowed()
            if daily_used is not None:
                # Everyone's calls: checked against the floor, never against our own cap.
                self._org_used = daily_used
                self._org_seen = self._clock()
            if window_used is not None and self.window_limit is not None:
                # Other apps spent part of the shared window: count their calls as ours. The
                # service counted at the call's arrival; our calls are compared as the call's
                # acquire() left them, not expired again now: a slow answer would otherwise
                # take our own burst, still in the service's window, for other apps' calls
                # stamped now, and make the next call wait out a whole window again.
                now = self._clock()
                for _ in range(window_used - len(self._calls)):
                    self._calls.append(now)

    def org_spent(self) -> BudgetPaused:
        """The service refused a call because its whole allocation is spent: note it (the
        next calls pause here instead of being refused there) and say so."""
        with self._lock:
            self._org_seen = self._clock()
            if self._org_limit is not None:
                self._org_used = max(self._org_used or 0, self._org_limit)
            reason = self._pause_reason(self._org_seen) or self._org_reason(None)
            return BudgetPaused(self._daily_used, self.daily_allowed or self._daily_used, reason)

    def state(self) -> BudgetState:
        with self._lock:
            now = self._clock()
            self._roll_day(now)
            self._expire(now)
            reason = self._pause_reason(now)
            fresh = self._org_fresh(now)
            return BudgetState(
                len(self._calls),
                self.window_limit,
                self._daily_used,
                self.daily_allowed,
                reason is not None,
                reason,
                self._org_used if fresh else None,
                self._org_limit,
                self._org_floor,
            )

    def _allowed(self) -> int | None:
        """The cap on our own calls: set outright, or a share of the service's allocation."""
        if self._own_cap is not None:
            return self._own_cap
        if self._own_share is None or self._org_limit is None:
            return None
        return int(self._org_limit * self._own_share)

    def _org_fresh(self, now: float) -> bool:
        return self._org_used is not None and now - self._org_seen < ORG_READING_SECONDS

    def _pause_reason(self, now: float) -> str | None:
        used, allowed = self._daily_used, self.daily_allowed
        if allowed is not None and used >= allowed:
            return (
                f"leadbridge's own daily cap is reached: it made {used} of the {allowed} daily "
                "API calls it may make (budget.max_own_calls_per_day)"
            )
        if self._org_limit is None or not self._org_fresh(now):
            return None
        left = self._org_limit - (self._org_used or 0)
        if left <= 0 or (self._org_floor is not None and left < self._org_floor):
            return self._org_reason(left)
        return None

    def _org_reason(self, left: int | None) -> str:
        own = f"leadbridge itself made {self._daily_used} of them"
        if left is None or left <= 0:
            counts = ""
            if self._org_used is not None and self._org_limit is not None:
                counts = f" ({self._org_used} of {self._org_limit})"
            return (
                f"{self._whole}'s daily API allocation is spent by all its integrations together"
                f"{counts}; {own}"
            )
        return (
            f"{self._whole}'s daily API headroom is below the floor: {left} of its "
            f"{self._org_limit} calls left, fewer than {self._floor_setting} ({self._org_floor}); "
            f"{own}"
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
            self._org_used = None
