"""The simulated clock every sandbox service reads, so a test can jump days ahead."""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime

# Far enough for any story, near enough that every stamp still formats (datetime ends at 9999).
LATEST = datetime(9000, 1, 1, tzinfo=UTC).timestamp()


class SimClock:
    """Wall-clock time plus an offset that only grows.

    Real time keeps flowing (rate-limit windows and token lifetimes behave
    naturally in a live demo) while `advance` lets a story skip to Wednesday.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        base = start.timestamp() if start is not None else time.time()
        self._offset = base - time.time()

    def time(self) -> float:
        """Seconds since the epoch, simulated."""
        with self._lock:
            return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> datetime:
        if not math.isfinite(seconds):
            raise ValueError(f"cannot advance the clock by {seconds}")
        if seconds < 0:
            raise ValueError("the simulated clock never goes back")
        with self._lock:
            if time.time() + self._offset + seconds >= LATEST:
                raise ValueError("the simulated clock cannot go past the year 9000")
            self._offset += seconds
        return self.now()


def iso_millis(moment: datetime) -> str:
    """HubSpot's and Salesforce's REST timestamp: ISO-8601 UTC with milliseconds and Z."""
    return _to_millis(moment) + "Z"


def sf_datetime(moment: datetime) -> str:
    """Salesforce's REST datetime form: 2026-01-01T00:00:00.000+0000."""
    return _to_millis(moment) + "+0000"


def _to_millis(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}"
