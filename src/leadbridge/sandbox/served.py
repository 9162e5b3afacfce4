"""Every request a simulated service serves, counted by method, endpoint and status.

One middleware in front of each service's whole app, outside its limits and
faults, so a refused call, an injected 503 and a dropped connection count as
the wire saw them; limits on or off, the count is the same. Requests under
/_sandbox/ (a test or a person steering the sandbox) are not counted. The
endpoint is the path with its variable segments (record ids, external id
values, query locators, property names, webhook secrets) written `{id}`, and
no query string, so the counts say what was asked, not of which record.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadbridge.sandbox.faults import CONTROL_PREFIX, DroppedConnection

DROPPED = 0  # the status counted for a request whose connection was cut instead of answered
# Placeholders that name the kind of endpoint (which object, which API version), not a
# record: kept as sent. Every other placeholder is counted as `{id}`.
KEPT = frozenset({"object_type", "sobject", "field", "version"})
VARIABLE = "{id}"


class Endpoints:
    """Names a request path by the first template it fits. A template is a path whose
    segments are literal or a `{placeholder}`; a path no template fits is its own name."""

    def __init__(self, templates: Iterable[str]) -> None:
        self._templates = [
            _segments(t) for t in dict.fromkeys(templates) if not t.startswith(CONTROL_PREFIX)
        ]

    def of(self, path: str) -> str:
        segments = _segments(path)
        for template in self._templates:
            named = _fit(template, segments)
            if named is not None:
                return "/" + "/".join(named)
        return "/" + "/".join(segments)


def _segments(path: str) -> list[str]:
    parts = [unquote(part) for part in path.split("?", 1)[0].split("/")[1:]]
    while parts and parts[-1] == "":  # simple-salesforce adds trailing slashes
        parts.pop()
    return parts


def _fit(template: list[str], segments: list[str]) -> list[str] | None:
    if len(template) != len(segments):
        return None
    named = []
    for part, segment in zip(template, segments, strict=True):
        if part.startswith("{") and part.endswith("}"):
            named.append(segment if part[1:-1] in KEPT else VARIABLE)
        elif part == segment:
            named.append(part)
        else:
            return None
    return named


class RequestCounts:
    """(method, endpoint, status) -> requests served. Thread-safe: the server's loop adds,
    any thread reads."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, int]] = Counter()
        self._lock = threading.Lock()

    def add(self, method: str, endpoint: str, status: int) -> None:
        with self._lock:
            self._counts[(method, endpoint, status)] += 1

    def counts(self) -> Counter[tuple[str, str, int]]:
        """A copy, safe to keep while requests go on."""
        with self._lock:
            return Counter(self._counts)

    def count(
        self, method: str | None = None, endpoint: str | None = None, status: int | None = None
    ) -> int:
        """Requests served that match every one given, e.g. count("PATCH", status=200)."""
        return sum(
            n
            for (m, e, s), n in self.counts().items()
            if (method is None or m == method)
            and (endpoint is None or e == endpoint)
            and (status is None or s == status)
        )

    def report(self) -> dict[str, Any]:
        """What GET /_sandbox/requests answers: the total, and one row per method, endpoint
        and status, sorted by endpoint, method, status."""
        counts = self.counts()
        rows = sorted(counts.items(), key=lambda item: (item[0][1], item[0][0], item[0][2]))
        return {
            "total": sum(counts.values()),
            "requests": [
                {"method": method, "endpoint": endpoint, "status": status, "count": n}
                for (method, endpoint, status), n in rows
            ],
        }

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class CountingMiddleware:
    """Counts each HTTP request once its answer (or the cut connection) is known."""

    def __init__(self, app: ASGIApp, counts: RequestCounts, endpoints: Endpoints) -> None:
        self.app = app
        self.counts = counts
        self.endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path")
        # The raw path keeps an encoded "/" inside one segment (an external id value).
        path = raw.decode("latin-1") if raw else scope["path"]
        status: int | None = None

        async def noting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting)
        except DroppedConnection:
            status = DROPPED
            raise
        except Exception:
            status = 500 if status is None else status  # the server answers 500 for the app
            raise
        finally:
            status = DROPPED if status is None else status
            self.counts.add(scope["method"], self.endpoints.of(path), status)
