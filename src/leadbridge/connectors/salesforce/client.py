"""The one way leadbridge calls Salesforce: governed, translated, retried, re-authenticated.

Every REST call is an `attempt` that asks the budget governor first, then
runs on the current simple-salesforce client. Whatever it raises becomes a
`Failure` (status, errorCode, message) and errors.retrying() decides: back
off and retry, refresh the session and retry at once, or give up. Each
response's Sforce-Limit-Info header is folded into the governor, error
answers included, because other integrations spend the same allocation.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
import tenacity
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from leadbridge.connectors.budget import Governor
from leadbridge.connectors.errors import Failure, RemoteError, retrying
from leadbridge.connectors.salesforce.auth import (
    LoginRefused,
    PinnedSession,
    request_token,
)
from leadbridge.connectors.salesforce.settings import SalesforceSettings
from leadbridge.model import System

_log = logging.getLogger(__name__)

_SF = System.SALESFORCE
_T = TypeVar("_T")
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass
class CallStats:
    """What happened around the requests (the requests themselves: `SalesforceClient.sent`)."""

    retries: int = 0  # a request tried again after a failure (each try is another request)
    logins: int = 0  # sessions obtained (each from one or more token requests)


@dataclass(frozen=True)
class RetryTuning:
    """errors.retrying()'s knobs; tests shorten the waits, production keeps the defaults."""

    attempts: int = 8
    base: float = 0.5
    cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    seed: int | None = None


def _failure_of(exc: BaseException) -> Failure:
    """A client exception in the policy table's words."""
    if isinstance(exc, SalesforceError):
        content: Any = exc.content
        first = content[0] if isinstance(content, list) and content else content
        if isinstance(first, dict):
            code = str(first.get("errorCode") or first.get("error") or f"HTTP_{exc.status}")
            message = str(first.get("message") or first.get("error_description") or "")
            return Failure(_SF, exc.status, code, message)
        # An edge proxy's HTML page, not the API's JSON: keep a readable excerpt.
        return Failure(_SF, exc.status, f"HTTP_{exc.status}", str(content)[:200])
    return Failure(_SF, None, type(exc).__name__, str(exc)[:200])


class SalesforceClient:
    """One org's session and client. Thread-safe enough for one sync loop and a health probe."""

    def __init__(
        self,
        settings: SalesforceSettings,
        governor: Governor,
        tuning: RetryTuning | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._clock = clock  # dates JWT assertions
        self.governor = governor
        self.tuning = tuning = tuning or RetryTuning()
        self.stats = CallStats()
        self.last_failure: Failure | None = None  # of the last call that gave up; None if ok
        self.session = PinnedSession(
            settings.ca_bundle, settings.timeout.total_seconds(), self._observe
        )
        self._sf: Salesforce | None = None
        self._lock = threading.Lock()
        self._rng = random.Random(tuning.seed)

    def call(self, fn: Callable[[Salesforce], _T]) -> _T:
        """fn(sf) under the governor and the retry policy. Only give it idempotent requests:
        a retry after a lost answer repeats the request, and only GETs, updates by id and
        upserts by external id end in the same state when done twice."""

        def attempt() -> _T:
            sf = self._client()
            self.governor.acquire()
            try:
                return fn(sf)
            except (SalesforceError, requests.RequestException) as exc:
                failure = _failure_of(exc)
            self._check_allocation(failure)
            raise RemoteError(failure)

        try:
            result = self._policy(self.refresh)(attempt)
        except (RemoteError, LoginRefused) as exc:
            self.last_failure = exc.failure
            raise
        self.last_failure = None
        return result

    @property
    def sent(self) -> Counter[str]:
        """Requests sent to the org so far, by kind (login, query, read, write), every try
        counted (a copy)."""
        return self.session.sent

    def refresh(self) -> None:
        """Forget the session (after 401 INVALID_SESSION_ID). The retried attempt logs in again,
        inside the retry policy, so a token endpoint that fails just then is retried too."""
        with self._lock:
            self._sf = None

    def close(self) -> None:
        self.session.close()

    def _client(self) -> Salesforce:
        with self._lock:
            if self._sf is not None:
                return self._sf
        # Called inside an attempt: a failed token request is retried as the call is.
        token = request_token(self.session, self.settings, self._clock)
        self.stats.logins += 1
        sf = Salesforce(
            instance_url=token.instance_url,
            session_id=token.access_token,
            session=self.session,
            version=self.settings.api_version,
            # Plain dicts: OrderedDict costs memory on 2,000-record pages for nothing.
            object_pairs_hook=dict,
        )
        with self._lock:
            self._sf = sf
        return sf

    def _policy(self, refresh: Callable[[], None]) -> tenacity.Retrying:
        tuning = self.tuning

        def sleep(seconds: float) -> None:
            self.stats.retries += 1
            tuning.sleep(seconds)

        return retrying(
            attempts=tuning.attempts,
            base=tuning.base,
            cap=tuning.cap,
            refresh_auth=refresh,
            sleep=sleep,
            jitter=self._rng,
        )

    def _observe(self, response: requests.Response) -> None:
        # api-usage counts every integration of the org: the governor keeps it apart from
        # leadbridge's own count (the calls it let through), see budget.Governor.
        match = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            self.governor.observe(daily_used=int(match[1]), daily_limit=int(match[2]))

    def _check_allocation(self, failure: Failure) -> None:
        """The org's whole daily allocation is spent (every integration gets 403 until the
        24-hour window rolls): retrying within seconds is pointless, pause like the governor."""
        if failure.code == "REQUEST_LIMIT_EXCEEDED" and "TotalRequests" in failure.message:
            _log.warning("Salesforce refused the call: the org's daily API allocation is spent")
            raise self.governor.org_spent()
