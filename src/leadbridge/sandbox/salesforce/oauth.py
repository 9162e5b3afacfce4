"""OAuth 2.0 token endpoint (client credentials, username-password) and the sessions it issues.

Sessions live in simulated time: `session_seconds` after issue they are gone
(the harsher reading: the real org extends a session that is in use), and
`expire_all` or an injected SESSION_EXPIRED fault ends them early.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import Response

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.http import JSON


@dataclass(frozen=True)
class Session:
    token: str
    user_id: str
    expires_at: float  # simulated epoch seconds


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str
    username: str
    password: str


class Sessions:
    def __init__(self, clock: SimClock, org_id: str, lifetime: float) -> None:
        self._clock = clock
        self._org15 = org_id[:15]
        self.lifetime = lifetime
        self._live: dict[str, Session] = {}
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._clock.time()

    def issue(self, user_id: str) -> Session:
        # A real access token is the org id, "!", and an opaque part; clients log the prefix.
        token = f"{self._org15}!{secrets.token_urlsafe(72)}"
        session = Session(token, user_id, self._clock.time() + self.lifetime)
        with self._lock:
            self._live[token] = session
        return session

    def lookup(self, token: str) -> Session | None:
        """The live session behind a token; an expired one is forgotten."""
        with self._lock:
            session = self._live.get(token)
            if session is not None and session.expires_at <= self._clock.time():
                del self._live[token]
                return None
            return session

    def expire(self, token: str) -> None:
        with self._lock:
            self._live.pop(token, None)

    def expire_all(self) -> None:
        with self._lock:
            self._live.clear()


def _error(code: str, description: str) -> Response:
    return JSON({"error": code, "error_description": description}, status_code=400)


Endpoint = Callable[[Request], Awaitable[Response]]


def token_endpoint(
    sessions: Sessions, credentials: Credentials, org_id: str, user_id: str
) -> Endpoint:
    """POST /services/oauth2/token; `user_id` is the integration user every session runs as."""

    async def token(request: Request) -> Response:
        params = dict(request.query_params)
        params.update(parse_qsl((await request.body()).decode("utf-8", "replace")))
        basic = _basic_auth(request.headers.get("authorization", ""))
        if basic is not None:
            params.setdefault("client_id", basic[0])
            params.setdefault("client_secret", basic[1])
        grant = params.get("grant_type")
        if grant not in ("client_credentials", "password"):
            return _error("unsupported_grant_type", "grant type not supported")
        if params.get("client_id") != credentials.client_id:
            return _error("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(params.get("client_secret", ""), credentials.client_secret):
            return _error("invalid_client", "invalid client credentials")
        if grant == "password" and (
            params.get("username") != credentials.username
            or not hmac.compare_digest(params.get("password", ""), credentials.password)
        ):
            return _error("invalid_grant", "authentication failure")
        session = sessions.issue(user_id)
        base = f"{request.url.scheme}://{request.url.netloc}"
        identity = f"{base}/id/{org_id}/{user_id}"
        issued_at = str(int(sessions.now() * 1000))
        digest = hmac.new(
            credentials.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        return JSON(
            {
                "access_token": session.token,
                "signature": base64.b64encode(digest).decode(),
                "scope": "api",
                "instance_url": base,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            }
        )

    return token


def _basic_auth(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


def bearer_token(request: Request) -> str | None:
    """The token of `Authorization: Bearer T` (simple-salesforce sends that; so does OAuth)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() in ("bearer", "oauth") else None
