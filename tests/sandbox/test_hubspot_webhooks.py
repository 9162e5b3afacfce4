"""Webhooks: signed arrays of events, batched, at least once, unordered, retried until 2xx."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import unquote

import pytest
import requests
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicMergeInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)

from tests.sandbox import hubspot_fixtures as fx

portal = fx.portal
receiver = fx.receiver
Portal = fx.Portal
Receiver = fx.Receiver

EVENT_FIELDS = {
    "eventId",
    "subscriptionId",
    "portalId",
    "appId",
    "occurredAt",
    "subscriptionType",
    "attemptNumber",
    "objectId",
    "changeSource",
}


def _verify_v3(delivery: fx.Delivery, secret: str) -> bool:
    """An independent check, written from HubSpot's docs rather than the simulator's code."""
    stamp = delivery.headers["x-hubspot-request-timestamp"]
    source = "POST" + unquote(delivery.url) + delivery.body.decode() + stamp
    digest = hmac.new(secret.encode(), source.encode(), hashlib.sha256).digest()
    return hmac.compare_digest(
        base64.b64encode(digest).decode(), delivery.headers["x-hubspot-signature-v3"]
    )


def _quiet(portal: Portal) -> None:
    portal.sim.webhooks.reorder_seconds = 0.0
    portal.sim.webhooks.duplicate_rate = 0.0


def _drain(portal: Portal) -> None:
    assert portal.sim.deliveries.wait_idle(10)


def test_a_created_contact_arrives_as_signed_creation_and_property_events(
    portal: Portal, receiver: Receiver
) -> None:
    _quiet(portal)
    portal.sim.subscribe(receiver.url)
    before = int(portal.clock.time() * 1000)
    created = portal.client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "hook@example.com", "firstname": "H"})
    )
    _drain(portal)
    assert len(receiver.deliveries) == 1
    delivery = receiver.deliveries[0]
    assert delivery.headers["content-type"] == "application/json"
    assert _verify_v3(delivery, fx.SECRET)
    assert not _verify_v3(delivery, "another-secret")
    stamp = int(delivery.headers["x-hubspot-request-timestamp"])
    assert abs(stamp - before) < 5000  # simulated milliseconds, "now" for the receiver
    events = delivery.events
    kinds = sorted((e["subscriptionType"], e.get("propertyName")) for e in events)
    assert kinds == [
        ("contact.creation", None),
        ("contact.propertyChange", "email"),
        ("contact.propertyChange", "firstname"),
    ]
    for event in events:
        assert set(event) >= EVENT_FIELDS
        assert event["objectId"] == int(created.id)
        assert (event["portalId"], event["appId"]) == (62515, 1160452)
        assert event["attemptNumber"] == 0 and event["changeSource"] == "INTEGRATION"
        assert event["occurredAt"] >= before
    assert next(e for e in events if e.get("propertyName") == "email")["propertyValue"] == (
        "hook@example.com"
    )
    assert len({e["eventId"] for e in events}) == 3


def test_legacy_signature_versions_are_sent_alongside_v3(
    portal: Portal, receiver: Receiver
) -> None:
    _quiet(portal)
    portal.sim.subscribe(receiver.url, signature_version="v1", events=["contact.creation"])
    portal.sim.state.create_contact({"email": "v1@example.com"})
    _drain(portal)
    delivery = receiver.deliveries[0]
    assert delivery.headers["x-hubspot-signature-version"] == "v1"
    expected = hashlib.sha256(fx.SECRET.encode() + delivery.body).hexdigest()
    assert delivery.headers["x-hubspot-signature"] == expected
    assert _verify_v3(delivery, fx.SECRET)


def test_events_come_in_batches_of_at_most_100(portal: Portal, receiver: Receiver) -> None:
    _quiet(portal)
    portal.sim.subscribe(receiver.url)
    portal.client.crm.contacts.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties={"email": f"m{n}@example.com", "lastname": f"M{n}"}
                )
                for n in range(60)
            ]
        )
    )
    _drain(portal)
    sizes = sorted(len(d.events) for d in receiver.deliveries)
    assert sum(sizes) == 180 and max(sizes) == 100


@pytest.mark.parametrize(("events", "posts"), [(100, [100]), (101, [1, 100])])
def test_a_post_carries_100_events_and_the_101st_travels_in_another(
    portal: Portal, receiver: Receiver, events: int, posts: list[int]
) -> None:
    _quiet(portal)
    portal.sim.subscribe(receiver.url, events=["contact.creation"])
    store = portal.sim.state
    with store.transaction():  # one commit: its events are published together
        for n in range(events):
            store.create({"email": f"e{n}@example.com"}, "IMPORT")
    _drain(portal)
    assert sorted(len(d.events) for d in receiver.deliveries) == posts
    assert len({e["eventId"] for e in receiver.events()}) == events


def test_a_post_is_tried_10_times_at_most(portal: Portal, receiver: Receiver) -> None:
    _quiet(portal)
    receiver.statuses = [500] * 12
    portal.sim.subscribe(receiver.url, events=["contact.creation"])
    portal.sim.state.create_contact({"email": "never-acked@example.com"})
    _drain(portal)
    assert [d.events[0]["attemptNumber"] for d in receiver.deliveries] == list(range(10))
    assert portal.sim.deliveries.given_up == 1


def test_property_filter_and_persona_change_sources(portal: Portal, receiver: Receiver) -> None:
    _quiet(portal)
    portal.sim.subscribe(
        receiver.url,
        properties=["lifecyclestage", "hubspotscore"],
        events=["contact.propertyChange"],
    )
    marketer = portal.sim.marketer
    contact_id = marketer.new_contact("ivy@example.com", "Ivy", "Lee", company="Ivy Co")
    marketer.fill_form("ivy@example.com", "webinar")
    marketer.set_score(contact_id, 55)
    portal.client.crm.contacts.basic_api.update(
        contact_id, SimplePublicObjectInput(properties={"lifecyclestage": "marketingqualifiedlead"})
    )
    _drain(portal)
    seen = [
        (e["propertyName"], e["propertyValue"], e["changeSource"])
        for e in sorted(receiver.events(), key=lambda e: e["eventId"])
    ]
    assert seen == [
        ("lifecyclestage", "subscriber", "CRM_UI"),
        ("lifecyclestage", "lead", "FORM"),
        ("hubspotscore", "55", "CALCULATED"),
        ("lifecyclestage", "marketingqualifiedlead", "INTEGRATION"),
    ]


def test_deletion_and_merge_events(portal: Portal, receiver: Receiver) -> None:
    _quiet(portal)
    portal.sim.subscribe(receiver.url, events=["contact.deletion", "contact.merge"])
    state = portal.sim.state
    a = state.create_contact({"email": "a@example.com"})["id"]
    b = state.create_contact({"email": "b@example.com"})["id"]
    c = state.create_contact({"email": "c@example.com"})["id"]
    merged = portal.client.crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id=a, object_id_to_merge=b)
    )
    portal.client.crm.contacts.basic_api.archive(c)
    _drain(portal)
    events = {e["subscriptionType"]: e for e in receiver.events()}
    assert set(events) == {"contact.merge", "contact.deletion"}
    merge = events["contact.merge"]
    assert merge["primaryObjectId"] == int(a) and merge["mergedObjectIds"] == [int(b)]
    assert merge["newObjectId"] == int(merged.id) == merge["objectId"]
    assert events["contact.deletion"]["objectId"] == int(c)


def test_deliveries_are_retried_until_2xx_with_growing_attempt_numbers(
    portal: Portal, receiver: Receiver
) -> None:
    _quiet(portal)
    receiver.statuses = [500, 503, 404]
    portal.sim.subscribe(receiver.url, events=["contact.creation"])
    portal.sim.state.create_contact({"email": "retry@example.com"})
    _drain(portal)
    attempts = [d.events[0]["attemptNumber"] for d in receiver.deliveries]
    assert attempts == [0, 1, 2, 3]
    assert len({d.events[0]["eventId"] for d in receiver.deliveries}) == 1
    assert all(_verify_v3(d, fx.SECRET) for d in receiver.deliveries)
    assert [a.status for a in portal.sim.deliveries.attempts] == [500, 503, 404, 200]


def test_duplicates_repeat_event_ids_and_batches_arrive_out_of_order(
    portal: Portal, receiver: Receiver
) -> None:
    hub = portal.sim.webhooks
    hub.duplicate_rate, hub.reorder_seconds = 0.5, 0.3
    portal.sim.subscribe(receiver.url, events=["contact.creation"])
    for n in range(20):
        portal.sim.state.create_contact({"email": f"o{n}@example.com"})
    _drain(portal)
    ids = [e["eventId"] for e in receiver.events()]
    assert len(set(ids)) == 20
    assert len(ids) > 20, "some events must have been delivered twice"
    first_seen = list(dict.fromkeys(ids))
    assert first_seen != sorted(first_seen), "deliveries must not keep creation order"


def test_the_webhook_control_endpoint_subscribes_and_reports(
    portal: Portal, receiver: Receiver
) -> None:
    _quiet(portal)
    session = requests.Session()
    session.verify = portal.ca_bundle
    made = session.post(
        portal.url + "/_sandbox/webhooks",
        json={"url": receiver.url, "events": ["contact.creation"]},
        timeout=5,
    )
    assert made.status_code == 200 and made.json()["signatureVersion"] == "v3"
    answer = session.post(
        portal.url + "/_sandbox/marketer/contacts",
        json={"email": "ctl@example.com", "firstname": "Ctl", "numemployees": 30},
        timeout=5,
    )
    contact_id = answer.json()["id"]
    _drain(portal)
    report: dict[str, Any] = session.get(portal.url + "/_sandbox/webhooks", timeout=5).json()
    assert report["published"] == 1 and report["pending"] == 0 and report["attempts"] == 1
    assert receiver.events()[0]["objectId"] == int(contact_id)
    bad = session.post(portal.url + "/_sandbox/webhooks", json={"url": ""}, timeout=5)
    assert bad.status_code == 400


@pytest.mark.parametrize("version", ["v4", "v0"])
def test_unknown_signature_versions_are_refused(portal: Portal, version: str) -> None:
    with pytest.raises(ValueError, match="signature_version"):
        portal.sim.subscribe("http://127.0.0.1:9/x", signature_version=version)
