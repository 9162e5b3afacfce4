"""POST /webhooks/hubspot: verified over the exact bytes and the public URL, then hinted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.datastructures import Headers

from leadbridge.connectors.hubspot.settings import Push
from leadbridge.model import Hint, System
from leadbridge.telemetry.metrics import Metrics
from leadbridge.webhooks import Readiness, create_app
from leadbridge.webhooks.intake import MAX_BODY, Rejected
from leadbridge.webhooks.signature import signature_v3, verify
from tests.webhooks.support import (
    NOW,
    NOW_MS,
    PUBLIC_URL,
    SECRET,
    Inbox,
    Served,
    event,
    events_body,
    push,
    serve,
    signed,
)

CREATED = events_body(
    event("contact.creation", 101),
    event("contact.propertyChange", 101, propertyName="email", propertyValue="a@example.com"),
    event("contact.propertyChange", 102, propertyName="lifecyclestage", propertyValue="lead"),
)


@pytest.fixture
def app() -> Served:
    return serve(hubspot=push())


def _contacts(inbox: Inbox) -> list[str]:
    return [hint.id for hint in inbox.hints]


def test_published_v3_vector() -> None:
    """HubSpot's own example (API-FACTS): the signature, then the whole check at that time."""
    secret, url = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", "https://www.example.com/webhook_uri"
    body = b"{'example_field':'example_value'}"
    expected = b"HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
    assert signature_v3(secret.encode(), "POST", url, body, "15000000") == expected
    settings = push(app_secret=secret, public_url=url)
    headers = Headers(
        {"X-HubSpot-Signature-v3": expected.decode(), "X-HubSpot-Request-Timestamp": "15000000"}
    )
    at = datetime.fromtimestamp(15000, UTC)
    assert verify(settings, "POST", b"", body, headers, at) == "v3"
    with pytest.raises(Rejected) as refused:
        verify(settings, "POST", b"", body + b" ", headers, at)
    assert refused.value.status == 401


def test_a_signed_delivery_becomes_one_hint_per_contact_then_a_nudge(app: Served) -> None:
    answer = app.hubspot(CREATED, signed(CREATED))
    assert (answer.status, answer.text) == (200, "ok")
    assert app.inbox.hints == [
        Hint(System.HUBSPOT, "contact", "101", NOW),
        Hint(System.HUBSPOT, "contact", "102", NOW),
    ]
    assert len(app.inbox.batches) == 1 and app.inbox.nudges == 1
    assert app.counted("hubspot", "accepted") == 1


def test_a_merge_hints_the_survivor_and_every_merged_contact(app: Served) -> None:
    merge = event(
        "contact.merge", 301, primaryObjectId=201, mergedObjectIds=[202, 203], newObjectId=301
    )
    body = events_body(merge, event("contact.deletion", 204), event("contact.restore", 205))
    assert app.hubspot(body, signed(body)).status == 200
    assert _contacts(app.inbox) == ["301", "201", "202", "203", "204", "205"]


def test_unknown_subscription_types_are_counted_and_answered_200(app: Served) -> None:
    body = events_body(
        event("company.creation", 9),
        event("deal.propertyChange", 10),
        {"subscriptionType": "contact.associationChange", "fromObjectId": 1, "toObjectId": 2},
    )
    assert app.hubspot(body, signed(body)).status == 200
    assert app.inbox.batches == [] and app.inbox.nudges == 0  # nothing to store, nothing to do
    ignored = app.metrics.registry.get_sample_value(
        "leadbridge_webhook_events_total", {"endpoint": "hubspot", "outcome": "ignored"}
    )
    assert ignored == 3


@pytest.mark.parametrize(
    "tamper",
    [
        "wrong secret",
        "one body byte",
        "another url",
        "no signature",
        "no timestamp",
        "timestamp changed",
        "signature twice",
        "non-ascii signature",
        "signed GET",
    ],
)
def test_a_request_not_signed_exactly_is_401_and_stores_nothing(app: Served, tamper: str) -> None:
    headers = signed(CREATED)
    body = CREATED
    pairs: list[tuple[str, str]] = list(headers.items())
    if tamper == "wrong secret":
        pairs = list(signed(CREATED, secret="another-secret").items())
    elif tamper == "one body byte":
        body = CREATED.replace(b"101", b"109", 1)
    elif tamper == "another url":
        pairs = list(signed(CREATED, url=PUBLIC_URL + "x").items())
    elif tamper == "no signature":
        pairs = [(k, v) for k, v in pairs if k != "X-HubSpot-Signature-v3"]
    elif tamper == "no timestamp":
        pairs = [(k, v) for k, v in pairs if k != "X-HubSpot-Request-Timestamp"]
    elif tamper == "timestamp changed":
        pairs = [
            (k, str(NOW_MS - 1) if k == "X-HubSpot-Request-Timestamp" else v) for k, v in pairs
        ]
    elif tamper == "signature twice":
        pairs.append(("X-HubSpot-Signature-v3", "AAAA"))
    elif tamper == "non-ascii signature":
        pairs = [(k, "é" * 44 if k == "X-HubSpot-Signature-v3" else v) for k, v in pairs]
    elif tamper == "signed GET":
        pairs = [(k, _v3_for("GET", CREATED) if k.endswith("-v3") else v) for k, v in pairs]
    answer = app.hubspot(body, pairs)
    assert answer.status == 401, answer.text
    assert app.inbox.batches == [] and app.inbox.nudges == 0
    assert app.counted("hubspot", "unauthorized") == 1


def _v3_for(method: str, body: bytes) -> str:
    return signature_v3(SECRET.encode(), method, PUBLIC_URL, body, str(NOW_MS)).decode()


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        (timedelta(minutes=-5), 200),
        (timedelta(minutes=-5, milliseconds=-1), 401),
        (timedelta(minutes=-60), 401),
        (timedelta(minutes=5), 200),
        (timedelta(minutes=5, milliseconds=1), 401),
        (timedelta(days=3650), 401),
    ],
)
def test_the_timestamp_must_be_within_five_minutes(
    app: Served, offset: timedelta, status: int
) -> None:
    stamp = NOW_MS + int(offset.total_seconds() * 1000)
    assert app.hubspot(CREATED, signed(CREATED, at_ms=stamp)).status == status
    assert bool(app.inbox.hints) == (status == 200)


def test_a_timestamp_that_is_not_a_number_is_401(app: Served) -> None:
    for stamp in ("", "1e12", "-5", " 1", "1_000", "9" * 40):
        headers = {**signed(CREATED), "X-HubSpot-Request-Timestamp": stamp}
        assert app.hubspot(CREATED, headers).status == 401, stamp
    assert app.inbox.hints == []


def test_the_query_string_the_request_carried_is_part_of_what_was_signed() -> None:
    served = serve(hubspot=push())
    url = PUBLIC_URL + "?portal=62515&note=a%20b%3Ac"
    headers = signed(CREATED, url=url)  # the sandbox signs the percent-decoded URI
    assert served.hubspot(CREATED, headers, query=b"portal=62515&note=a%20b%3Ac").status == 200
    assert served.hubspot(CREATED, headers, query=b"portal=62516&note=a%20b%3Ac").status == 401
    assert served.hubspot(CREATED, headers).status == 401
    assert len(served.inbox.batches) == 1


def test_legacy_versions_verify_only_when_configured() -> None:
    for version in ("v1", "v2"):
        legacy_only = {
            k: v for k, v in signed(CREATED, legacy=version).items() if not k.endswith("-v3")
        }
        strict = serve(hubspot=push())
        assert strict.hubspot(CREATED, legacy_only).status == 401
        assert strict.inbox.hints == []
        relaxed = serve(hubspot=push(signature_versions=[version]))
        assert relaxed.hubspot(CREATED, legacy_only).status == 200
        assert _contacts(relaxed.inbox) == ["101", "102"]
        # The other legacy version's header name does not pass for this one.
        other = "v2" if version == "v1" else "v1"
        renamed = {**legacy_only, "X-HubSpot-Signature-Version": other}
        assert relaxed.hubspot(CREATED, renamed).status == 401
        tampered = {**legacy_only, "X-HubSpot-Signature": "0" * 64}
        assert relaxed.hubspot(CREATED, tampered).status == 401


def test_a_bad_v3_signature_gets_no_second_chance_through_v1() -> None:
    served = serve(hubspot=push(signature_versions=["v1", "v3"]))
    headers = {**signed(CREATED, legacy="v1"), "X-HubSpot-Signature-v3": _v3_for("GET", CREATED)}
    assert served.hubspot(CREATED, headers).status == 401
    assert served.inbox.hints == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"subscriptionType": "contact.creation", "objectId": 1}',
        b"[1, 2]",
        b'[{"objectId": 5}]',
        b'[{"subscriptionType": 7, "objectId": 5}]',
        b'[{"subscriptionType": "contact.creation", "objectId": "5"}]',
        b'[{"subscriptionType": "contact.creation", "objectId": true}]',
        b'[{"subscriptionType": "contact.creation", "objectId": -5}]',
        b'[{"subscriptionType": "contact.creation", "objectId": 99999999999999999999}]',
        b'[{"subscriptionType": "contact.creation"}]',
        b'[{"subscriptionType": "contact.merge", "objectId": 5, "primaryObjectId": 5}]',
        b'[{"subscriptionType": "contact.merge", "objectId": 5, "primaryObjectId": 5,'
        b' "mergedObjectIds": ["6"]}]',
        b"[" * 5000 + b"]" * 5000,
        b'[{"subscriptionType": "contact.creation", "objectId": 5}]\xff',
    ],
)
def test_a_signed_body_that_is_not_hubspots_shape_is_400(app: Served, body: bytes) -> None:
    answer = app.hubspot(body, signed(body))
    assert answer.status == 400, answer.text
    assert app.inbox.batches == []


def test_at_most_100_events_a_request() -> None:
    served = serve(hubspot=push())
    hundred = events_body(*(event("contact.creation", n) for n in range(1, 101)))
    assert served.hubspot(hundred, signed(hundred)).status == 200
    assert len(served.inbox.hints) == 100
    more = events_body(*(event("contact.creation", n) for n in range(1, 102)))
    answer = served.hubspot(more, signed(more))
    assert (answer.status, served.counted("hubspot", "too_many_events")) == (400, 1)
    assert len(served.inbox.batches) == 1


def test_a_body_over_the_limit_is_413_however_it_is_framed(app: Served) -> None:
    big = b"[" + b" " * MAX_BODY + b"]"
    assert app.hubspot(big, signed(big)).status == 413  # honest Content-Length: refused unread
    pieces = [big[i : i + 65536] for i in range(0, len(big), 65536)]
    assert app.hubspot(b"", signed(big), chunks=pieces, content_length=False).status == 413
    lying = [*signed(big).items(), ("content-length", "10")]
    assert app.hubspot(b"", lying, chunks=pieces).status == 413
    exact = b"[" + b" " * (MAX_BODY - 2) + b"]"
    assert app.hubspot(exact, signed(exact)).status == 200  # the limit itself is allowed
    assert app.counted("hubspot", "too_large") == 3
    assert app.inbox.hints == []


def test_a_bad_content_length_is_400(app: Served) -> None:
    for declared in ("abc", "-1", "1, 1", "99999999999999999999999"):
        answer = app.hubspot(CREATED, [*signed(CREATED).items(), ("content-length", declared)])
        assert answer.status in (400, 413), declared
    assert app.inbox.hints == []


def test_accept_failing_is_503_and_nothing_is_nudged() -> None:
    served = serve(hubspot=push(), inbox=Inbox(failing=True))
    answer = served.hubspot(CREATED, signed(CREATED))
    assert answer.status == 503
    assert served.inbox.nudges == 0
    assert served.counted("hubspot", "unavailable") == 1


@pytest.mark.parametrize("settings", [None, push(enabled=False)])
def test_push_off_answers_404(settings: Push | None) -> None:
    served = serve(hubspot=settings)
    assert served.hubspot(CREATED, signed(CREATED)).status == 404
    assert served.inbox.hints == []


def test_only_post_is_routed(app: Served) -> None:
    assert app.caller.request("GET", "/webhooks/hubspot").status == 405


def test_an_enabled_push_without_a_secret_is_refused_at_startup() -> None:
    broken = Push.model_construct(enabled=True, app_secret=None, public_url=PUBLIC_URL)
    with pytest.raises(ValueError, match="secret"):
        create_app(
            Inbox(),
            hubspot=broken,
            salesforce=None,
            readiness=lambda: Readiness(True, {}),
            metrics=Metrics(),
            clock=lambda: NOW,
        )
