"""HubSpot's own /_sandbox endpoints: the marketer persona and webhook subscriptions over HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.sandbox.http import JSON, read_json
from leadbridge.sandbox.hubspot.people import Marketer
from leadbridge.sandbox.hubspot.webhooks import WebhookHub

Action = Callable[[dict[str, Any]], dict[str, Any]]


def _endpoint(action: Action) -> Callable[[Request], Awaitable[Response]]:
    """Body in, JSON out; a bad body is a 400 and an unknown contact a 404, with the reason."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await read_json(request)
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
            return JSON(action(body))
        except KeyError as exc:
            return JSON({"error": str(exc.args[0]) if exc.args else "not found"}, status_code=404)
        except (ValueError, TypeError) as exc:
            return JSON({"error": str(exc)}, status_code=400)

    return endpoint


def sandbox_routes(
    marketer: Marketer, hub: WebhookHub, install: Callable[[str, list[str] | None], None]
) -> list[Route]:
    def private_app(body: dict[str, Any]) -> dict[str, Any]:
        """Body: {"token", "scopes"?: [...]}: installs a private app, or changes an installed
        one's scopes (the admin's edit in Settings; the token stays)."""
        token, scopes = body.get("token"), body.get("scopes")
        if not isinstance(token, str) or not token:
            raise ValueError("token is required")
        if scopes is not None and not isinstance(scopes, list):
            raise ValueError("scopes must be a list")
        install(token, scopes)
        return {"token": token, "scopes": sorted(scopes) if scopes is not None else None}

    def new_contact(body: dict[str, Any]) -> dict[str, Any]:
        """Body: {"email", "firstname", ..., "source"}, the persona's keyword arguments."""
        return {"id": marketer.new_contact(**body)}

    def fill_form(body: dict[str, Any]) -> dict[str, Any]:
        """Body: {"contact": email or id, "form": "demo_request", "fields": {...}}."""
        fields = body.get("fields") or {}
        return {"id": marketer.fill_form(_contact(body), str(body.get("form")), **fields)}

    def set_score(body: dict[str, Any]) -> dict[str, Any]:
        """Body: {"contact": email or id, "score": 42}."""
        return {"id": marketer.set_score(_contact(body), body["score"])}

    def edit(body: dict[str, Any]) -> dict[str, Any]:
        """Body: {"contact": email or id, "properties": {...}}."""
        return {"id": marketer.edit(_contact(body), **(body.get("properties") or {}))}

    def subscribe(body: dict[str, Any]) -> dict[str, Any]:
        """Body: {"url", "signatureVersion"?: "v3", "properties"?: [...], "events"?: [...]}."""
        if not body.get("url"):
            raise ValueError("url is required")
        subscription = hub.subscribe(
            str(body["url"]),
            signature_version=str(body.get("signatureVersion", "v3")),
            properties=body.get("properties"),
            events=body.get("events"),
        )
        return subscription.to_json()

    async def list_webhooks(request: Request) -> Response:
        deliverer = hub.deliverer
        return JSON(
            {
                "subscriptions": [s.to_json() for s in hub.subscriptions()],
                "published": hub.published,
                "attempts": len(deliverer.attempts),
                "pending": deliverer.pending(),
                "givenUp": deliverer.given_up,
            }
        )

    async def export(request: Request) -> Response:
        """Every live contact, all properties: what a test or the crash check compares."""
        return JSON({"contacts": marketer.store.all_contacts()})

    return [
        Route("/_sandbox/contacts", export, methods=["GET"]),
        Route("/_sandbox/marketer/contacts", _endpoint(new_contact), methods=["POST"]),
        Route("/_sandbox/marketer/forms", _endpoint(fill_form), methods=["POST"]),
        Route("/_sandbox/marketer/score", _endpoint(set_score), methods=["POST"]),
        Route("/_sandbox/marketer/edit", _endpoint(edit), methods=["POST"]),
        Route("/_sandbox/webhooks", list_webhooks, methods=["GET"]),
        Route("/_sandbox/webhooks", _endpoint(subscribe), methods=["POST"]),
        Route("/_sandbox/private-apps", _endpoint(private_app), methods=["POST"]),
    ]


def _contact(body: dict[str, Any]) -> str:
    if not body.get("contact"):
        raise ValueError("contact (an email or an id) is required")
    return str(body["contact"])
