"""HubSpot's webhook signatures checked: v3 always, v1 and v2 only where configured.

v3 is an HMAC over method, URI, raw body and a millisecond timestamp, so a request
cannot be altered or replayed after five minutes. v1 (secret + body) and v2 (secret +
method + URI + body) are plain hashes with no timestamp: a captured request verifies
forever, which is why they are accepted only when `signature_versions` names them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta
from urllib.parse import unquote

from starlette.datastructures import Headers

from leadbridge.connectors.hubspot.settings import Push
from leadbridge.webhooks.intake import unauthorized

_WINDOW = timedelta(minutes=5)
# A millisecond stamp has 13 digits until the year 2286; anything longer is not one.
_STAMP = re.compile(r"[0-9]{1,16}")
_V3 = "x-hubspot-signature-v3"
_TIMESTAMP = "x-hubspot-request-timestamp"
_LEGACY = "x-hubspot-signature"
_VERSION = "x-hubspot-signature-version"


def signature_v3(secret: bytes, method: str, uri: str, body: bytes, timestamp: str) -> bytes:
    """base64(HMAC-SHA256(secret, method + URI + body + timestamp)), as ASCII bytes."""
    source = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret, source, hashlib.sha256).digest())


def _signature_v2(secret: bytes, method: str, uri: str, body: bytes) -> bytes:
    """hex(SHA-256(secret + method + URI + body)), as ASCII bytes."""
    return hashlib.sha256(secret + method.encode() + uri.encode() + body).hexdigest().encode()


def _signature_v1(secret: bytes, body: bytes) -> bytes:
    """hex(SHA-256(secret + body)), as ASCII bytes."""
    return hashlib.sha256(secret + body).hexdigest().encode()


def _signed_uri(public_url: str, query: bytes) -> str:
    """The URI HubSpot signed: the configured public URL, plus the query string the
    request carried when the configured URL has none of its own.

    The public URL, not the URL this process sees: behind a proxy or load balancer
    the scheme, host and path differ from what HubSpot called. The query passes
    through proxies unchanged, so it comes from the request.
    """
    if "?" in public_url or not query:
        return public_url
    return public_url + "?" + query.decode("utf-8", "replace")


def verify(
    push: Push, method: str, query: bytes, body: bytes, headers: Headers, now: datetime
) -> str:
    """The signature version that verified this request; raises Rejected (401) if none did.

    When v3 is configured and its header is present it decides alone: a request with
    a bad v3 signature does not get a second chance through an older, weaker version.
    """
    secret = push.app_secret.get_secret_value().encode() if push.app_secret else b""
    if not secret or push.public_url is None:
        raise unauthorized("push is not configured with a secret and a public URL")
    uri = _signed_uri(push.public_url, query)
    if "v3" in push.signature_versions and _V3 in headers:
        _check_v3(secret, method, uri, body, headers, now)
        return "v3"
    legacy = _single(headers, _LEGACY)
    version = _single(headers, _VERSION)
    if legacy is None or version not in ("v1", "v2") or version not in push.signature_versions:
        raise unauthorized("no signature of a configured version")
    expected = (
        _signature_v1(secret, body) if version == "v1" else _signature_v2(secret, method, uri, body)
    )
    # Hex digits mean the same in either case; compare_digest on bytes never raises.
    if not hmac.compare_digest(expected, legacy.encode("latin-1").lower()):
        raise unauthorized(f"{version} signature does not match")
    return version


def _check_v3(
    secret: bytes, method: str, uri: str, body: bytes, headers: Headers, now: datetime
) -> None:
    given = _single(headers, _V3)
    stamp = _single(headers, _TIMESTAMP)
    if given is None or stamp is None or not _STAMP.fullmatch(stamp):
        raise unauthorized("v3 signature or timestamp missing or malformed")
    # Older than the window is a replay; as far ahead is a clock HubSpot does not have
    # (or a request made to be replayed later). Symmetric, so a little skew either way passes.
    age_ms = now.timestamp() * 1000 - int(stamp)
    if abs(age_ms) > _WINDOW.total_seconds() * 1000:
        raise unauthorized("v3 timestamp outside the 5-minute window")
    received = given.encode("latin-1")  # Starlette decodes headers as latin-1: this round-trips
    # HubSpot decodes the URI's percent-escapes before signing (API-FACTS); the URI as
    # configured is checked too, so an operator's choice of spelling cannot lock HubSpot
    # out. Both are the same address: a forger still needs the secret for either.
    matched = False
    for candidate in dict.fromkeys((unquote(uri), uri)):
        expected = signature_v3(secret, method, candidate, body, stamp)
        matched |= hmac.compare_digest(expected, received)
    if not matched:
        raise unauthorized("v3 signature does not match")


def _single(headers: Headers, name: str) -> str | None:
    """The header's one value; None when absent. Sent twice, it is ambiguous: refused."""
    values = headers.getlist(name)
    if len(values) > 1:
        raise unauthorized(f"{name} sent more than once")
    return values[0] if values else None
