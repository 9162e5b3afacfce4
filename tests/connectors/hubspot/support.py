"""Shared pieces of the HubSpot connector tests: a served portal, a connector pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.hubspot.settings import HubSpotSettings
from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.hubspot import HubSpotSim
from leadbridge.sandbox.server import RunningServer, serve
from leadbridge.sandbox.tls import TLSFiles

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
SECRET = "c0ffee00-1111-2222-3333-444455556666"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def settings_for(url: str, ca_bundle: str, /, **fields: Any) -> HubSpotSettings:
    """Settings for a connector pointed at a served portal: HubSpotSettings' defaults but for
    `fields` (benchmarks/connectors_hubspot.py uses it too)."""
    data = {"base_url": url, "token": TOKEN, "ca_bundle": ca_bundle, **fields}
    return HubSpotSettings.model_validate(data)


class HeldClock(SimClock):
    """The simulator's clock, which a test may also stop: thousands of records created while
    it is held share one lastmodifieddate, the crowd HubSpot's bulk imports make."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.held: float | None = None

    def time(self) -> float:
        return self.held if self.held is not None else super().time()

    def hold(self) -> None:
        self.held = super().time()

    def release(self) -> None:
        self.held = None

    def advance(self, seconds: float) -> datetime:
        if self.held is not None:
            self.held += seconds
        return super().advance(seconds)

    def sleep(self, seconds: float) -> None:
        """A connector's sleep that passes simulated time only: a wait of ten seconds for the
        rate-limit window costs the test nothing."""
        self.advance(seconds)


@dataclass
class Portal:
    sim: HubSpotSim
    clock: HeldClock
    server: RunningServer
    ca_bundle: str

    @property
    def url(self) -> str:
        return self.server.url

    def settings(self, **overrides: Any) -> HubSpotSettings:
        """Fast retries and no pacing, unless a test is about them."""
        data: dict[str, Any] = {
            "properties": ["firstname", "lastname", "lifecyclestage", "hs_lead_status"],
            "retry": {"attempts": 12, "base": 0.005, "cap": 0.05},
            "budget": {
                "ten_second_limit": None,
                "daily_limit": None,
                "search_per_second": None,
            },
            "timeout": 10,
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return settings_for(self.url, self.ca_bundle, **data)

    def connector(self, **overrides: Any) -> HubSpotConnector:
        return HubSpotConnector(self.settings(**overrides), clock=self.clock.now)

    def contact(self, contact_id: str) -> dict[str, Any]:
        found = self.sim.state.get_contact(contact_id)
        assert found is not None, contact_id
        return found


@contextmanager
def running_portal(tls_files: TLSFiles, **options: Any) -> Iterator[Portal]:
    """A portal over HTTPS; its limits are off unless a test turns them on."""
    clock = HeldClock(START)
    options.setdefault("ten_second_limit", None)
    options.setdefault("daily_limit", None)
    options.setdefault("search_per_second", None)
    sim = HubSpotSim(clock, token=TOKEN, app_secret=SECRET, **options)
    server = serve(sim.app, "hubspot", tls_files)
    try:
        yield Portal(sim, clock, server, str(tls_files.ca_bundle))
    finally:
        server.stop()
        sim.close()


def people(portal: Portal, count: int, prefix: str = "p", **properties: Any) -> list[str]:
    """Contacts created inside the simulator (no HTTP), their ids in creation order."""
    create = portal.sim.state.create_contact
    return [
        create({"email": f"{prefix}{n}@example.com", "firstname": f"F{n}", **properties})["id"]
        for n in range(count)
    ]
