"""Connected apps' certificates, and the OAuth 2.0 JWT bearer grant that checks assertions by them.

A connected app that uses digital signatures holds a certificate; a client
proves it is that app by signing an assertion (RS256) with the matching
private key: iss the app's client id, sub the user's username, aud the login
URL, exp within three minutes. The user must be pre-authorized for the app
(an admin-approved profile or permission set): the flow has no browser to ask.

The sandbox's default app gets a throwaway key pair the first time anyone
needs it, so a test or the demo can sign with `ConnectedApps.private_key_pem()`;
`register` puts another certificate (or a bare public key) on an app, as
uploading one in Setup does.

What the real token endpoint answers, as recorded in public reports: an
expired assertion `expired authorization code`, a wrong audience `audience is
invalid`, a user who is not pre-authorized (or unknown) `user hasn't approved
this consumer`, all `invalid_grant`; an unknown issuer `invalid_client_id`.
A bad signature or a malformed assertion answers `invalid assertion` here; an
exp more than three minutes ahead is refused the same way (the harsher reading
of "within 3 minutes").
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_LIFETIME = 180  # seconds an assertion may still have to live
_SKEW = 5  # our clock against the client's, at the edge of the window
# Audiences a production org accepts besides its own My Domain URL (test.salesforce.com is
# for sandbox orgs, which this one is not).
LOGIN_URLS = ("https://login.salesforce.com",)


class JwtRefused(Exception):
    """The token endpoint's OAuth error: `error` and `error_description`."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


@dataclass
class _App:
    public_key: PublicKeyTypes
    users: set[str] = field(default_factory=set)  # pre-authorized usernames
    private_key_pem: str | None = None  # only for a key pair the sandbox minted
    certificate_pem: str | None = None


def _public_key(pem: str | bytes) -> PublicKeyTypes:
    data = pem.encode() if isinstance(pem, str) else pem
    if b"CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


def mint_key_pair(common_name: str = "leadbridge sandbox") -> tuple[str, str]:
    """A new RSA key (PKCS#8 PEM) and a self-signed certificate for it (PEM), as
    `openssl req -x509 -newkey rsa:2048 -nodes` makes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365 * 30))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return private_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


class ConnectedApps:
    """The org's connected apps that sign with certificates, by client id. Thread-safe."""

    def __init__(self, default_client_id: str, default_username: str) -> None:
        self.default_client_id = default_client_id
        self.default_username = default_username
        self._apps: dict[str, _App] = {}
        self._lock = threading.Lock()

    def register(self, client_id: str, certificate: str | bytes, users: Iterable[str] = ()) -> None:
        """Uploads `certificate` (a PEM X.509 certificate or public key) to the app, replacing
        any before it, and pre-authorizes `users` (the default app keeps its user)."""
        public_key = _public_key(certificate)
        with self._lock:
            app = self._apps.get(client_id)
            known = set(app.users) if app is not None else set()
            if client_id == self.default_client_id:
                known.add(self.default_username)
            text = certificate.decode() if isinstance(certificate, bytes) else certificate
            self._apps[client_id] = _App(public_key, known | set(users), None, text)

    def preauthorize(self, client_id: str, username: str, approved: bool = True) -> None:
        """An admin adds (or removes) the user's profile or permission set on the app."""
        app = self._app(client_id)
        if app is None:
            raise KeyError(f"no connected app {client_id} with a certificate")
        with self._lock:
            (app.users.add if approved else app.users.discard)(username)

    def private_key_pem(self, client_id: str | None = None) -> str:
        """The private key of a key pair the sandbox minted (the default app's, by default)."""
        app = self._app(client_id or self.default_client_id)
        if app is None or app.private_key_pem is None:
            raise KeyError(f"the sandbox holds no private key for {client_id}")
        return app.private_key_pem

    def certificate_pem(self, client_id: str | None = None) -> str | None:
        app = self._app(client_id or self.default_client_id)
        return app.certificate_pem if app is not None else None

    def verify(self, assertion: str, *, now: float, audiences: Iterable[str]) -> str:
        """The username an assertion signs in as; JwtRefused with Salesforce's words if not."""
        try:
            header = jwt.get_unverified_header(assertion)
            claims: dict[str, Any] = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise JwtRefused("invalid_grant", "invalid assertion") from None
        app = self._app(str(claims.get("iss", "")))
        if app is None:
            raise JwtRefused("invalid_client_id", "client identifier invalid")
        if header.get("alg") != "RS256":
            raise JwtRefused("invalid_grant", "invalid assertion")
        try:
            jwt.decode(
                assertion,
                app.public_key,  # type: ignore[arg-type]
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise JwtRefused("invalid_grant", "invalid assertion") from None
        self._check_claims(app, claims, now, audiences)
        return str(claims["sub"])

    def _check_claims(
        self, app: _App, claims: dict[str, Any], now: float, audiences: Iterable[str]
    ) -> None:
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise JwtRefused("invalid_grant", "invalid assertion")
        if exp <= now:
            raise JwtRefused("invalid_grant", "expired authorization code")
        if exp > now + MAX_LIFETIME + _SKEW:
            raise JwtRefused("invalid_grant", "invalid assertion")
        audience = claims.get("aud")
        given = audience if isinstance(audience, list) else [audience]
        accepted = {a.rstrip("/") for a in (*audiences, *LOGIN_URLS)}
        if not any(isinstance(a, str) and a.rstrip("/") in accepted for a in given):
            raise JwtRefused("invalid_grant", "audience is invalid")
        with self._lock:
            approved = claims.get("sub") in app.users
        if not approved:
            raise JwtRefused("invalid_grant", "user hasn't approved this consumer")

    def _app(self, client_id: str) -> _App | None:
        with self._lock:
            app = self._apps.get(client_id)
            if app is None and client_id == self.default_client_id:
                # Minted on first use: most sims never see a JWT, and a key costs ~50 ms.
                private_pem, certificate = mint_key_pair()
                app = _App(
                    _public_key(certificate), {self.default_username}, private_pem, certificate
                )
                self._apps[client_id] = app
            return app
