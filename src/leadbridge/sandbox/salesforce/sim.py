"""`SalesforceSim`: one simulated org, its REST app, its sales rep and its Outbound Messages."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route
from starlette.types import ASGIApp

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.control import control_routes
from leadbridge.sandbox.delivery import Deliverer
from leadbridge.sandbox.faults import FaultInjector
from leadbridge.sandbox.salesforce.app import build_app
from leadbridge.sandbox.salesforce.context import Org
from leadbridge.sandbox.salesforce.control_api import org_routes, rep_routes, setup_routes
from leadbridge.sandbox.salesforce.cursors import QueryCursors
from leadbridge.sandbox.salesforce.ids import IdFactory
from leadbridge.sandbox.salesforce.limits import ApiUsage
from leadbridge.sandbox.salesforce.oauth import (
    Credentials,
    Sessions,
    approve_endpoint,
    jwt_routes,
    token_endpoint,
)
from leadbridge.sandbox.salesforce.orgschema import Unprepared
from leadbridge.sandbox.salesforce.outbound import OutboundMessages
from leadbridge.sandbox.salesforce.people import SalesRep
from leadbridge.sandbox.salesforce.state import OrgState
from leadbridge.sandbox.served import RequestCounts
from leadbridge.sandbox.server import RunningServer, serve
from leadbridge.sandbox.tls import TLSFiles

OUTBOUND_RETRY_SECONDS = 24 * 3600


class SalesforceSim:
    """A Salesforce org over HTTPS: serve `.app` (or call `.serve(tls)`) and point
    simple-salesforce at it with a token from POST /services/oauth2/token. `.requests()`
    counts every request it served (`.usage` is the org's daily API allocation, which
    counts only the REST calls it let through)."""

    def __init__(
        self,
        clock: SimClock,
        *,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        org_id: str = "00D5g000004XyzAEAS",
        seed: int = 0,
        daily_api_limit: int | None = 100_000,
        session_seconds: float = 7200,
        outbound_verify: str | bool = True,
        unprepared: Unprepared | None = None,
    ) -> None:
        """`unprepared` names what the org lacks (custom fields, Lead Status values, field
        access, unique external ids); None is the fully prepared org."""
        self.clock = clock
        self.org_id = org_id
        self.ids = IdFactory(seed)
        self.integration_user_id = self.ids.new("005")
        self.rep_user_id = self.ids.new("005")
        self.state = OrgState(
            clock,
            self.ids,
            users={self.integration_user_id: "Integration User", self.rep_user_id: "Riley Chen"},
            integration_user=self.integration_user_id,
            actor=self.rep_user_id,
            unprepared=unprepared,
        )
        self.sessions = Sessions(clock, org_id, session_seconds)
        self.usage = ApiUsage(clock, daily_api_limit)
        self.faults = FaultInjector(seed=seed)
        # Salesforce retries an unacknowledged message for 24 hours, however many tries that is.
        self.deliveries = Deliverer(
            "salesforce-outbound",
            verify=outbound_verify,
            max_attempts=None,
            give_up_after=OUTBOUND_RETRY_SECONDS,
            clock=clock.time,
        )
        self.instance_url: str | None = None
        self.outbound = OutboundMessages(
            self.state,
            self.deliveries,
            self.ids,
            org_id=org_id,
            instance_url=lambda: self.instance_url or "https://127.0.0.1",
        )
        self.rep = SalesRep(self.state, self.rep_user_id, "Riley Chen")
        self.credentials = Credentials(client_id, client_secret, username, password)
        self.served = RequestCounts()
        org = Org(
            clock, self.state, self.sessions, self.usage, QueryCursors(clock, self.ids), org_id
        )
        self.app: ASGIApp = build_app(
            org,
            token_endpoint(self.sessions, self.credentials, org_id, self.integration_user_id),
            [
                *control_routes(clock, self.faults, self.served),
                *rep_routes(self.rep),
                *org_routes(self.state, self.sessions, self.outbound, self.deliveries),
                *setup_routes(self.state),
                *jwt_routes(self.credentials.apps),
                Route(
                    "/_sandbox/oauth/approve",
                    approve_endpoint(
                        self.sessions, self.credentials, org_id, self.integration_user_id
                    ),
                    methods=["POST"],
                ),
            ],
            self.faults,
            self._remember_base,
            self.served,
        )
        self._server: RunningServer | None = None

    def serve(self, tls: TLSFiles) -> RunningServer:
        """Starts the org on a free loopback port over HTTPS; `.close()` stops it."""
        self._server = serve(self.app, "salesforce", tls)
        self.instance_url = self._server.url
        return self._server

    def requests(self) -> dict[str, Any]:
        """Every request served so far, as GET /_sandbox/requests answers: {"total": N,
        "requests": [{"method", "endpoint", "status", "count"}, ...]}."""
        return self.served.report()

    def add_outbound_message(self, sobject: str, url: str, fields: list[str]) -> str:
        """Notifies `url` of every create and update of `sobject`; answers the ActionId."""
        return self.outbound.add(sobject, url, fields).action_id

    def issue_token(self) -> str:
        """A live session for the integration user, as the token endpoint would issue."""
        return self.sessions.issue(self.integration_user_id).token

    def issue_refresh_token(self) -> str:
        """A refresh token for the integration user, as the web-server flow would issue."""
        return self.sessions.issue_refresh_token(self.integration_user_id)

    def deploy(
        self,
        *,
        fields: list[str] | tuple[str, ...] = (),
        lead_statuses: list[str] | tuple[str, ...] = (),
        permission_set: list[str] | tuple[str, ...] = (),
    ) -> dict[str, object]:
        """What a Metadata API deploy would do (see `OrgState.deploy`); answers what is lacking."""
        return self.state.deploy(
            fields=fields, lead_statuses=lead_statuses, permission_set=permission_set
        )

    def expire_sessions(self) -> None:
        self.sessions.expire_all()

    def close(self) -> None:
        self.outbound.close()
        self.deliveries.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _remember_base(self, base: str) -> None:
        if self.instance_url is None:
            self.instance_url = base
