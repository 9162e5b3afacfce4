"""The internal port (`--admin-port`): /readyz and /metrics off the public webhook port.

The webhook port faces HubSpot and Salesforce, often through a public ingress; /metrics
and /readyz's checks (error lines, pause reasons) are for the cluster only. With an admin
port, the public app answers 404 on those two paths and a second server serves them (and
/healthz) on the admin port; without one, everything stays on the main port.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

INTERNAL_PATHS = frozenset({"/readyz", "/metrics"})


class WithoutInternal:
    """ASGI wrapper: the internal paths are not found here (they live on the admin port)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").rstrip("/") in INTERNAL_PATHS:
            response = PlainTextResponse("Not Found (served on the admin port)", status_code=404)
            await response(scope, receive, send)
            return
        await self._app(scope, receive, send)
