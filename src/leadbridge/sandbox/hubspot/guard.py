"""What stands before every HubSpot API route: bearer auth, the limits, and error rendering."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from leadbridge.sandbox.http import JSON, read_json
from leadbridge.sandbox.hubspot.apps import Apps, missing_scopes_body
from leadbridge.sandbox.hubspot.errors import (
    AUTH_MESSAGE,
    ApiError,
    Correlator,
    error_body,
    server_error_body,
)
from leadbridge.sandbox.hubspot.limits import Limits
from leadbridge.sandbox.hubspot.properties import Catalog
from leadbridge.sandbox.hubspot.state import ContactStore

log = logging.getLogger(__name__)
Handler = Callable[[Request], Awaitable[Response]]
API_SOURCE = "INTEGRATION"  # how HubSpot labels a private app's writes in history and webhooks


@dataclass
class Api:
    store: ContactStore
    catalog: Catalog
    limits: Limits
    correlate: Correlator
    apps: Apps

    def guard(self, handler: Handler, scope: str, *, search: bool = False) -> Handler:
        """Auth (401), the app's scopes (403), the portal's limits (429), then `handler`."""

        async def endpoint(request: Request) -> Response:
            granted = self.apps.scopes_for(request.headers.get("authorization", ""))
            if granted is None:
                body = error_body("INVALID_AUTHENTICATION", AUTH_MESSAGE, self.correlate())
                return JSON(body, status_code=401)
            if scope not in granted:
                return JSON(missing_scopes_body(scope, self.correlate()), status_code=403)
            refusal, headers = self.limits.admit(search=search)
            if refusal is not None:
                return refusal
            try:
                response = await handler(request)
            except ApiError as exc:
                response = (
                    Response(status_code=exc.status)
                    if exc.empty_body
                    else JSON(exc.body(self.correlate()), status_code=exc.status)
                )
            except Exception:
                # A simulator bug still answers in HubSpot's shape, and says where it broke.
                log.exception("the simulated HubSpot failed on %s %s", request.method, request.url)
                body = server_error_body(500, self.correlate())
                response = JSON(body, status_code=500)
            response.headers.update(headers)
            return response

        return endpoint


async def json_body(request: Request) -> Any:
    try:
        return await read_json(request)
    except ValueError as exc:
        raise ApiError(400, "VALIDATION_ERROR", f"Invalid input JSON: {exc}") from None


def flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


def batch_inputs(body: Any, limit: int = 100) -> list[Any]:
    """The `inputs` of a batch body; HubSpot refuses more than 100 with a 400."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise ApiError(400, "VALIDATION_ERROR", 'Invalid input JSON: expected {"inputs": [...]}')
    inputs: list[Any] = body["inputs"]
    if len(inputs) > limit:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"Batch input is too large: {len(inputs)} inputs, at most {limit} are allowed.",
        )
    return inputs


def name_list(raw: Any, field: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError(400, "VALIDATION_ERROR", f"{field} must be a list of property names")
    return [str(item) for item in raw]
