"""The org's daily API allocation: every REST call spends one, and says so in `Sforce-Limit-Info`.

The real allocation is a rolling 24 hours; the shared `DailyAllocation` rolls
at UTC midnight of the simulated day, which a test can reach by advancing the
clock. With no limit (None) calls are still counted and reported, never refused.
"""

from __future__ import annotations

from typing import Any

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.ratelimit import DailyAllocation, Verdict
from leadbridge.sandbox.salesforce.errors import SfError

UNLIMITED = 1_000_000_000  # what an allocation that never refuses reports as its Max


class ApiUsage:
    def __init__(self, clock: SimClock, limit: int | None) -> None:
        self.enforced = limit is not None
        self._daily = DailyAllocation(limit if limit is not None else UNLIMITED, clock)

    @property
    def limit(self) -> int:
        return self._daily.limit

    @property
    def used(self) -> int:
        return self._daily.used

    def spend(self) -> Verdict:
        """Counts one call; a refused call does not count (the real org counts it, but briefly
        overshoots instead; either way the client sees 403 until the window rolls)."""
        return self._daily.hit()

    def header(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.used}/{self.limit}"}

    def body(self) -> dict[str, Any]:
        """GET /limits: the allocation as DailyApiRequests, beside the fixed ones an org has."""
        remaining = max(self.limit - self.used, 0)
        return {
            "DailyApiRequests": {"Max": self.limit, "Remaining": remaining},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyWorkflowEmails": {"Max": 2000, "Remaining": 2000},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
            "FileStorageMB": {"Max": 20, "Remaining": 20},
        }


def limit_exceeded() -> SfError:
    return SfError("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", status=403)


def concurrency_exceeded() -> SfError:
    """What an injected rate-limit fault answers: Salesforce never sends 429 for API limits;
    its concurrent long-request limit refuses with this 403 instead."""
    return SfError("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.", status=403)
