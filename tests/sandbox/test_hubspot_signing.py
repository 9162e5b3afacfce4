"""HubSpot webhook signatures: the published v3 test vector, and v1/v2 against their definitions."""

from __future__ import annotations

import hashlib

from leadbridge.sandbox.hubspot.signing import (
    signature_v1,
    signature_v2,
    signature_v3,
    signed_headers,
)

VECTOR_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"


def test_v3_matches_hubspots_published_test_vector() -> None:
    signature = signature_v3(
        VECTOR_SECRET,
        "POST",
        "https://www.example.com/webhook_uri",
        b"{'example_field':'example_value'}",
        "15000000",
    )
    assert signature == "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="


def test_v3_signs_the_decoded_uri_so_either_spelling_verifies() -> None:
    encoded = signature_v3("s", "POST", "https://h.example/a%20b?x=%2F", b"[]", "1")
    decoded = signature_v3("s", "POST", "https://h.example/a b?x=/", b"[]", "1")
    assert encoded == decoded
    assert encoded != signature_v3("s", "POST", "https://h.example/a b?x=/", b"[]", "2")


def test_v1_and_v2_are_plain_sha256_hex_digests() -> None:
    body = b'[{"eventId":1}]'
    assert signature_v1("secret", body) == hashlib.sha256(b"secret" + body).hexdigest()
    assert (
        signature_v2("secret", "POST", "https://h.example/hook", body)
        == hashlib.sha256(b"secretPOSThttps://h.example/hook" + body).hexdigest()
    )


def test_headers_carry_v3_always_and_the_legacy_signature_only_when_asked() -> None:
    body = b"[]"
    plain = signed_headers("s", "https://h.example/hook", body, 1700000000123)
    assert plain["X-HubSpot-Request-Timestamp"] == "1700000000123"
    assert plain["X-HubSpot-Signature-v3"] == signature_v3(
        "s", "POST", "https://h.example/hook", body, "1700000000123"
    )
    assert "X-HubSpot-Signature" not in plain
    legacy = signed_headers("s", "https://h.example/hook", body, 1, legacy="v2")
    assert legacy["X-HubSpot-Signature-Version"] == "v2"
    assert legacy["X-HubSpot-Signature"] == signature_v2(
        "s", "POST", "https://h.example/hook", body
    )
    assert signed_headers("s", "u", body, 1, legacy="v1")["X-HubSpot-Signature"] == (
        signature_v1("s", body)
    )
