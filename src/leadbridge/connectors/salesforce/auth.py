"""Getting a Salesforce session: the HTTP session we trust, and the OAuth token request.

We log in ourselves (POST /services/oauth2/token: client credentials,
username-password, or the JWT bearer flow) and hand simple-salesforce the
token, because its own re-login on INVALID_SESSION_ID only works when it did
the login, and it cannot do the client-credentials flow against a configured
login URL.

JWT bearer: every token request carries a freshly signed assertion (RS256,
with the private key whose certificate the connected app holds): iss the
client id, sub the run-as user, aud the login URL (or `auth.audience`), exp
two minutes ahead, inside the three minutes Salesforce allows, with room
for our clock running ahead of theirs.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests

from leadbridge.connectors.errors import Action, Failure, RemoteError, action_for
from leadbridge.connectors.salesforce.settings import SalesforceSettings
from leadbridge.model import System

_SF = System.SALESFORCE
_IDENTITY = re.compile(r"/id/(?P<org>00D[A-Za-z0-9]{12,15})/")
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SECONDS = 120


class PinnedSession(requests.Session):
    """A requests.Session whose configured CA bundle and timeout win, request by request.

    requests replaces a session's `verify` with REQUESTS_CA_BUNDLE or
    CURL_CA_BUNDLE whenever a request itself names none (psf/requests#3829),
    so a bundle set on the session alone is silently ignored on machines that
    set those variables. Passing `verify=` with every request is the one form
    the environment cannot override, and it keeps `trust_env` on, so an
    operator's HTTPS_PROXY and NO_PROXY still apply (trust_env=False would
    drop them too). simple-salesforce passes no timeout at all; a stalled
    connection would hang the daemon, hence the default here.

    Every request leadbridge makes to the org leaves through here (token
    requests, REST calls, their retries), so `sent` counts them as they go,
    by kind (`request_kind`), answered or not.
    """

    def __init__(
        self,
        ca_bundle: Path | None,
        timeout: float,
        on_response: Callable[[requests.Response], None] | None = None,
    ) -> None:
        super().__init__()
        self._verify = str(ca_bundle) if ca_bundle is not None else None
        self._timeout = timeout
        self._sent: Counter[str] = Counter()
        self._sent_lock = threading.Lock()
        if on_response is not None:

            def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
                on_response(response)

            self.hooks["response"].append(hook)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if self._verify is not None:
            kwargs.setdefault("verify", self._verify)
        kwargs.setdefault("timeout", (10.0, self._timeout))
        with self._sent_lock:
            self._sent[request_kind(str(method), str(url))] += 1
        return super().request(method, url, *args, **kwargs)

    @property
    def sent(self) -> Counter[str]:
        """Requests sent so far, by kind (a copy)."""
        with self._sent_lock:
            return Counter(self._sent)


def request_kind(method: str, url: str) -> str:
    """login (a token request), query (a SOQL page, or a poll's Composite request of them),
    write (any other change), or read."""
    segments = urlsplit(url).path.split("/")
    if "oauth2" in segments:
        return "login"
    # A bare /composite is the poll's queries and deletion checks in one POST; leadbridge
    # writes through /composite/sobjects.
    if "query" in segments or "queryAll" in segments or segments[-1] == "composite":
        return "query"
    return "read" if method.upper() in ("GET", "HEAD") else "write"


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    instance_url: str
    org_id: str | None  # read off the identity URL the token answer carries


class LoginRefused(Exception):
    """The token endpoint refused our credentials, or they lead to another org.

    Never retried: a person must fix the connection file or the connected app.
    """

    def __init__(self, failure: Failure) -> None:
        super().__init__(str(failure))
        self.failure = failure
        self.action = Action.FAIL


def assertion(settings: SalesforceSettings, now: float) -> str:
    """A signed JWT bearer assertion for one token request (`now` in epoch seconds)."""
    auth = settings.auth
    if auth.private_key_file is None or auth.username is None:
        raise ValueError("the jwt_bearer grant needs username and private_key_file")
    claims = {
        "iss": auth.client_id,
        "sub": auth.username,
        "aud": auth.audience or settings.login_url,
        "exp": int(now) + ASSERTION_SECONDS,
        "jti": uuid.uuid4().hex,  # Salesforce ignores it; it keeps each assertion unique
    }
    try:
        return jwt.encode(claims, auth.private_key_file.pem.get_secret_value(), algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        # The key's text never goes into the message: only its file and what is wrong.
        detail = f"{auth.private_key_file.path} is not an RSA private key leadbridge can sign with"
        raise LoginRefused(Failure(_SF, None, "INVALID_PRIVATE_KEY", detail)) from exc


def _form(settings: SalesforceSettings, now: float) -> dict[str, str]:
    auth = settings.auth
    if auth.grant == "jwt_bearer":
        return {"grant_type": JWT_BEARER, "assertion": assertion(settings, now)}
    secret = auth.client_secret.get_secret_value() if auth.client_secret else ""
    form = {"grant_type": auth.grant, "client_id": auth.client_id, "client_secret": secret}
    if auth.grant == "password" and auth.username and auth.password:
        form["username"] = auth.username
        form["password"] = auth.password.get_secret_value()
    return form


def request_token(
    session: requests.Session,
    settings: SalesforceSettings,
    clock: Callable[[], float] = time.time,
) -> Token:
    """One token request. 5xx and transport faults raise RemoteError (retriable); a refusal
    raises LoginRefused. `clock` dates a JWT assertion (the org's clock, in a test)."""
    form = _form(settings, clock())
    url = f"{settings.login_url}/services/oauth2/token"
    try:
        answer = session.post(url, data=form, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise RemoteError(Failure(_SF, None, type(exc).__name__, str(exc)[:200])) from None
    try:
        body: Any = answer.json()
    except ValueError:
        body = None  # an edge proxy's page, or a login URL that is not Salesforce's
    if answer.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        failure = _token_failure(answer, body)
        if answer.status_code >= 500 or action_for(failure) in (Action.RETRY, Action.RATE_LIMITED):
            raise RemoteError(failure)
        # Anything else from the token endpoint is about our credentials or login URL.
        raise LoginRefused(failure)
    match = _IDENTITY.search(str(body.get("id", "")))
    token = Token(
        str(body["access_token"]),
        str(body.get("instance_url") or settings.login_url),
        match["org"] if match else None,
    )
    _check_org(token, settings.org_id)
    return token


def _token_failure(answer: requests.Response, body: Any) -> Failure:
    status = answer.status_code
    if isinstance(body, dict) and "error" in body:  # OAuth's own shape
        return Failure(_SF, status, str(body["error"]), str(body.get("error_description", "")))
    if isinstance(body, list) and body and isinstance(body[0], dict):  # the REST API's shape
        first = body[0]
        return Failure(_SF, status, str(first.get("errorCode", "")), str(first.get("message", "")))
    return Failure(_SF, status, f"HTTP_{status}", answer.text[:200])


def _check_org(token: Token, expected: str | None) -> None:
    # Writing a sandbox's leads into production (or the reverse) is worse than not running.
    if expected is None or token.org_id is None or token.org_id[:15] == expected[:15]:
        return
    raise LoginRefused(
        Failure(
            _SF,
            200,
            "WRONG_ORGANIZATION",
            f"the credentials log in to org {token.org_id}, but org_id is {expected}",
        )
    )
