"""Alert fixtures: leads in a migrated store and a simulated Slack (the shipped funnel is
tests/conftest.py's `funnel`).

The store fixtures (`empty_url`, `url`) come from tests/store: every store test here
runs on SQLite and on PostgreSQL, each PostgreSQL test in a schema of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadbridge.alerts.settings import SlackSettings
from leadbridge.alerts.slack import Slack
from leadbridge.model import Cause, Identity, Lead, System, Transition
from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.server import RunningServer, serve
from leadbridge.sandbox.slack import Message, SlackSim
from leadbridge.store import Store
from tests.store.conftest import empty_url, url

__all__ = ["empty_url", "url"]

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Story 6: Sam becomes MQL on a Monday
DAY = timedelta(days=1)
ALERTS_CHANNEL = "#revops-alerts"
ESCALATION_CHANNEL = "#sales-leads-escalations"
MENTION = "<!subteam^S0SALESLEADS>"


def lead(
    lead_id: str,
    stage: str = "mql",
    entered_at: datetime = MONDAY,
    *,
    first: str = "Sam",
    last: str | None = None,
    company: str = "Acme Logistics",
    owner: str | None = "005OWNER",
    hubspot: str | None = None,
    salesforce: str | None = None,
) -> Lead:
    return Lead(
        id=lead_id,
        stage=stage,
        stage_entered_at=entered_at,
        owner=owner,
        identity=Identity(hubspot=hubspot, salesforce_lead=salesforce),
        fields={"first_name": first, "last_name": last or lead_id, "company": company},
    )


def put(store: Store, *leads: Lead) -> None:
    """Save leads with their links and a journaled transition into their stage."""
    with store.transaction() as uow:
        for one in leads:
            uow.leads.save(one)
            if one.identity.hubspot:
                uow.links.link(one.id, System.HUBSPOT, "contact", one.identity.hubspot)
            if one.identity.salesforce_lead:
                uow.links.link(one.id, System.SALESFORCE, "Lead", one.identity.salesforce_lead)
            cause = Cause(
                System.HUBSPOT, "contact", one.identity.hubspot or one.id, one.stage_entered_at
            )
            uow.journal.append(
                one.id,
                [
                    Transition(
                        "lead",
                        one.stage,
                        "score_and_fit",
                        "score_passed",
                        cause,
                        one.stage_entered_at,
                    )
                ],
            )


@dataclass
class SlackWorld:
    """The simulated Slack on loopback, its webhooks, and a sleep that moves its clock.

    slack_sdk's retry handlers sleep through `sleep`, which advances the simulator's
    clock instead of waiting: a Retry-After of one second costs no real second, and
    the simulator's own 1-message-a-second window sees the time pass.
    """

    sim: SlackSim
    server: RunningServer
    waits: list[float] = field(default_factory=list)
    hooks: dict[str, str] = field(default_factory=dict)

    def webhook(self, channel: str) -> str:
        if channel not in self.hooks:
            self.hooks[channel] = self.server.url + self.sim.add_webhook(channel)
        return self.hooks[channel]

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sim.clock.advance(seconds)

    def settings(self, **sections: Any) -> SlackSettings:
        data: dict[str, Any] = {
            "webhook_url": self.webhook(ALERTS_CHANNEL),
            "escalation": {"webhook_url": self.webhook(ESCALATION_CHANNEL), "mention": MENTION},
            "links": {
                "hubspot_portal_id": "2424242",
                "salesforce_url": "https://acme.my.salesforce.com",
            },
        }
        data.update(sections)
        return SlackSettings.model_validate(data)

    def slack(self, **sections: Any) -> Slack:
        return Slack(self.settings(**sections), sleep=self.sleep)

    def messages(self, channel: str = ALERTS_CHANNEL) -> list[Message]:
        return self.sim.messages_in(channel)


@pytest.fixture
def slack_world() -> Iterator[SlackWorld]:
    sim = SlackSim(SimClock(), seed=11)
    server = serve(sim.app, "slack")
    try:
        yield SlackWorld(sim, server)
    finally:
        server.stop()


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = Store.open(url)
    try:
        yield opened
    finally:
        opened.close()
