"""Fuzzing POST /webhooks/hubspot in-process.

Whatever arrives, the answer is never 500, no exception escapes the app, and a hint is
stored only from a request that an independent check (written from the sandbox's signer,
not the receiver's code) calls genuine. Most examples are structured: signed requests
with one thing changed, signed random JSON; random bytes and headers cover the rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import strategies as st

from leadbridge.sandbox.hubspot.signing import signature_v1, signature_v2, signature_v3
from tests.webhooks.asgi import Answer
from tests.webhooks.fuzzing import run
from tests.webhooks.support import NOW_MS, PUBLIC_URL, SECRET, Served, push, serve, signed

pytestmark = pytest.mark.slow  # with the Salesforce fuzz, about 30 s of CPU

HUBSPOT_ANSWERS = {200, 400, 401, 413}


@pytest.fixture(scope="module")
def strict() -> Served:
    return serve(hubspot=push())


@pytest.fixture(scope="module")
def legacy() -> Served:
    """v1 and v2 as well as v3: the weaker checks get fuzzed too."""
    return serve(hubspot=push(signature_versions=["v1", "v2", "v3"]))


HEADER_TEXT = st.text(st.characters(max_codepoint=255), max_size=80)
HEADER_NAMES = st.sampled_from(
    [
        "X-HubSpot-Signature-v3",
        "X-HubSpot-Request-Timestamp",
        "X-HubSpot-Signature",
        "X-HubSpot-Signature-Version",
        "Content-Type",
        "Content-Length",
        "Transfer-Encoding",
    ]
) | st.text(st.sampled_from("abcxyz-"), min_size=1, max_size=12)
IDS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=1, max_value=10**12),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
)
TYPES = st.sampled_from(
    [
        "contact.creation",
        "contact.propertyChange",
        "contact.deletion",
        "contact.merge",
        "contact.restore",
        "contact.privacyDeletion",
        "contact.associationChange",
        "company.creation",
        "deal.propertyChange",
    ]
) | st.text(max_size=20)
EVENT = st.fixed_dictionaries(
    {"subscriptionType": TYPES, "objectId": IDS, "eventId": st.integers(0, 10**10)},
    optional={
        "primaryObjectId": IDS,
        "mergedObjectIds": st.lists(IDS, max_size=4) | IDS,
        "newObjectId": IDS,
        "propertyName": st.text(max_size=10),
        "propertyValue": st.text(max_size=10),
    },
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _dumps(value: Any) -> bytes:
    # The stdlib, not orjson: it writes integers of any size (and Infinity), which the
    # receiver must then refuse rather than choke on.
    return json.dumps(value).encode()


EVENTS_BODY = st.one_of(
    st.lists(EVENT, max_size=8).map(_dumps),
    # Around the 100-event limit, built by repetition: drawing 100 events one by one is slow.
    st.tuples(st.lists(EVENT, min_size=1, max_size=3), st.integers(99, 102)).map(
        lambda few_count: _dumps((few_count[0] * 102)[: few_count[1]])
    ),
    JSON.map(_dumps),
)


def genuine(body: bytes, headers: list[tuple[str, str]], query: bytes, versions: set[str]) -> bool:
    """Was this request signed with SECRET for PUBLIC_URL, by HubSpot's rules? Written
    from the sandbox's signer, not the receiver's code."""
    found: dict[str, list[str]] = {}
    for name, value in headers:
        found.setdefault(name.lower(), []).append(value)
    one = {name: values[0] for name, values in found.items() if len(values) == 1}
    uri = PUBLIC_URL + ("?" + query.decode("utf-8", "replace") if query else "")
    if "v3" in versions and "x-hubspot-signature-v3" in found:
        stamp = one.get("x-hubspot-request-timestamp", "")
        if not (stamp.isascii() and stamp.isdigit() and abs(int(stamp) - NOW_MS) <= 300_000):
            return False
        raw = base64.b64encode(
            hmac.new(
                SECRET.encode(), b"POST" + uri.encode() + body + stamp.encode(), hashlib.sha256
            ).digest()
        ).decode()
        given = one.get("x-hubspot-signature-v3")
        return given in (signature_v3(SECRET, "POST", uri, body, stamp), raw)
    version, given = one.get("x-hubspot-signature-version"), one.get("x-hubspot-signature", "")
    if version == "v1" and "v1" in versions:
        return given.lower() == signature_v1(SECRET, body)
    if version == "v2" and "v2" in versions:
        return given.lower() == signature_v2(SECRET, "POST", uri, body)
    return False


def _hubspot_ok(
    served: Served,
    answer: Answer,
    versions: set[str],
    body: bytes,
    headers: list[tuple[str, str]],
    query: bytes,
) -> None:
    assert answer.status in HUBSPOT_ANSWERS, (answer.status, answer.text)
    if served.inbox.hints:
        assert answer.status == 200
        assert genuine(body, headers, query, versions), "a hint from a request not genuine"


def test_random_bytes_and_headers_never_get_in(strict: Served, legacy: Served) -> None:
    def example(body: bytes, headers: list[tuple[str, str]], query: bytes, which: bool) -> None:
        served, versions = (legacy, {"v1", "v2", "v3"}) if which else (strict, {"v3"})
        served.inbox.clear()
        answer = served.hubspot(body, headers, query=query)
        _hubspot_ok(served, answer, versions, body, headers, query)
        assert not served.inbox.hints

    run(
        "hubspot random",
        example,
        st.binary(max_size=300) | EVENTS_BODY,
        st.lists(st.tuples(HEADER_NAMES, HEADER_TEXT), max_size=6),
        st.binary(max_size=20),
        st.booleans(),
    )


MUTATIONS = st.sampled_from(
    ["body", "signature", "timestamp", "query", "drop", "secret", "stale", "version", "legacy"]
)


def test_signed_requests_with_one_thing_changed_are_401(strict: Served, legacy: Served) -> None:
    def example(body: bytes, mutation: str, data: st.DataObject) -> None:
        served = data.draw(st.sampled_from([strict, legacy]))
        versions = {"v1", "v2", "v3"} if served is legacy else {"v3"}
        served.inbox.clear()
        query = b""
        legacy_version = data.draw(st.sampled_from([None, "v1", "v2"]))
        headers = signed(body, legacy=legacy_version)
        if mutation == "body":
            at = data.draw(st.integers(0, max(len(body) - 1, 0))) if body else 0
            flip = data.draw(st.integers(1, 255))
            body = body[:at] + bytes([body[at] ^ flip]) + body[at + 1 :] if body else b"\x00"
        elif mutation == "signature":
            sig = headers["X-HubSpot-Signature-v3"]
            at = data.draw(st.integers(0, len(sig) - 1))
            char = data.draw(
                st.sampled_from(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
                ).filter(lambda c: c != sig[at])
            )
            headers["X-HubSpot-Signature-v3"] = sig[:at] + char + sig[at + 1 :]
        elif mutation == "timestamp":
            shift = data.draw(st.integers(-(10**9), 10**9).filter(bool))
            headers["X-HubSpot-Request-Timestamp"] = str(NOW_MS + shift)
        elif mutation == "query":
            query = data.draw(st.binary(min_size=1, max_size=20))
        elif mutation == "drop":
            dropped = data.draw(st.sampled_from(sorted(headers)))
            del headers[dropped]
        elif mutation == "secret":
            headers = signed(
                body, secret=data.draw(st.text(min_size=1).filter(lambda s: s != SECRET))
            )
        elif mutation == "stale":
            late = data.draw(st.integers(300_001, 10**10))
            headers = signed(body, at_ms=NOW_MS + data.draw(st.sampled_from([late, -late])))
        elif mutation == "version":
            headers["X-HubSpot-Signature-Version"] = data.draw(
                st.sampled_from(["v1", "v2", "v3", "V1", ""])
            )
        elif mutation == "legacy":
            headers["X-HubSpot-Signature"] = data.draw(HEADER_TEXT)
        pairs = list(headers.items())
        answer = served.hubspot(body, pairs, query=query)
        _hubspot_ok(served, answer, versions, body, pairs, query)
        if not genuine(body, pairs, query, versions):
            assert answer.status == 401, (mutation, answer.status, answer.text)

    run("hubspot mutated", example, EVENTS_BODY, MUTATIONS, draws=True)


def test_signed_random_json_is_200_or_400_and_hints_only_named_contacts(strict: Served) -> None:
    def example(body: bytes) -> None:
        strict.inbox.clear()
        answer = strict.hubspot(body, signed(body))
        assert answer.status in {200, 400}, (answer.status, answer.text)
        named = {str(v) for v in _ints(json.loads(body))}
        assert {hint.id for hint in strict.inbox.hints} <= named
        assert bool(strict.inbox.hints) <= (answer.status == 200)

    run("hubspot signed json", example, EVENTS_BODY)


def _ints(value: Any) -> Iterator[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _ints(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _ints(item)
