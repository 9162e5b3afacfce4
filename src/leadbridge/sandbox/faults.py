"""Faults on demand: seeded 5xx and 429 bursts, latency, dropped connections, early session expiry.

One `FaultInjector` per service. A test configures it (in Python or over the
control endpoint), and the same seed gives the same sequence of faults, so a
failing run repeats. `FaultMiddleware` applies the transport-level faults in
front of a service's app; the service renders the bodies, because a 429 from
HubSpot and one from Slack do not look alike.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_PREFIX = "/_sandbox"


class Fault(Enum):
    SERVER_ERROR = "server_error"
    RATE_LIMIT = "rate_limit"
    DROP_BEFORE = "drop_before"  # connection dies before the request is handled
    DROP_AFTER = "drop_after"  # handled (writes happened), then the answer is lost
    SESSION_EXPIRED = "session_expired"  # only services with sessions act on it


@dataclass(frozen=True)
class FaultSpec:
    """What to inject, as rates per request. All zero means a healthy service."""

    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    rate_limit_rate: float = 0.0  # chance that a request starts a burst of 429s
    rate_limit_burst: int = 5  # how many consecutive requests a burst refuses
    latency_rate: float = 0.0
    latency_seconds: tuple[float, float] = (0.05, 0.3)
    drop_rate: float = 0.0
    session_expiry_rate: float = 0.0
    path_prefix: str = ""  # limit faults to one API family, e.g. "/crm/v3/objects"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultSpec:
        """A spec from a control request's body; ValueError names the first bad setting."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"unknown fault settings: {sorted(unknown)}; expected some of {sorted(known)}"
            )
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        spec = cls(**values)
        spec.validate()
        return spec

    def validate(self) -> None:
        # A bad setting must be refused now: accepted, it would break every later request.
        for name in _RATES:
            _check_rate(name, getattr(self, name))
        statuses = self.error_statuses
        if (
            not isinstance(statuses, tuple)
            or not statuses
            or not all(_is_int(s) and 500 <= s <= 599 for s in statuses)
        ):
            raise ValueError(f"error_statuses must be a list of 5xx codes, got {statuses!r}")
        burst = self.rate_limit_burst
        if not _is_int(burst) or not 1 <= burst <= 10_000:
            raise ValueError(f"rate_limit_burst must be an integer from 1, got {burst!r}")
        latency = self.latency_seconds
        if (
            not isinstance(latency, tuple)
            or len(latency) != 2
            or not all(_is_number(x) and 0 <= x <= 60 for x in latency)
            or latency[0] > latency[1]
        ):
            raise ValueError(
                f"latency_seconds must be [low, high] seconds within 0..60, got {latency!r}"
            )
        if not isinstance(self.path_prefix, str):
            raise ValueError(f"path_prefix must be a string, got {self.path_prefix!r}")


_RATES = ("error_rate", "rate_limit_rate", "latency_rate", "drop_rate", "session_expiry_rate")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_rate(name: str, rate: Any) -> None:
    if not _is_number(rate) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name} must be a number between 0 and 1, got {rate!r}")


@dataclass
class _Queued:
    fault: Fault
    status: int = 503


@dataclass
class FaultInjector:
    """Decides, request by request, which fault (if any) strikes. Thread-safe and seeded."""

    seed: int = 0
    spec: FaultSpec = field(default_factory=FaultSpec)
    injected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._burst_left = 0
        self._queue: list[_Queued] = []

    def configure(self, spec: FaultSpec | None = None, **changes: Any) -> None:
        with self._lock:
            self.spec = replace(spec or self.spec, **changes)
            self._burst_left = 0

    def clear(self) -> None:
        with self._lock:
            self.spec = FaultSpec()
            self._queue.clear()
            self._burst_left = 0

    def inject_next(self, fault: Fault, count: int = 1, status: int = 503) -> None:
        """Make the next `count` requests fail with `fault`, whatever the rates say."""
        with self._lock:
            self._queue.extend(_Queued(fault, status) for _ in range(count))

    def decide(self, path: str) -> tuple[Fault | None, int, float]:
        """(fault, status for SERVER_ERROR, latency seconds) for one request."""
        with self._lock:
            if self._queue:
                queued = self._queue.pop(0)
                self._count(queued.fault)
                return queued.fault, queued.status, 0.0
            spec = self.spec
            if spec.path_prefix and not path.startswith(spec.path_prefix):
                return None, 0, 0.0
            rng = self._rng
            delay = rng.uniform(*spec.latency_seconds) if rng.random() < spec.latency_rate else 0.0
            fault: Fault | None = None
            status = 0
            if self._burst_left > 0:
                self._burst_left -= 1
                fault = Fault.RATE_LIMIT
            elif rng.random() < spec.rate_limit_rate:
                self._burst_left = max(spec.rate_limit_burst - 1, 0)
                fault = Fault.RATE_LIMIT
            elif rng.random() < spec.error_rate:
                fault, status = Fault.SERVER_ERROR, rng.choice(spec.error_statuses)
            elif rng.random() < spec.drop_rate:
                fault = rng.choice((Fault.DROP_BEFORE, Fault.DROP_AFTER))
            elif rng.random() < spec.session_expiry_rate:
                fault = Fault.SESSION_EXPIRED
            if fault is not None:
                self._count(fault)
            return fault, status, delay

    def counts(self) -> dict[str, int]:
        """How many of each fault struck so far (a copy, safe to read while requests run)."""
        with self._lock:
            return dict(self.injected)

    def _count(self, fault: Fault) -> None:
        self.injected[fault.value] = self.injected.get(fault.value, 0) + 1


class DroppedConnection(Exception):
    """Raised after the status line went out, so the server closes the socket mid-answer."""


class _QuietDrops(logging.Filter):
    # uvicorn logs every exception from the app; a deliberate drop is not news.
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())

Renderer = Callable[[Request, int], Awaitable[Response] | Response]


class FaultMiddleware:
    """Applies a FaultInjector's transport faults in front of a service app.

    `render_error(request, status)` and `render_rate_limit(request, status)`
    produce the service's own bodies. SESSION_EXPIRED is passed down in
    `scope["state"]["sandbox_fault"]` for the service to act on, because only
    the service knows what a session is.
    """

    def __init__(
        self,
        app: ASGIApp,
        injector: FaultInjector,
        render_error: Renderer,
        render_rate_limit: Renderer,
    ) -> None:
        self.app = app
        self.injector = injector
        self.render_error = render_error
        self.render_rate_limit = render_rate_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        fault, status, delay = self.injector.decide(scope["path"])
        if delay:
            await asyncio.sleep(delay)
        if fault is Fault.SERVER_ERROR or fault is Fault.RATE_LIMIT:
            request = Request(scope, receive)
            render = self.render_error if fault is Fault.SERVER_ERROR else self.render_rate_limit
            result = render(request, status or 429)
            response = await result if isinstance(result, Awaitable) else result
            await response(scope, receive, send)
            return
        if fault is Fault.DROP_BEFORE:
            await _drop(send)
        if fault is Fault.DROP_AFTER:
            await self.app(scope, receive, _swallow)
            await _drop(send)
        if fault is Fault.SESSION_EXPIRED:
            scope.setdefault("state", {})["sandbox_fault"] = fault
        await self.app(scope, receive, send)


async def _swallow(message: Message) -> None:
    """Discards the real answer of a request whose connection is about to drop."""


async def _drop(send: Send) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]}
    )
    raise DroppedConnection
