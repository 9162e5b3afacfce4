"""Posting to Slack's incoming webhooks with slack_sdk's WebhookClient, and reading its answer.

Retries that make sense within one send are slack_sdk's RetryHandlers: a 429
is waited out as its Retry-After says (when that is short), 500 and 503 get
a short back-off, and a connection refused before the request left is tried
again. Everything else comes back as an `Answer` for the sweep to record:
sent, try again later (the alert stays pending), or refused for good.

The handlers sleep through an injectable `sleep`, so a test can move a
simulated clock instead of waiting on a real one.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.error import URLError

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from leadbridge.alerts.blocks import Links
from leadbridge.alerts.settings import SlackSettings, load_slack_settings

_Sleep = Callable[[float], None]
ALERTS, ESCALATION, HEALTH = "alerts", "escalation", "health"
# Answers that mean the message itself is wrong: sending it again cannot succeed.
_REFUSED = {400, 413}


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # keep it pending and try again later
    REFUSED = "refused"  # Slack will never take this message


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: Outcome
    detail: str  # Slack's code (e.g. channel_is_archived) or the error, never the URL
    retry_after: float | None = None  # seconds Slack asked us to wait
    webhook_down: bool = False  # the webhook itself failed: send nothing more to it this sweep


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    """Retry-After in seconds, from slack_sdk's headers (values may be lists)."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            first = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(float(first), 0.0)
            except (TypeError, ValueError):
                return None
    return None


class _RateLimitRetry(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, honouring Retry-After, but only for waits up to `longest`.

    A longer wait is better spent between sweeps than blocking one (the alert
    stays pending with next_try_at set from the same header).
    """

    def __init__(self, max_retry_count: int, longest: float, sleep: _Sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._longest = longest
        self._sleep = sleep

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = _retry_after(response.headers)
        return wait is None or wait <= self._longest

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = _retry_after(response.headers) if response is not None else None
        state.next_attempt_requested = True
        # Slack counts whole seconds; a little jitter keeps replicas from retrying in step.
        self._sleep((1.0 if wait is None else wait) + random.uniform(0, 0.1))
        state.increment_current_attempt()


class _SleepsThrough:
    """The base handler's back-off, through an injected sleep."""

    _sleep: _Sleep
    interval_calculator: RetryIntervalCalculator

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        self._sleep(self.interval_calculator.calculate_sleep_duration(state.current_attempt))
        state.increment_current_attempt()


class _ServerErrorRetry(_SleepsThrough, ServerErrorRetryHandler):
    def __init__(self, max_retry_count: int, sleep: _Sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep


class _RefusedConnectionRetry(_SleepsThrough, ConnectionErrorRetryHandler):
    """Only errors raised before the request left (urllib wraps those in URLError).

    A connection that drops after the request was sent (RemoteDisconnected,
    a reset while reading the answer) may have delivered the message: that is
    the duplicate window, and it is left to the sweep's slower retry.
    """

    def __init__(self, max_retry_count: int, sleep: _Sleep) -> None:
        super().__init__(max_retry_count=max_retry_count, error_types=[URLError])
        self._sleep = sleep


class Slack:
    """The configured webhooks. `post(route, text, blocks)` sends one message."""

    def __init__(self, settings: SlackSettings, *, sleep: _Sleep = time.sleep) -> None:
        if settings.webhook_url is None:
            raise ValueError("Slack alerts need webhook_url (SLACK_WEBHOOK_URL)")
        self._alerts_url = settings.webhook_url
        self.settings = settings
        self._sleep = sleep
        self._clients: dict[str, WebhookClient] = {}
        delivery = settings.delivery
        self._handlers: list[RetryHandler] = [
            _RefusedConnectionRetry(1, sleep),
            _RateLimitRetry(delivery.rate_limit_retries, delivery.longest_wait, sleep),
            _ServerErrorRetry(delivery.server_error_retries, sleep),
        ]

    @property
    def links(self) -> Links:
        found = self.settings.links
        return Links(
            hubspot_portal=found.hubspot_portal_id,
            salesforce_url=found.salesforce_url,
            hubspot_app_url=found.hubspot_app_url or "https://app.hubspot.com",
        )

    @property
    def mention(self) -> str | None:
        return self.settings.escalation.mention

    def url(self, route: str) -> str:
        """The webhook a route posts to (escalation and health fall back to the alerts one)."""
        chosen = {
            ESCALATION: self.settings.escalation.webhook_url,
            HEALTH: self.settings.health.webhook_url,
        }.get(route)
        return (chosen or self._alerts_url).get_secret_value()

    def sharing(self, route: str) -> set[str]:
        """Every route that posts through the same webhook as `route` (one rate limit)."""
        url = self.url(route)
        return {other for other in (ALERTS, ESCALATION, HEALTH) if self.url(other) == url}

    def post(self, route: str, text: str, blocks: Sequence[Mapping[str, Any]]) -> Answer:
        url = self.url(route)
        client = self._clients.get(url)
        if client is None:
            client = WebhookClient(
                url,
                timeout=max(math.ceil(self.settings.delivery.timeout), 1),
                retry_handlers=list(self._handlers),
            )
            self._clients[url] = client
        try:
            response = client.send(text=text, blocks=[dict(block) for block in blocks])
        except Exception as error:  # whatever broke talking to Slack: try again later
            detail = f"{type(error).__name__}: {error}".replace(url, "<webhook>")
            return Answer(Outcome.RETRY, detail, webhook_down=True)
        return _answer(response.status_code, response.body, response.headers)


def load_slack(path: Path, env: Mapping[str, str], *, sleep: _Sleep = time.sleep) -> Slack | None:
    """connectors/slack.yaml, ${VARS} from `env`, ready to post; None when its webhook_url is
    empty (alerts off); or ConfigError (file:line)."""
    settings = load_slack_settings(path, env)
    return Slack(settings, sleep=sleep) if settings.webhook_url is not None else None


def _answer(status: int, body: str, headers: Mapping[str, Any]) -> Answer:
    """What Slack's answer means for the alert (API-FACTS.md: bare codes as bodies)."""
    code = (body or "").strip()[:200] or f"HTTP {status}"
    if status == 200:
        return Answer(Outcome.SENT, code)
    if status == 429:
        return Answer(Outcome.RETRY, code, _retry_after(headers), webhook_down=True)
    if status in _REFUSED:
        return Answer(Outcome.REFUSED, f"{status} {code}")
    # 403 invalid_token / action_prohibited, 404 no_service / channel_not_found, 410
    # channel_is_archived, 5xx: the webhook, not the message. It stays pending until a
    # person fixes the webhook (and health reports Slack failing meanwhile).
    return Answer(Outcome.RETRY, f"{status} {code}", webhook_down=True)
