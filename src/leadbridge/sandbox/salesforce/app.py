"""The simulated Salesforce as one ASGI app: OAuth, REST, control endpoints, faults in front,
and in front of everything the count of requests served."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from leadbridge.sandbox.faults import FaultInjector, FaultMiddleware
from leadbridge.sandbox.salesforce import rest
from leadbridge.sandbox.salesforce.context import Org
from leadbridge.sandbox.salesforce.errors import SfError, not_found
from leadbridge.sandbox.salesforce.limits import concurrency_exceeded
from leadbridge.sandbox.salesforce.oauth import Endpoint
from leadbridge.sandbox.served import CountingMiddleware, Endpoints, RequestCounts

_ALL_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"]
OAUTH = "/services/oauth2/token"
DATA = "/services/data"
# The REST API's routes as the request counts name them: the version, the sObject and the
# external id field kept, a record id, an external id value or a query locator as {id}.
ENDPOINTS = Endpoints(
    [
        OAUTH,
        DATA,
        DATA + "/{version}",
        *(DATA + "/{version}/" + "/".join(pattern) for pattern, _ in rest.ROUTES if pattern),
    ]
)


def build_app(
    org: Org,
    token: Endpoint,
    control: list[Route],
    faults: FaultInjector,
    remember_base: Callable[[str], None],
    served: RequestCounts,
) -> ASGIApp:
    data = rest.data_api(org)
    routes = [
        Route(OAUTH, token, methods=["POST"]),
        Route(DATA, rest.versions, methods=["GET"]),
        Route(DATA + "/{path:path}", data, methods=_ALL_METHODS),
        *control,
    ]
    app = Starlette(routes=routes, exception_handlers={404: _no_route, 405: _no_route})
    faulty = FaultMiddleware(app, faults, server_error, rate_limited)
    return CountingMiddleware(_RememberBase(faulty, remember_base), served, ENDPOINTS)


async def _no_route(request: Request, exc: Exception) -> Response:
    """A path or method nothing serves: the API's error array, never the framework's text."""
    if getattr(exc, "status_code", 404) == 405:
        return SfError(
            "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed.", status=405
        ).response()
    return not_found().response()


def server_error(request: Request, status: int) -> Response:
    """Injected 5xx: the API's own JSON for 500 and 503; other codes come from the edge
    in front of it, which answers HTML, so a client must cope with a body that is not JSON."""
    if status == 500:
        return SfError(
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: "
            "1337-4242 (-1729)",
            status=500,
        ).response()
    if status == 503:
        return SfError(
            "SERVER_UNAVAILABLE",
            "Unable to process your request. The server is temporarily unavailable.",
            status=503,
        ).response()
    return HTMLResponse(
        f"<html><head><title>{status} Error</title></head><body><h1>{status}</h1>"
        "<p>The server encountered a temporary error.</p></body></html>",
        status_code=status,
    )


def rate_limited(request: Request, status: int) -> Response:
    """Salesforce does not answer 429: its concurrency limit refuses with a 403.

    The OAuth endpoint is outside the API's request limits, so a burst there
    shows as the overloaded edge's 503 instead of an API error list.
    """
    if request.url.path.startswith("/services/oauth2/"):
        return server_error(request, 503)
    return concurrency_exceeded().response()


class _RememberBase:
    """Notes the server's own base URL from the first request (Outbound Messages' EnterpriseUrl)."""

    def __init__(self, app: ASGIApp, remember: Callable[[str], None]) -> None:
        self.app = app
        self.remember = remember
        self.seen = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.seen and scope["type"] == "http":
            self.seen = True
            host = dict(scope.get("headers", [])).get(b"host", b"127.0.0.1").decode("latin-1")
            self.remember(f"{scope.get('scheme', 'https')}://{host}")
        await self.app(scope, receive, send)
