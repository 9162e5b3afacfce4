"""The whole simulated world: HubSpot, Salesforce and Slack on one clock, served on loopback."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.hubspot import HubSpotSim
from leadbridge.sandbox.hubspot.limits import tier_limits
from leadbridge.sandbox.salesforce import SalesforceSim
from leadbridge.sandbox.seed import Population, populate
from leadbridge.sandbox.server import RunningServer, serve
from leadbridge.sandbox.slack import SlackSim
from leadbridge.sandbox.tls import TLSFiles, make_test_ca

ALERT_CHANNEL = "#revops-alerts"
PROFESSIONAL = tier_limits("professional")


@dataclass(frozen=True)
class Credentials:
    """What a real deployment would keep in its secret store, drawn from the seed."""

    hubspot_token: str
    hubspot_app_secret: str
    salesforce_client_id: str
    salesforce_client_secret: str
    salesforce_username: str
    salesforce_password: str
    salesforce_org_id: str

    @classmethod
    def draw(cls, rng: random.Random) -> Credentials:
        def hexes(n: int) -> str:
            return "".join(rng.choice("0123456789abcdef") for _ in range(n))

        return cls(
            hubspot_token=f"pat-na1-{hexes(8)}-{hexes(4)}-{hexes(4)}-{hexes(4)}-{hexes(12)}",
            hubspot_app_secret=f"{hexes(8)}-{hexes(4)}-{hexes(4)}-{hexes(4)}-{hexes(12)}",
            salesforce_client_id=f"3MVG9{hexes(40)}",
            salesforce_client_secret=hexes(64).upper(),
            salesforce_username="integration@leadbridge-sandbox.example",
            salesforce_password=hexes(16),
            salesforce_org_id="00D5g000004XyzAEAS",
        )


class Sandbox:
    """Builds the three simulators; `start()` serves them and returns the connection info."""

    def __init__(
        self,
        *,
        seed: int = 0,
        limits: bool = True,
        search_lag_seconds: float = 0.0,
        tls_dir: Path | None = None,
        clock: SimClock | None = None,
    ) -> None:
        rng = random.Random(seed)
        self.seed = seed
        self.credentials = creds = Credentials.draw(rng)
        self.clock = clock or SimClock()
        self._tls_dir = tls_dir
        self.tls: TLSFiles | None = None
        self.hubspot = HubSpotSim(
            self.clock,
            token=creds.hubspot_token,
            app_secret=creds.hubspot_app_secret,
            seed=seed,
            # A Professional portal's limits (190 per ten seconds, 650,000 a day), or none.
            ten_second_limit=PROFESSIONAL["ten_second_limit"] if limits else None,
            daily_limit=PROFESSIONAL["daily_limit"] if limits else None,
            search_per_second=5 if limits else None,
            search_lag_seconds=search_lag_seconds,
        )
        self.salesforce = SalesforceSim(
            self.clock,
            client_id=creds.salesforce_client_id,
            client_secret=creds.salesforce_client_secret,
            username=creds.salesforce_username,
            password=creds.salesforce_password,
            org_id=creds.salesforce_org_id,
            seed=seed,
            daily_api_limit=100_000 if limits else None,
        )
        self.slack = SlackSim(self.clock, seed=seed, per_second=1 if limits else None)
        self.slack_path = self.slack.add_webhook(ALERT_CHANNEL)
        self._servers: dict[str, RunningServer] = {}

    def populate(self, leads: int) -> Population:
        return populate(self.hubspot, self.salesforce, leads, self.seed)

    def start(self) -> dict[str, Any]:
        self.tls = make_test_ca(self._tls_dir)
        self._servers = {
            "hubspot": serve(self.hubspot.app, "hubspot", self.tls),
            "salesforce": serve(self.salesforce.app, "salesforce", self.tls),
            "slack": serve(self.slack.app, "slack"),
        }
        return self.info()

    def url(self, service: str) -> str:
        return self._servers[service].url

    def info(self) -> dict[str, Any]:
        """The one JSON line `leadbridge sandbox` prints: everything a client needs to connect."""
        if self.tls is None:
            raise RuntimeError("the sandbox is not started")
        creds = self.credentials
        return {
            "hubspot": {
                "url": self.url("hubspot"),
                "token": creds.hubspot_token,
                "app_secret": creds.hubspot_app_secret,
            },
            "salesforce": {
                "url": self.url("salesforce"),
                "client_id": creds.salesforce_client_id,
                "client_secret": creds.salesforce_client_secret,
                "username": creds.salesforce_username,
                "password": creds.salesforce_password,
                "org_id": creds.salesforce_org_id,
            },
            "slack": {"webhook_url": self.url("slack") + self.slack_path},
            "ca_bundle": str(self.tls.ca_bundle),
        }

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers = {}
        self.hubspot.close()
        self.salesforce.close()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
