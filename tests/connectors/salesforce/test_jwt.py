"""The JWT bearer flow end to end: the connector's own stack (requests, simple-salesforce) signs
an assertion, the simulated org checks it against the connected app's certificate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography import x509
from starlette.applications import Starlette

from leadbridge.config.problems import ConfigError
from leadbridge.connectors.salesforce.auth import JWT_BEARER, LoginRefused, assertion
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.connectors.salesforce.settings import (
    Auth,
    SalesforceSettings,
    load_salesforce_settings,
)
from leadbridge.sandbox.salesforce.connected_apps import mint_key_pair
from leadbridge.sandbox.server import serve
from leadbridge.sandbox.tls import TLSFiles
from leadbridge.telemetry.logs import secrets_of
from tests.connectors.salesforce.support import FAST, SHIPPED, env_for, settings_for
from tests.sandbox.salesforce_fixtures import CLIENT_ID, USERNAME, RunningOrg

Clock = Callable[[], float]


def _key_file(tmp_path: Path, pem: str, name: str = "leadbridge.key") -> Path:
    path = tmp_path / name
    path.write_text(pem)
    return path


def _settings(org: RunningOrg, tls: TLSFiles, key: Path, **auth: Any) -> SalesforceSettings:
    fields = {
        "grant": "jwt_bearer",
        "client_id": CLIENT_ID,
        "username": USERNAME,
        "private_key_file": str(key),
        **auth,
    }
    return settings_for(org, tls, auth=Auth.model_validate(fields))


def _connector(
    org: RunningOrg, tls: TLSFiles, key: Path, clock: Clock | None = None, **auth: Any
) -> SalesforceConnector:
    settings = _settings(org, tls, key, **auth)
    return SalesforceConnector(settings, tuning=FAST, clock=clock or org.clock.time)


@pytest.fixture
def default_key(org: RunningOrg, tmp_path: Path) -> Path:
    """The throwaway key the sandbox minted for its default connected app."""
    return _key_file(tmp_path, org.sim.credentials.apps.private_key_pem())


def test_a_good_assertion_gets_a_token_and_the_connector_reads_leads(
    org: RunningOrg, tls_files: TLSFiles, default_key: Path
) -> None:
    lead = org.lead(Email="jwt@example.com")
    with _connector(org, tls_files, default_key) as salesforce:
        (change,) = salesforce.read("Lead", [lead])
        assert change.fields["Email"] == "jwt@example.com"
        assert salesforce.stats.logins == 1
        salesforce.client.refresh()  # a new session signs a new assertion
        assert len(salesforce.read("Lead", [lead])) == 1
        assert salesforce.stats.logins == 2
        assert salesforce.health().healthy


def test_the_assertion_carries_the_claims_salesforce_asks_for(
    org: RunningOrg, tls_files: TLSFiles, default_key: Path
) -> None:
    settings = _settings(org, tls_files, default_key)
    now = org.clock.time()
    signed = assertion(settings, now)
    certificate = org.sim.credentials.apps.certificate_pem()
    assert certificate is not None
    public_key = x509.load_pem_x509_certificate(certificate.encode()).public_key()
    claims = jwt.decode(
        signed,
        public_key,  # type: ignore[arg-type]
        algorithms=["RS256"],
        audience=org.url,
        options={"verify_exp": False},
    )
    assert claims["iss"] == CLIENT_ID and claims["sub"] == USERNAME
    assert claims["aud"] == org.url  # the default audience: login_url
    assert now < claims["exp"] <= now + 180
    assert assertion(settings, now) != signed  # fresh every time (jti)


@pytest.mark.parametrize(
    ("case", "code", "message"),
    [
        ("expired", "invalid_grant", "expired authorization code"),
        ("bad signature", "invalid_grant", "invalid assertion"),
        ("unknown user", "invalid_grant", "user hasn't approved this consumer"),
        ("audience", "invalid_grant", "audience is invalid"),
        ("unknown app", "invalid_client_id", "client identifier invalid"),
    ],
)
def test_each_bad_assertion_is_refused_with_salesforces_words(
    org: RunningOrg,
    tls_files: TLSFiles,
    default_key: Path,
    tmp_path: Path,
    case: str,
    code: str,
    message: str,
) -> None:
    key, clock, auth = default_key, org.clock.time, {}
    if case == "expired":

        def clock() -> float:
            return org.clock.time() - 600  # a machine whose clock is ten minutes behind

    elif case == "bad signature":
        key = _key_file(tmp_path, mint_key_pair()[0], "other.key")
    elif case == "unknown user":
        auth = {"username": "someone.else@leadbridge.example"}
    elif case == "audience":
        auth = {"audience": "https://test.salesforce.com"}
    else:
        auth = {"client_id": "3MVG9unknown.app"}
    lead = org.lead()
    with _connector(org, tls_files, key, clock, **auth) as salesforce:
        with pytest.raises(LoginRefused) as refused:
            salesforce.read("Lead", [lead])
        assert refused.value.failure.code == code
        assert message in str(refused.value)
        assert salesforce.stats.retries == 0  # a refusal is never retried
        assert not salesforce.health().healthy
    assert org.sim.usage.used == 0


def test_a_user_no_longer_pre_authorized_is_refused(
    org: RunningOrg, tls_files: TLSFiles, default_key: Path
) -> None:
    org.sim.credentials.apps.preauthorize(CLIENT_ID, USERNAME, approved=False)
    with (
        _connector(org, tls_files, default_key) as salesforce,
        pytest.raises(LoginRefused, match="user hasn't approved this consumer"),
    ):
        salesforce.read("Lead", [org.lead()])


def test_a_certificate_uploaded_over_the_control_endpoint_takes_over(
    org: RunningOrg, tls_files: TLSFiles, default_key: Path, tmp_path: Path
) -> None:
    from leadbridge.sandbox.salesforce.oauth import jwt_routes

    control = serve(Starlette(routes=jwt_routes(org.sim.credentials.apps)), "control", tls_files)
    try:
        base = control.url
        shown = requests.get(f"{base}/_sandbox/oauth/certificates", timeout=10).json()
        assert shown["client_id"] == CLIENT_ID and shown["username"] == USERNAME
        assert shown["private_key"] == default_key.read_text()
        private_pem, certificate = mint_key_pair()
        answer = requests.post(
            f"{base}/_sandbox/oauth/certificates", json={"certificate": certificate}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        bad = requests.post(
            f"{base}/_sandbox/oauth/certificates", json={"certificate": "nope"}, timeout=10
        )
        assert bad.status_code == 400
    finally:
        control.stop()
    new_key = _key_file(tmp_path, private_pem, "new.key")
    with _connector(org, tls_files, new_key) as salesforce:
        assert len(salesforce.read("Lead", [org.lead()])) == 1
    with (
        _connector(org, tls_files, default_key) as salesforce,
        pytest.raises(LoginRefused, match="invalid assertion"),
    ):
        salesforce.read("Lead", [org.lead()])


def test_the_token_endpoint_answers_the_raw_grant(org: RunningOrg, default_key: Path) -> None:
    """The wire form, as a client other than leadbridge's would send it."""
    now = org.clock.time()
    claims = {"iss": CLIENT_ID, "sub": USERNAME, "aud": org.url, "exp": int(now) + 60}
    signed = jwt.encode(claims, default_key.read_text(), algorithm="RS256")
    form = {"grant_type": JWT_BEARER, "assertion": signed}
    answer = requests.post(f"{org.url}/services/oauth2/token", data=form, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"].endswith(f"/{org.sim.integration_user_id}")
    too_long = jwt.encode({**claims, "exp": int(now) + 3600}, default_key.read_text(), "RS256")
    refused = requests.post(
        f"{org.url}/services/oauth2/token",
        data={"grant_type": JWT_BEARER, "assertion": too_long},
        timeout=10,
    )
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}
    garbage = requests.post(
        f"{org.url}/services/oauth2/token",
        data={"grant_type": JWT_BEARER, "assertion": "not.a.jwt"},
        timeout=10,
    )
    assert garbage.json()["error"] == "invalid_grant"


# --- the connection file -----------------------------------------------------------------


def _jwt_file(tmp_path: Path) -> Path:
    text = (
        SHIPPED.read_text()
        .replace("grant: client_credentials", "grant: jwt_bearer")
        .replace("  client_secret: ${SALESFORCE_CLIENT_SECRET}\n", "")
        .replace("# username: ${SALESFORCE_USERNAME}", "username: ${SALESFORCE_USERNAME}")
        .replace(
            "# private_key_file: ${SALESFORCE_PRIVATE_KEY_FILE}",
            "private_key_file: ${SALESFORCE_PRIVATE_KEY_FILE}",
        )
    )
    path = tmp_path / "salesforce.yaml"
    path.write_text(text)
    return path


def test_the_key_is_read_from_its_file_and_never_shown(
    org: RunningOrg, tls_files: TLSFiles, default_key: Path, tmp_path: Path
) -> None:
    env = env_for(org, tls_files)
    del env["SALESFORCE_CLIENT_SECRET"]
    env |= {"SALESFORCE_USERNAME": USERNAME, "SALESFORCE_PRIVATE_KEY_FILE": str(default_key)}
    settings = load_salesforce_settings(_jwt_file(tmp_path), env)
    key = settings.auth.private_key_file
    assert key is not None and key.path == default_key
    pem = default_key.read_text()
    assert pem in secrets_of(settings)  # the log redactor learns the key
    assert "PRIVATE KEY" not in repr(settings) and "PRIVATE KEY" not in str(settings)
    assert settings.auth.audience is None and settings.auth.client_secret is None


@pytest.mark.parametrize(
    ("env_change", "expected"),
    [
        ({"SALESFORCE_PRIVATE_KEY_FILE": "/nowhere/leadbridge.key"}, "a PEM private key file"),
        ({"SALESFORCE_PRIVATE_KEY_FILE": str(SHIPPED)}, "a PEM private key"),
    ],
)
def test_a_missing_or_wrong_key_file_is_named_at_its_line(
    org: RunningOrg,
    tls_files: TLSFiles,
    default_key: Path,
    tmp_path: Path,
    env_change: dict[str, str],
    expected: str,
) -> None:
    env = env_for(org, tls_files, SALESFORCE_USERNAME=USERNAME) | env_change
    with pytest.raises(ConfigError) as caught:
        load_salesforce_settings(_jwt_file(tmp_path), env)
    (problem,) = caught.value.problems
    assert "auth.private_key_file" in str(problem) and expected in str(problem)
    assert "Secrets never go" not in str(problem)  # the file is never quoted


def test_jwt_bearer_needs_a_user_and_a_key_and_the_others_a_secret() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="jwt_bearer needs username"):
        Auth.model_validate({"grant": "jwt_bearer", "client_id": "x", "username": "u"})
    with pytest.raises(ValidationError, match="client_credentials needs client_secret"):
        Auth.model_validate({"grant": "client_credentials", "client_id": "x"})
