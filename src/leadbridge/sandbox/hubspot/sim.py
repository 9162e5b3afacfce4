"""HubSpotSim: the simulated portal, its HTTP app, its people and its webhooks, wired together."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.control import control_routes
from leadbridge.sandbox.delivery import Deliverer
from leadbridge.sandbox.faults import FaultInjector, FaultMiddleware
from leadbridge.sandbox.http import JSON
from leadbridge.sandbox.hubspot.apps import Apps
from leadbridge.sandbox.hubspot.controls import sandbox_routes
from leadbridge.sandbox.hubspot.errors import (
    Correlator,
    error_body,
    rate_limit_body,
    server_error_body,
)
from leadbridge.sandbox.hubspot.guard import Api
from leadbridge.sandbox.hubspot.limits import Limits
from leadbridge.sandbox.hubspot.people import Marketer
from leadbridge.sandbox.hubspot.properties import Catalog
from leadbridge.sandbox.hubspot.routes_batch import batch_routes
from leadbridge.sandbox.hubspot.routes_meta import meta_routes
from leadbridge.sandbox.hubspot.routes_objects import object_routes
from leadbridge.sandbox.hubspot.routes_properties import property_routes
from leadbridge.sandbox.hubspot.state import ContactStore
from leadbridge.sandbox.hubspot.webhooks import Subscription, WebhookHub
from leadbridge.sandbox.served import CountingMiddleware, Endpoints, RequestCounts

INSTALLING_USER_ID = 9_100_237  # the super admin who created the private apps


class HubSpotSim:
    """A HubSpot portal: CRM v3 contacts behind a private-app token. Serve `.app` with
    `leadbridge.sandbox.server.serve`; steer it with `.state`, `.marketer`, `.faults`;
    `.requests()` counts what it served."""

    def __init__(
        self,
        clock: SimClock,
        *,
        token: str,
        app_secret: str,
        portal_id: int = 62515,
        app_id: int = 1160452,
        seed: int = 0,
        ten_second_limit: int | None = 190,
        daily_limit: int | None = 650_000,
        search_per_second: int | None = 5,
        search_lag_seconds: float = 0.0,
        webhook_verify: str | bool = True,
        scopes: Iterable[str] | None = None,
        missing_options: Mapping[str, Iterable[str]] | None = None,
        custom_properties: Mapping[str, str] | None = None,
    ) -> None:
        """`scopes` are the private app's (None: every scope); `missing_options` (property ->
        option values) plays a portal whose admin removed those enumeration options;
        `custom_properties` (name -> label) are custom text properties it already has."""
        self.clock = clock
        self.token = token
        self.app_secret = app_secret
        self.portal_id = portal_id
        self.app_id = app_id
        self.catalog = Catalog(missing_options, custom_properties)
        self.state = ContactStore(
            clock, self.catalog, seed=seed, search_lag_seconds=search_lag_seconds
        )
        self.faults = FaultInjector(seed=seed)
        # HubSpot tries a webhook POST up to 10 times over 24 hours, each with a 5 s timeout.
        self.deliveries = Deliverer(
            "hubspot-webhooks",
            timeout=5.0,
            max_attempts=10,
            give_up_after=24 * 3600,
            clock=clock.time,
            verify=webhook_verify,
        )
        self.webhooks = WebhookHub(
            clock,
            self.deliveries,
            portal_id=portal_id,
            app_id=app_id,
            app_secret=app_secret,
            seed=seed,
        )
        self.state.listeners.append(self.webhooks.publish)
        self.marketer = Marketer(self.state)
        correlate = Correlator(seed)
        self.limits = Limits(
            clock,
            correlate,
            ten_second_limit=ten_second_limit,
            daily_limit=daily_limit,
            search_per_second=search_per_second,
        )
        self.apps = Apps()
        self.apps.add(token, scopes, app_id=app_id)
        self._next_app_id = app_id + 1
        api = Api(self.state, self.catalog, self.limits, correlate, self.apps)
        self.served = RequestCounts()
        routes = [
            *object_routes(api),
            *batch_routes(api),
            *property_routes(api),
            *meta_routes(api, portal_id=portal_id, user_id=INSTALLING_USER_ID),
            *control_routes(clock, self.faults, self.served),
            *sandbox_routes(self.marketer, self.webhooks, self.add_private_app),
        ]

        def server_error(request: Request, status: int) -> Response:
            return JSON(server_error_body(status, correlate()), status_code=status)

        def rate_limited(request: Request, status: int) -> Response:
            body = rate_limit_body("TEN_SECONDLY_ROLLING", correlate())
            return JSON(body, status_code=429, headers=self.limits.current_headers())

        async def no_route(request: Request, exc: Exception) -> Response:
            # A path or method no route serves: HubSpot's JSON, never the framework's text.
            status = getattr(exc, "status_code", 404)
            category = "OBJECT_NOT_FOUND" if status == 404 else "VALIDATION_ERROR"
            message = "resource not found" if status == 404 else "Method not allowed"
            return JSON(error_body(category, message, correlate()), status_code=status)

        self.app = CountingMiddleware(
            FaultMiddleware(
                Starlette(routes=routes, exception_handlers={404: no_route, 405: no_route}),
                self.faults,
                server_error,
                rate_limited,
            ),
            self.served,
            Endpoints(route.path for route in routes if isinstance(route, Route)),
        )

    def requests(self) -> dict[str, Any]:
        """Every request served so far, as GET /_sandbox/requests answers: {"total": N,
        "requests": [{"method", "endpoint", "status", "count"}, ...]}."""
        return self.served.report()

    def add_private_app(self, token: str, scopes: Iterable[str] | None = None) -> None:
        """Installs another private app on the portal: its own token and scopes (every
        scope when None), the portal's one rate-limit budget. For a token already installed
        it changes that app's scopes, the token staying, as an admin's edit does."""
        if self.apps.installed(token) is None:
            self.apps.add(token, scopes, app_id=self._next_app_id)
            self._next_app_id += 1
        else:
            self.apps.add(token, scopes)

    def subscribe(
        self,
        url: str,
        *,
        signature_version: str = "v3",
        properties: Iterable[str] | None = None,
        events: Iterable[str] | None = None,
    ) -> Subscription:
        """Register a webhook target. v3 signs every POST; "v1"/"v2" add the older header too."""
        return self.webhooks.subscribe(
            url, signature_version=signature_version, properties=properties, events=events
        )

    def close(self) -> None:
        self.deliveries.stop()
