"""Webhook subscriptions: contact changes become signed JSON arrays POSTed at least once.

Like HubSpot, deliveries are batched (up to 100 events a POST), unordered, and
sometimes repeated with the same eventId; the seeded randomness makes a test's
duplicates and reorderings repeat. The Deliverer retries until a 2xx.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.delivery import Deliverer, Render
from leadbridge.sandbox.hubspot.records import Change
from leadbridge.sandbox.hubspot.signing import VERSIONS, signed_headers

EVENT_TYPES = frozenset(
    {"contact.creation", "contact.propertyChange", "contact.deletion", "contact.merge"}
)
_FLAGS = {"creation": "CREATED", "deletion": "DELETED", "merge": "MERGED"}


@dataclass(frozen=True)
class Subscription:
    id: int
    url: str
    signature_version: str
    properties: frozenset[str] | None  # propertyChange only for these; None: every property
    events: frozenset[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "signatureVersion": self.signature_version,
            "properties": sorted(self.properties) if self.properties is not None else None,
            "events": sorted(self.events),
        }


class WebhookHub:
    def __init__(
        self,
        clock: SimClock,
        deliverer: Deliverer,
        *,
        portal_id: int,
        app_id: int,
        app_secret: str,
        seed: int = 0,
    ) -> None:
        self.clock = clock
        self.deliverer = deliverer
        self.portal_id = portal_id
        self.app_id = app_id
        self.app_secret = app_secret
        self.batch_size = 100
        self.duplicate_rate = 0.02  # chance a batch is delivered twice
        self.reorder_seconds = 0.05  # each batch waits up to this long (real time): order scrambles
        self._rng = random.Random(f"webhooks-{seed}")
        self._lock = threading.Lock()
        self._subscriptions: dict[int, Subscription] = {}
        self._next_subscription = 1_000_000 + self._rng.randrange(1_000_000)
        self._next_event = 10**9 + self._rng.randrange(10**9)
        self.published = 0  # events handed to the deliverer, duplicates not counted

    def subscribe(
        self,
        url: str,
        *,
        signature_version: str = "v3",
        properties: Iterable[str] | None = None,
        events: Iterable[str] | None = None,
    ) -> Subscription:
        if signature_version not in VERSIONS:
            raise ValueError(f"signature_version must be one of {VERSIONS}")
        wanted = frozenset(events) if events is not None else EVENT_TYPES
        unknown = wanted - EVENT_TYPES
        if unknown:
            raise ValueError(
                f"unknown event types {sorted(unknown)}; expected {sorted(EVENT_TYPES)}"
            )
        with self._lock:
            subscription = Subscription(
                self._next_subscription,
                url,
                signature_version,
                frozenset(properties) if properties is not None else None,
                wanted,
            )
            self._next_subscription += 1
            self._subscriptions[subscription.id] = subscription
        return subscription

    def subscriptions(self) -> list[Subscription]:
        with self._lock:
            return list(self._subscriptions.values())

    def publish(self, changes: list[Change]) -> None:
        """Called by the store for every committed change set."""
        with self._lock:
            for subscription in self._subscriptions.values():
                events = [self._event(subscription, c) for c in changes if _wants(subscription, c)]
                for start in range(0, len(events), self.batch_size):
                    self._send(subscription, events[start : start + self.batch_size])

    def _event(self, subscription: Subscription, change: Change) -> dict[str, Any]:
        event: dict[str, Any] = {
            "eventId": self._next_event,
            "subscriptionId": subscription.id,
            "portalId": self.portal_id,
            "appId": self.app_id,
            "occurredAt": change.occurred_ms,
            "subscriptionType": f"contact.{change.kind}",
            "attemptNumber": 0,
            "objectId": change.object_id,
            "changeSource": change.source,
        }
        self._next_event += 1
        if change.kind == "propertyChange":
            event["propertyName"] = change.name
            event["propertyValue"] = change.value
        else:
            event["changeFlag"] = _FLAGS[change.kind]
        if change.source == "INTEGRATION":
            event["sourceId"] = str(self.app_id)
        event.update(change.extra)
        return event

    def _send(self, subscription: Subscription, events: list[dict[str, Any]]) -> None:
        rng = self._rng
        if self.reorder_seconds > 0:
            rng.shuffle(events)
        delay = rng.uniform(0, self.reorder_seconds)
        render = self._renderer(subscription, events)
        self.deliverer.enqueue(subscription.url, render, delay)
        self.published += len(events)
        if rng.random() < self.duplicate_rate:
            # At least once: the same events, same eventIds, arriving again a little later.
            self.deliverer.enqueue(subscription.url, render, delay + rng.uniform(0.01, 0.2))

    def _renderer(self, subscription: Subscription, events: list[dict[str, Any]]) -> Render:
        legacy = subscription.signature_version if subscription.signature_version != "v3" else None

        def render(attempt: int) -> tuple[bytes, dict[str, str]]:
            # HubSpot counts attempts from 0; the deliverer from 1.
            body = orjson.dumps([{**event, "attemptNumber": attempt - 1} for event in events])
            stamp = int(self.clock.time() * 1000)
            return body, signed_headers(self.app_secret, subscription.url, body, stamp, legacy)

        return render


def _wants(subscription: Subscription, change: Change) -> bool:
    if f"contact.{change.kind}" not in subscription.events:
        return False
    if change.kind != "propertyChange" or subscription.properties is None:
        return True
    return change.name in subscription.properties
