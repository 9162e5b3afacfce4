"""The daemon's HTTP face: two webhook endpoints that verify, enqueue and nudge, plus
/healthz, /readyz and /metrics.

A webhook never decides anything: its hints go into the durable inbox through
`Receiver.accept`, and only once that returned does the sender get its 2xx (or its
SOAP Ack), so a crash between the two costs a redelivery, never a lost change. The
sync that reads the records is nudged, not run here: one decision path for push
and poll. No request can make this app answer 500: refusals have their own status,
an unexpected error reading a request is that request's fault (400), one storing it
is ours (503, which both senders retry).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from leadbridge.connectors.hubspot.settings import Push as HubSpotPush
from leadbridge.model import Hint
from leadbridge.telemetry.metrics import Metrics
from leadbridge.webhooks.hubspot import read_hints as read_hubspot
from leadbridge.webhooks.intake import Intake, Rejected
from leadbridge.webhooks.salesforce import ACK, CONTENT_TYPE, SalesforceHooks, fault
from leadbridge.webhooks.salesforce import read_hints as read_salesforce

_log = logging.getLogger(__name__)


class Receiver(Protocol):
    def accept(self, hints: Sequence[Hint]) -> None:
        """Stores the hints durably (a committed transaction); raises if it could not."""

    def nudge(self) -> None:
        """Asks for a debounced sync soon; returns at once."""


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: Mapping[str, str]  # check name -> "ok", or why not


_Read = Callable[[Request, datetime], Awaitable[Intake]]


@dataclass(frozen=True)
class _Replies:
    """How an endpoint speaks: HubSpot reads only the status, Salesforce wants SOAP."""

    ok: Callable[[], Response]
    refuse: Callable[[Rejected], Response]


_PLAIN = _Replies(
    ok=lambda: PlainTextResponse("ok"),
    refuse=lambda r: PlainTextResponse(r.reason, status_code=r.status),
)
_SOAP = _Replies(
    ok=lambda: Response(ACK, media_type=CONTENT_TYPE),
    refuse=lambda r: Response(fault(r.reason, r.status), r.status, media_type=CONTENT_TYPE),
)


def create_app(
    receiver: Receiver,
    *,
    hubspot: HubSpotPush | None,
    salesforce: SalesforceHooks | None,
    readiness: Callable[[], Readiness],
    metrics: Metrics,
    clock: Callable[[], datetime],
) -> Starlette:
    """The ASGI app. hubspot None or disabled, or salesforce None: that endpoint is 404."""
    if (
        hubspot is not None
        and hubspot.enabled
        and (not hubspot.app_secret or not hubspot.public_url)
    ):
        # The settings model refuses this already; a hand-built Push must not slip past.
        raise ValueError("HubSpot push is enabled without an app secret and a public URL")
    hooks = _Hooks(receiver, metrics, clock)

    async def hubspot_endpoint(request: Request) -> Response:
        async def read(request: Request, now: datetime) -> Intake:
            return await read_hubspot(request, hubspot, now)

        return await hooks.deliver("hubspot", request, read, _PLAIN)

    async def salesforce_endpoint(request: Request) -> Response:
        async def read(request: Request, now: datetime) -> Intake:
            return await read_salesforce(request, salesforce, now)

        return await hooks.deliver("salesforce", request, read, _SOAP)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        try:
            state = await run_in_threadpool(readiness)
            ready, checks = bool(state.ready), {str(k): str(v) for k, v in state.checks.items()}
        except Exception:
            _log.exception("the readiness check raised")
            ready, checks = False, {"readiness": "the check itself failed"}
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def metrics_endpoint(request: Request) -> Response:
        try:
            body, content_type = metrics.render()
        except Exception:
            _log.exception("rendering metrics failed")
            return PlainTextResponse("metrics unavailable", status_code=503)
        return Response(body, media_type=content_type)

    return Starlette(
        routes=[
            Route("/webhooks/hubspot", hubspot_endpoint, methods=["POST"]),
            Route("/webhooks/salesforce", salesforce_endpoint, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        exception_handlers={Exception: _last_resort},
    )


class _Hooks:
    """The path every webhook takes: read and verify, store, nudge, answer."""

    def __init__(self, receiver: Receiver, metrics: Metrics, clock: Callable[[], datetime]):
        self._receiver = receiver
        self._metrics = metrics
        self._clock = clock

    async def deliver(
        self, endpoint: str, request: Request, read: _Read, replies: _Replies
    ) -> Response:
        try:
            outcome, response = await self._deliver(endpoint, request, read, replies)
        except Exception:
            # Only a bug in the lines below can get here (a clock or a metric that raised):
            # ours, so 503, which the sender retries.
            _log.exception("webhook %s failed outside its handler", endpoint)
            outcome, response = "error", PlainTextResponse("unavailable", status_code=503)
        try:
            self._metrics.webhooks.labels(endpoint=endpoint, outcome=outcome).inc()
        except Exception:
            _log.exception("could not count a webhook request")
        return response

    async def _deliver(
        self, endpoint: str, request: Request, read: _Read, replies: _Replies
    ) -> tuple[str, Response]:
        now = self._clock()
        try:
            intake = await read(request, now)
        except Rejected as refusal:
            _log.info("webhook %s refused: %s %s", endpoint, refusal.status, refusal.reason)
            return refusal.outcome, replies.refuse(refusal)
        except Exception:
            # Reading, verifying and parsing touch nothing of ours: whatever breaks there
            # was brought by the request. Logged with its trace, since it is also a bug.
            _log.exception("webhook %s: unexpected error reading the request", endpoint)
            return "error", replies.refuse(Rejected(400, "error", "could not read the request"))
        events = self._metrics.webhook_events
        if intake.ignored:
            events.labels(endpoint=endpoint, outcome="ignored").inc(intake.ignored)
        if not intake.hints:
            return "accepted", replies.ok()
        try:
            # accept is a database commit: blocking, so off the event loop.
            await run_in_threadpool(self._receiver.accept, list(intake.hints))
        except Exception:
            _log.exception("webhook %s: could not store %d hints", endpoint, len(intake.hints))
            unavailable = Rejected(503, "unavailable", "could not store the notification; retry")
            return unavailable.outcome, replies.refuse(unavailable)
        events.labels(endpoint=endpoint, outcome="hinted").inc(len(intake.hints))
        try:
            self._receiver.nudge()
        except Exception:
            # The hints are stored: the next scheduled sync finds them. Failing the request
            # now would only make the sender deliver the same hints again.
            _log.exception("webhook %s: nudge failed; the hints wait for the next sync", endpoint)
        return "accepted", replies.ok()


async def _last_resort(request: Request, exc: Exception) -> Response:
    """Starlette's handler for anything that escaped a route (none should): 503, not 500."""
    _log.error("unhandled error serving %s", request.url.path, exc_info=exc)
    return PlainTextResponse("unavailable", status_code=503)
