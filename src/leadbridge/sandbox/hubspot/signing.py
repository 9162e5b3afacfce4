"""HubSpot's webhook request signatures: v3 (HMAC, timestamped) and the older v1/v2 hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import unquote

VERSIONS = ("v1", "v2", "v3")


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, method + URI + body + timestamp)).

    HubSpot signs the URI with its percent-escapes decoded, and tells verifiers
    to decode before checking, so both sides agree whatever the encoding.
    """
    source = method.encode() + unquote(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_v2(secret: str, method: str, uri: str, body: bytes) -> str:
    """hex(SHA-256(secret + method + URI + body))."""
    return hashlib.sha256(secret.encode() + method.encode() + uri.encode() + body).hexdigest()


def signature_v1(secret: str, body: bytes) -> str:
    """hex(SHA-256(secret + body))."""
    return hashlib.sha256(secret.encode() + body).hexdigest()


def signed_headers(
    secret: str, url: str, body: bytes, timestamp_ms: int, legacy: str | None = None
) -> dict[str, str]:
    """Headers for one webhook POST: always v3, plus the v1 or v2 header when asked."""
    timestamp = str(timestamp_ms)
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": timestamp,
        "X-HubSpot-Signature-v3": signature_v3(secret, "POST", url, body, timestamp),
    }
    if legacy == "v1":
        headers["X-HubSpot-Signature"] = signature_v1(secret, body)
        headers["X-HubSpot-Signature-Version"] = "v1"
    elif legacy == "v2":
        headers["X-HubSpot-Signature"] = signature_v2(secret, "POST", url, body)
        headers["X-HubSpot-Signature-Version"] = "v2"
    return headers
