"""What a portal answers about itself: a private app's token info, and its custom objects.

POST /oauth/v2/private-apps/get/access-token-info  {"tokenKey": T}
     -> {"userId", "hubId", "appId", "scopes": [...]}: the app's granted scopes.
     HubSpot serves it as a POST with the token in the body (GET answers 405).
GET  /crm/v3/schemas  (crm.schemas.custom.read) -> {"results": [...]}: custom object
     schemas; the simulated portal has none, so `results` is empty.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.sandbox.http import JSON
from leadbridge.sandbox.hubspot.apps import CUSTOM_SCHEMAS_READ
from leadbridge.sandbox.hubspot.errors import AUTH_MESSAGE, error_body
from leadbridge.sandbox.hubspot.guard import Api, json_body

INTROSPECTION = "/oauth/v2/private-apps/get/access-token-info"


def meta_routes(api: Api, *, portal_id: int, user_id: int) -> list[Route]:
    async def token_info(request: Request) -> Response:
        try:
            body = await json_body(request)
        except ValueError as exc:
            return JSON(error_body("VALIDATION_ERROR", str(exc), api.correlate()), status_code=400)
        token = body.get("tokenKey") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            message = "tokenKey is required"
            return JSON(error_body("VALIDATION_ERROR", message, api.correlate()), status_code=400)
        found = api.apps.installed(token)
        if found is None:
            body = error_body("INVALID_AUTHENTICATION", AUTH_MESSAGE, api.correlate())
            return JSON(body, status_code=401)
        app_id, scopes = found
        return JSON(
            {"userId": user_id, "hubId": portal_id, "appId": app_id, "scopes": sorted(scopes)}
        )

    async def schemas(request: Request) -> Response:
        return JSON({"results": []})

    return [
        Route(INTROSPECTION, token_info, methods=["POST"]),
        Route("/crm/v3/schemas", api.guard(schemas, CUSTOM_SCHEMAS_READ), methods=["GET"]),
    ]
