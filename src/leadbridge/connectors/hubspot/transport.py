"""Every HubSpot call: through the budget governor, under the retry policy, errors as Failures.

The official client does the HTTP; this module decides when a call may go
(Governor.acquire), what the answer says about the budget (the
X-HubSpot-RateLimit-* headers), and what a failure means (errors._POLICY).
Answers are read raw (`_preload_content=False`) and parsed with orjson: the
client's generated models spend ~10 ms per 100 contacts parsing dates with
dateutil, which is most of a backfill's CPU.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts.exceptions import ApiException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.exceptions import HTTPError

from leadbridge.connectors.budget import BudgetPaused, Governor
from leadbridge.connectors.errors import Action, Failure, RemoteError, retrying
from leadbridge.connectors.hubspot.settings import HubSpotSettings
from leadbridge.model import System

_HS = System.HUBSPOT
_Invoke = Callable[..., Any]  # an api method bound to its arguments, taking the client's kwargs


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the parsed JSON, or None for an empty answer


@dataclass
class Stats:
    """By kind (search, list, read, update, upsert, verify...): `requests` sent over the wire,
    every try counted (a retried call is one request per try, as HubSpot counts it), and
    `succeeded`, the requests that were answered with success."""

    requests: Counter[str]
    succeeded: Counter[str]


class Transport:
    """One api object per API family: each `client.crm.contacts.batch_api` access builds a new
    ApiClient with its own connection pool, so they are made once and kept."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        budget = settings.budget
        self.settings = settings
        # The portal's daily headers count every app: they are held against the floor only,
        # and leadbridge's own cap against its own count (budget.Governor).
        self.governor = Governor(
            window_limit=budget.ten_second_limit,
            headroom=budget.headroom,
            daily_limit=budget.daily_limit,
            # daily_share (older files) is a share of the portal's allocation for our own calls.
            own_daily_cap=budget.max_own_calls_per_day,
            own_daily_share=budget.daily_share if budget.max_own_calls_per_day is None else None,
            org_floor=budget.min_portal_calls_left,
            whole="the portal",
            floor_setting="budget.min_portal_calls_left",
            clock=monotonic,
            sleep=sleep,
        )
        # Search has its own per-second limit and its answers carry no headers to steer by.
        self.search_governor = Governor(
            window_limit=budget.search_per_second, window_seconds=1.0, clock=monotonic, sleep=sleep
        )
        client = HubSpot(
            access_token=settings.token.get_secret_value(),
            host=settings.base_url,
            ssl_ca_cert=str(settings.ca_bundle) if settings.ca_bundle else None,
            # urllib3 would otherwise retry some failures itself, unseen by the governor
            # and the policy; every try must be paced and counted here.
            retry=urllib3.Retry(total=0, redirect=0),
        )
        contacts = client.crm.contacts
        self.basic = contacts.basic_api
        self.batch = contacts.batch_api
        self.search = contacts.search_api
        self.properties = client.crm.properties.core_api
        self.stats = Stats(requests=Counter(), succeeded=Counter())
        self.last_failure: Failure | None = None
        self.failing = 0  # consecutive calls that failed for good
        self._sleep = sleep

    def call(self, kind: str, invoke: _Invoke, *, search: bool = False) -> Answer:
        """One logical call, retried by the policy; raises RemoteError or BudgetPaused."""
        policy = retrying(
            attempts=self.settings.retry.attempts,
            base=self.settings.retry.base,
            cap=self.settings.retry.cap,
            sleep=self._sleep,
        )
        try:
            answer = policy(self._once, kind, invoke, search)
        except RemoteError as exc:
            if exc.action is Action.PARK:  # HubSpot answered: the record is wrong, not the link
                self._healthy()
            else:
                self.last_failure = exc.failure
                self.failing += 1
            raise
        self._healthy()
        return answer

    def _healthy(self) -> None:
        self.failing = 0
        self.last_failure = None

    def _once(self, kind: str, invoke: _Invoke, search: bool) -> Answer:
        if search:
            self.search_governor.acquire()
        self.governor.acquire()
        self.stats.requests[kind] += 1
        try:
            response = invoke(_preload_content=False, _request_timeout=self.settings.timeout)
            data = response.data
        except (ApiException, PropertiesApiException) as exc:
            # Each API family of the client raises its own ApiException class.
            raise self._refused(exc) from None
        except (HTTPError, ConnectionError, TimeoutError) as exc:
            # No HTTP answer: refused, reset, dropped mid-answer, or timed out. MaxRetryError
            # only wraps the cause (urllib3 tries once here), so the cause names it.
            cause = getattr(exc, "reason", None)
            name = type(cause if isinstance(cause, Exception) else exc).__name__
            failure = Failure(_HS, None, name, str(exc) or repr(exc))
            raise RemoteError(failure) from None
        self._observe(response.headers)
        self.stats.succeeded[kind] += 1
        try:
            return Answer(response.status, orjson.loads(data) if data else None)
        except orjson.JSONDecodeError as exc:
            failure = Failure(_HS, response.status, "INVALID_JSON", f"unreadable answer: {exc}")
            raise RemoteError(failure) from None

    def _refused(self, exc: ApiException | PropertiesApiException) -> RemoteError | BudgetPaused:
        status = exc.status or None  # the client reports TLS failures as status 0
        headers: Mapping[str, str] = exc.headers or {}
        if status is None:
            return RemoteError(Failure(_HS, None, "SSLError", str(exc.reason)))
        self._observe(headers)
        body = _json(exc.body)
        code = str(body.get("category") or body.get("errorType") or f"HTTP_{status}")
        message = str(body.get("message") or exc.reason or "")
        policy = body.get("policyName")
        if status == 429 and policy == "DAILY":
            return self._daily_spent()
        failure = Failure(_HS, status, code, message, _retry_after(status, policy, headers))
        return RemoteError(failure)

    def _daily_spent(self) -> BudgetPaused:
        # HubSpot says the portal's day is spent (search answers say so without headers):
        # no retry can help before the reset, so the governor pauses as at the floor.
        return self.governor.org_spent()

    def _observe(self, headers: Mapping[str, str]) -> None:
        limit = _int(headers.get("X-HubSpot-RateLimit-Max"))
        remaining = _int(headers.get("X-HubSpot-RateLimit-Remaining"))
        daily = _int(headers.get("X-HubSpot-RateLimit-Daily"))
        daily_remaining = _int(headers.get("X-HubSpot-RateLimit-Daily-Remaining"))
        self.governor.observe(
            window_used=limit - remaining if limit is not None and remaining is not None else None,
            daily_used=(
                daily - daily_remaining
                if daily is not None and daily_remaining is not None
                else None
            ),
            daily_limit=daily,
        )


def _retry_after(status: int, policy: Any, headers: Mapping[str, str]) -> float | None:
    """How long HubSpot asks us to wait: Retry-After when sent; a refused search waits out
    its one-second window; a spent 10-second window waits out the interval it names."""
    given = headers.get("Retry-After")
    if given is not None:
        try:
            return max(float(given), 0.0)
        except ValueError:
            return None
    if status != 429:
        return None
    if policy == "SECONDLY":
        return 1.0
    interval = _int(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"))
    remaining = _int(headers.get("X-HubSpot-RateLimit-Remaining"))
    if interval is not None and remaining == 0:
        return interval / 1000
    return None


def _json(raw: Any) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
