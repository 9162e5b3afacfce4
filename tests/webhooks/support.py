"""What the webhook tests share: a recording inbox, settings, signed requests, SOAP bodies."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import orjson

from leadbridge.connectors.hubspot.settings import Push
from leadbridge.model import Hint
from leadbridge.sandbox.hubspot.signing import signed_headers
from leadbridge.telemetry.metrics import Metrics
from leadbridge.webhooks import Readiness, SalesforceHooks, create_app
from tests.webhooks.asgi import Answer, Caller

SECRET = "c0ffee00-1111-2222-3333-444455556666"
PUBLIC_URL = "https://hooks.acme.example/leadbridge/webhooks/hubspot"
ORG_ID = "00D5g000004XyzAEAS"  # 18 characters; the first 15 are the org
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


@dataclass
class Inbox:
    """The Receiver: remembers what it stored and how often it was nudged; can be broken."""

    failing: bool = False
    batches: list[list[Hint]] = field(default_factory=list)
    nudges: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, hints: Sequence[Hint]) -> None:
        if self.failing:
            raise ConnectionError("the database went away")
        with self.lock:
            self.batches.append(list(hints))

    def nudge(self) -> None:
        with self.lock:
            self.nudges += 1

    @property
    def hints(self) -> list[Hint]:
        with self.lock:
            return [hint for batch in self.batches for hint in batch]

    def ids(self) -> list[tuple[str, str, str]]:
        return [(h.system.value, h.object, h.id) for h in self.hints]

    def clear(self) -> None:
        with self.lock:
            self.batches.clear()
            self.nudges = 0


def push(**overrides: Any) -> Push:
    """HubSpot push settings validated the way connectors/hubspot.yaml is."""
    values: dict[str, Any] = {
        "enabled": True,
        "app_secret": SECRET,
        "signature_versions": ["v3"],
        "public_url": PUBLIC_URL,
    }
    values.update(overrides)
    return Push.model_validate(values)


def hooks(org_id: str | None = ORG_ID, check: bool = True) -> SalesforceHooks:
    return SalesforceHooks(org_id, check)


@dataclass
class Served:
    """The app under test, driven in-process, with the inbox and metrics it was given."""

    caller: Caller
    inbox: Inbox
    metrics: Metrics
    clock: list[datetime]

    def hubspot(
        self,
        body: bytes,
        headers: dict[str, str] | list[tuple[str, str]],
        query: bytes = b"",
        **options: Any,
    ) -> Answer:
        pairs = list(headers.items()) if isinstance(headers, dict) else headers
        return self.caller.request(
            "POST", "/webhooks/hubspot", body=body, headers=pairs, query=query, **options
        )

    def salesforce(self, body: bytes, **options: Any) -> Answer:
        headers = [("content-type", "text/xml; charset=utf-8"), ("soapaction", '""')]
        return self.caller.request(
            "POST", "/webhooks/salesforce", body=body, headers=headers, **options
        )

    def get(self, path: str) -> Answer:
        return self.caller.request("GET", path)

    def counted(self, endpoint: str, outcome: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "leadbridge_webhook_requests_total", {"endpoint": endpoint, "outcome": outcome}
        )
        return value or 0.0


def serve(
    *,
    hubspot: Push | None = None,
    salesforce: SalesforceHooks | None = None,
    inbox: Inbox | None = None,
    readiness: Readiness | None = None,
    metrics: Metrics | None = None,
) -> Served:
    clock = [NOW]
    inbox = inbox or Inbox()
    metrics = metrics or Metrics()
    state = readiness or Readiness(True, {"store": "ok"})
    app = create_app(
        inbox,
        hubspot=hubspot,
        salesforce=salesforce,
        readiness=lambda: state,
        metrics=metrics,
        clock=lambda: clock[0],
    )
    return Served(Caller(app), inbox, metrics, clock)


def events_body(*events: dict[str, Any]) -> bytes:
    return orjson.dumps(list(events))


def event(kind: str, object_id: int, **extra: Any) -> dict[str, Any]:
    """One event as HubSpot (and the sandbox) shapes it."""
    return {
        "eventId": 1_000_000 + object_id,
        "subscriptionId": 1_234_567,
        "portalId": 62515,
        "appId": 1160452,
        "occurredAt": NOW_MS - 1000,
        "subscriptionType": kind,
        "attemptNumber": 0,
        "objectId": object_id,
        "changeSource": "CRM_UI",
        **extra,
    }


def signed(
    body: bytes,
    *,
    url: str = PUBLIC_URL,
    at_ms: int = NOW_MS,
    secret: str = SECRET,
    legacy: str | None = None,
) -> dict[str, str]:
    """Headers as HubSpot sends them, signed by the sandbox's signer (not the code under test)."""
    return signed_headers(secret, url, body, at_ms, legacy)


def envelope(
    records: Sequence[tuple[str, str]],
    *,
    org_id: str = ORG_ID,
    action_id: str = "04k5g000000A1bCAAS",
    doctype: str = "",
) -> bytes:
    """An Outbound Message as Salesforce sends it: one Notification per (sObject, record id)."""
    notifications = "".join(
        "<Notification><Id>04l5g00000"
        f"{index:05d}AAA</Id>"
        f'<sObject xsi:type="sf:{kind}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>{escape(record)}</sf:Id><sf:Email>lead{index}@example.com</sf:Email>"
        "</sObject></Notification>"
        for index, (kind, record) in enumerate(records)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{escape(org_id)}</OrganizationId><ActionId>{action_id}</ActionId>"
        '<SessionId xsi:nil="true"/>'
        "<EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/59.0/00D5g000004XyzA"
        "</EnterpriseUrl>"
        "<PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/59.0/00D5g000004XyzA"
        f"</PartnerUrl>{notifications}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


LEAD_A = "00Q5g000008AbCdEAK"
LEAD_B = "00Q5g000008XyZwEAK"
CONTACT = "0035g00000DeFgHAAV"
