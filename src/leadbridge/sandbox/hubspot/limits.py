"""HubSpot's request limits: ten-secondly rolling, daily, and search's own per-second limit."""

from __future__ import annotations

from starlette.responses import Response

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.http import JSON
from leadbridge.sandbox.hubspot.errors import Correlator, rate_limit_body
from leadbridge.sandbox.ratelimit import DailyAllocation, RollingWindow

WINDOW_SECONDS = 10.0
# A private app's limits by the portal's subscription: (per ten seconds, per day).
TIERS: dict[str, tuple[int, int]] = {
    "starter": (100, 250_000),  # Free and Starter
    "professional": (190, 650_000),  # Professional and Enterprise
    "capacity_pack": (250, 1_000_000),  # with the API limit increase
}


def tier_limits(tier: str) -> dict[str, int]:
    """HubSpotSim keyword arguments for a subscription tier, e.g. `**tier_limits("starter")`."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; expected one of {sorted(TIERS)}")
    per_ten_seconds, per_day = TIERS[tier]
    return {"ten_second_limit": per_ten_seconds, "daily_limit": per_day}


class Limits:
    """A limit of None is off (the benchmark runs that way); its headers are then absent too."""

    def __init__(
        self,
        clock: SimClock,
        correlate: Correlator,
        *,
        ten_second_limit: int | None,
        daily_limit: int | None,
        search_per_second: int | None,
    ) -> None:
        self._correlate = correlate
        self.window = (
            RollingWindow(ten_second_limit, WINDOW_SECONDS, clock) if ten_second_limit else None
        )
        self.daily = DailyAllocation(daily_limit, clock) if daily_limit else None
        self.search = RollingWindow(search_per_second, 1.0, clock) if search_per_second else None

    def admit(self, *, search: bool) -> tuple[Response | None, dict[str, str]]:
        """(a 429 to answer instead, or None; the headers the answer carries)."""
        if search:
            # Search answers carry no rate-limit headers, refused or not.
            if self.search is not None and not self.search.hit().allowed:
                return self._refuse("SECONDLY", {}), {}
            if self.daily is not None and not self.daily.hit().allowed:
                return self._refuse("DAILY", {}), {}
            return None, {}
        headers: dict[str, str] = {}
        if self.window is not None:
            verdict = self.window.hit()
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(int(WINDOW_SECONDS * 1000))
            headers["X-HubSpot-RateLimit-Max"] = str(verdict.limit)
            headers["X-HubSpot-RateLimit-Remaining"] = str(verdict.remaining)
            if not verdict.allowed:
                self._daily_headers(headers, self.daily.used if self.daily else 0)
                return self._refuse("TEN_SECONDLY_ROLLING", headers), headers
        if self.daily is not None:
            daily = self.daily.hit()
            headers["X-HubSpot-RateLimit-Daily"] = str(daily.limit)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(daily.remaining)
            if not daily.allowed:
                return self._refuse("DAILY", headers), headers
        return None, headers

    def current_headers(self) -> dict[str, str]:
        """For a 429 the fault injector invents: the counters as they stand, nothing spent."""
        headers: dict[str, str] = {}
        if self.window is not None:
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(int(WINDOW_SECONDS * 1000))
            headers["X-HubSpot-RateLimit-Max"] = str(self.window.limit)
            headers["X-HubSpot-RateLimit-Remaining"] = "0"
        self._daily_headers(headers, self.daily.used if self.daily else 0)
        return headers

    def _daily_headers(self, headers: dict[str, str], used: int) -> None:
        if self.daily is not None:
            headers["X-HubSpot-RateLimit-Daily"] = str(self.daily.limit)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(self.daily.limit - used, 0))

    def _refuse(self, policy: str, headers: dict[str, str]) -> Response:
        return JSON(rate_limit_body(policy, self._correlate()), status_code=429, headers=headers)
