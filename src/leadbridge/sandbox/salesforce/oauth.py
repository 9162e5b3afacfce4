"""OAuth 2.0: the token endpoint (client credentials, username-password, refresh token, JWT
bearer) and the sessions it issues.

The JWT bearer grant checks the signed assertion against the connected app's
certificate (`Credentials.apps`, see connected_apps): the default app holds a
throwaway key pair, `apps.private_key_pem()`; `apps.register(...)` or
`POST /_sandbox/oauth/certificates` puts another certificate on an app.

Refresh tokens come where Salesforce issues them: from an interactive flow (the web-server
flow a person approves in a browser), never from the client-credentials or
username-password flows. The sandbox has no browser, so `/_sandbox/oauth/approve` plays
the person approving and answers what the flow's final token call would. A refresh answers
a new access token and no new refresh token (Salesforce rotates none unless the connected
app asks to); the refresh token lives until revoked.

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
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.http import JSON, read_json
from leadbridge.sandbox.salesforce.connected_apps import JWT_BEARER, ConnectedApps, JwtRefused


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
    # The connected apps that sign JWT assertions; the default app is `client_id`, with
    # `username` pre-authorized.
    apps: ConnectedApps = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "apps", ConnectedApps(self.client_id, self.username))


class Sessions:
    def __init__(self, clock: SimClock, org_id: str, lifetime: float) -> None:
        self._clock = clock
        self._org15 = org_id[:15]
        self.lifetime = lifetime
        self._live: dict[str, Session] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> user id
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

    def issue_refresh_token(self, user_id: str) -> str:
        token = f"5Aep861{secrets.token_urlsafe(64)}"
        with self._lock:
            self._refresh[token] = user_id
        return token

    def refresh_user(self, token: str) -> str | None:
        with self._lock:
            found = [
                user for known, user in self._refresh.items() if hmac.compare_digest(known, token)
            ]
        return found[0] if found else None

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self._refresh.clear()

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
        base = f"{request.url.scheme}://{request.url.netloc}"
        if grant == JWT_BEARER:
            try:
                # The org has one user who signs in over the API, the integration user: the
                # assertion's user is checked against the app's pre-authorized ones, and the
                # session runs as the integration user.
                credentials.apps.verify(
                    params.get("assertion", ""), now=sessions.now(), audiences=[base]
                )
            except JwtRefused as refused:
                return _error(refused.error, refused.description)
            return JSON(grant_answer(sessions, credentials, org_id, user_id, base))
        if grant not in ("client_credentials", "password", "refresh_token"):
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
        session_user = user_id
        if grant == "refresh_token":
            found = sessions.refresh_user(params.get("refresh_token", ""))
            if found is None:
                return _error("invalid_grant", "expired access/refresh token")
            session_user = found
        scope = "refresh_token api" if grant == "refresh_token" else "api"
        return JSON(grant_answer(sessions, credentials, org_id, session_user, base, scope))

    return token


def grant_answer(
    sessions: Sessions,
    credentials: Credentials,
    org_id: str,
    user_id: str,
    base: str,
    scope: str = "api",
) -> dict[str, str]:
    """A new session for `user_id`, as the token endpoint's answer."""
    session = sessions.issue(user_id)
    identity = f"{base}/id/{org_id}/{user_id}"
    issued_at = str(int(sessions.now() * 1000))
    digest = hmac.new(
        credentials.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
    ).digest()
    return {
        "access_token": session.token,
        "signature": base64.b64encode(digest).decode(),
        "scope": scope,
        "instance_url": base,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
    }


def approve_endpoint(
    sessions: Sessions, credentials: Credentials, org_id: str, user_id: str
) -> Endpoint:
    """POST /_sandbox/oauth/approve: the integration user approved the connected app in a
    browser (the web-server flow); answers the flow's final token answer, refresh token too."""

    async def approve(request: Request) -> Response:
        base = f"{request.url.scheme}://{request.url.netloc}"
        answer = grant_answer(sessions, credentials, org_id, user_id, base, "refresh_token api")
        answer["refresh_token"] = sessions.issue_refresh_token(user_id)
        return JSON(answer)

    return approve


def jwt_routes(apps: ConnectedApps) -> list[Route]:
    """The connected apps' certificates, outside auth, limits and faults like every /_sandbox
    endpoint:

        GET  /_sandbox/oauth/certificates  the default app: {client_id, username, certificate,
                                           private_key} (a throwaway key, for the demo)
        POST /_sandbox/oauth/certificates  {"client_id"?, "certificate": PEM, "users"?: [...]}
                                           uploads a certificate to an app (default: the
                                           default app) and pre-authorizes the users
    """

    async def default_app(request: Request) -> Response:
        return JSON(
            {
                "client_id": apps.default_client_id,
                "username": apps.default_username,
                "certificate": apps.certificate_pem(),
                "private_key": apps.private_key_pem(),
            }
        )

    async def upload(request: Request) -> Response:
        try:
            body: Any = await read_json(request)
            if not isinstance(body, dict) or not isinstance(body.get("certificate"), str):
                raise ValueError('expected {"certificate": PEM, "client_id"?, "users"?}')
            client_id = str(body.get("client_id") or apps.default_client_id)
            users = [str(user) for user in body.get("users") or []]
            apps.register(client_id, body["certificate"], users)
        except (ValueError, TypeError) as exc:
            return JSON({"error": "BAD_REQUEST", "message": str(exc)}, status_code=400)
        return JSON({"client_id": client_id, "registered": True})

    path = "/_sandbox/oauth/certificates"
    return [
        Route(path, default_app, methods=["GET"]),
        Route(path, upload, methods=["POST"]),
    ]


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
