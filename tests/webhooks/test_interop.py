"""The sandbox's senders deliver to the receiver over real HTTP on loopback.

The simulated HubSpot signs its webhooks and the simulated Salesforce builds its
Outbound Messages with their own code; the receiver must take exactly those,
and refuse them when its settings say they are not for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from leadbridge.connectors.hubspot.settings import Push
from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.hubspot import HubSpotSim
from leadbridge.sandbox.salesforce import SalesforceSim
from leadbridge.sandbox.salesforce.outbound import acknowledged
from leadbridge.sandbox.server import serve
from leadbridge.telemetry.metrics import Metrics
from leadbridge.webhooks import Readiness, SalesforceHooks, create_app
from tests.webhooks.support import SECRET, Inbox, push

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OTHER_ORG = "00D5g000009QrsTEAS"


@contextmanager
def receiver(
    clock: SimClock, build: Callable[[str], tuple[Push | None, SalesforceHooks | None]]
) -> Iterator[tuple[str, Inbox]]:
    """The webhook app on a loopback port. Its settings need its own URL (HubSpot signs the
    public URL), so the server starts first and the app is put behind it once that is known."""
    inbox = Inbox()
    late: list[ASGIApp] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await late[0](scope, receive, send)

    server = serve(app, "leadbridge-webhooks")
    hubspot, salesforce = build(server.url)
    late.append(
        create_app(
            inbox,
            hubspot=hubspot,
            salesforce=salesforce,
            readiness=lambda: Readiness(True, {}),
            metrics=Metrics(),
            clock=clock.now,
        )
    )
    try:
        yield server.url, inbox
    finally:
        server.stop()


@pytest.fixture
def portal() -> Iterator[HubSpotSim]:
    sim = HubSpotSim(SimClock(START), token="pat-na1-test", app_secret=SECRET)
    sim.deliveries.backoff = lambda attempt: 0.02
    sim.webhooks.reorder_seconds = 0.0
    yield sim
    sim.close()


@pytest.mark.parametrize("version", ["v3", "v1", "v2"])
def test_hubspot_webhooks_arrive_as_hints(portal: HubSpotSim, version: str) -> None:
    def settings(url: str) -> tuple[Push, None]:
        return push(public_url=f"{url}/webhooks/hubspot", signature_versions=[version]), None

    with receiver(portal.clock, settings) as (url, inbox):
        # The query string is part of what HubSpot signs; the public URL leaves it to the request.
        portal.subscribe(f"{url}/webhooks/hubspot?portal=62515", signature_version=version)
        state = portal.state
        a = state.create_contact({"email": "a@example.com", "firstname": "A"})["id"]
        b = state.create_contact({"email": "b@example.com"})["id"]
        state.update_contact(a, {"lifecyclestage": "lead"})
        state.merge_contacts(a, b)
        assert portal.deliveries.wait_idle(10)
    statuses = {attempt.status for attempt in portal.deliveries.attempts}
    assert statuses == {200}
    assert {hint.id for hint in inbox.hints} >= {str(a), str(b)}
    assert all(hint.object == "contact" for hint in inbox.hints)
    assert inbox.nudges == len(inbox.batches) >= 1


def test_hubspot_webhooks_signed_with_another_secret_are_refused(portal: HubSpotSim) -> None:
    portal.deliveries.max_attempts = 2

    def settings(url: str) -> tuple[Push, None]:
        return push(public_url=f"{url}/webhooks/hubspot", app_secret="not-the-apps-secret"), None

    with receiver(portal.clock, settings) as (url, inbox):
        portal.subscribe(f"{url}/webhooks/hubspot")
        portal.state.create_contact({"email": "forged@example.com"})
        assert portal.deliveries.wait_idle(10)
    assert [attempt.status for attempt in portal.deliveries.attempts] == [401, 401]
    assert inbox.hints == []


@pytest.fixture
def org() -> Iterator[SalesforceSim]:
    sim = SalesforceSim(
        SimClock(START),
        client_id="client",
        client_secret="secret",
        username="integration@example.com",
        password="password",
    )
    sim.deliveries.backoff = lambda attempt: 0.02
    yield sim
    sim.close()


def test_outbound_messages_arrive_as_hints_and_are_acked(org: SalesforceSim) -> None:
    def settings(url: str) -> tuple[None, SalesforceHooks]:
        return None, SalesforceHooks(org.org_id[:15], check_org_id=True)

    with receiver(org.clock, settings) as (url, inbox):
        org.add_outbound_message("Lead", f"{url}/webhooks/salesforce", ["Email", "Status"])
        leads = [
            org.state.create("Lead", {"LastName": f"L{n}", "Company": "Acme", "Email": f"{n}@a.io"})
            for n in range(3)
        ]
        org.state.update("Lead", leads[0], {"Status": "Working"})
        assert org.deliveries.wait_idle(10)
    attempts = org.deliveries.attempts
    assert attempts and all(acknowledged(a.status or 0, a.body) for a in attempts)
    assert {(h.system.value, h.object, h.id) for h in inbox.hints} == {
        ("salesforce", "Lead", lead) for lead in leads
    }


def test_outbound_messages_from_another_org_are_never_acked(org: SalesforceSim) -> None:
    def settings(url: str) -> tuple[None, SalesforceHooks]:
        return None, SalesforceHooks(OTHER_ORG, check_org_id=True)

    with receiver(org.clock, settings) as (url, inbox):
        org.add_outbound_message("Lead", f"{url}/webhooks/salesforce", ["Email"])
        org.state.create("Lead", {"LastName": "Forged", "Company": "Elsewhere"})
        deadline = time.monotonic() + 10
        while len(org.deliveries.attempts) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        org.close()  # it would retry for a simulated day
    attempts = org.deliveries.attempts
    assert len(attempts) >= 3
    assert all(a.status == 403 and not acknowledged(403, a.body) for a in attempts)
    assert inbox.hints == []
