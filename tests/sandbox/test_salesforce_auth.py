"""The simulated Salesforce's front door: OAuth, dying sessions, versions, the daily allocation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from leadbridge.sandbox.faults import Fault
from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox.salesforce_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    USERNAME,
    RunningOrg,
    reference,
    running_org,
    shape_errors,
)


@pytest.fixture
def org(tls_files: TLSFiles) -> Iterator[RunningOrg]:
    with running_org(tls_files) as running:
        yield running


def _post_token(org: RunningOrg, **kwargs: object) -> requests.Response:
    return requests.post(f"{org.url}/services/oauth2/token", timeout=10, **kwargs)  # type: ignore[arg-type]


def test_client_credentials_token_has_the_real_fields_and_a_valid_signature(
    org: RunningOrg,
) -> None:
    token = org.token()
    assert set(token) >= {"access_token", "instance_url", "id", "token_type", "issued_at"}
    assert token["token_type"] == "Bearer"
    assert token["instance_url"] == org.url
    assert token["access_token"].startswith("00D5g000004XyzA!")
    assert token["id"] == f"{org.url}/id/00D5g000004XyzAEAS/{org.sim.integration_user_id}"
    assert token["issued_at"].isdigit() and len(token["issued_at"]) == 13
    expected = hmac.new(
        CLIENT_SECRET.encode(), (token["id"] + token["issued_at"]).encode(), hashlib.sha256
    ).digest()
    assert base64.b64decode(token["signature"]) == expected


def test_basic_auth_and_password_grant_also_issue_tokens(org: RunningOrg) -> None:
    basic = _post_token(
        org, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert basic.status_code == 200 and basic.json()["access_token"]
    password = org.token(grant_type="password", username=USERNAME, password=PASSWORD)
    assert password["access_token"] != basic.json()["access_token"]


@pytest.mark.parametrize(
    ("form", "error", "description"),
    [
        (
            {"grant_type": "password", "username": USERNAME, "password": "wrong"},
            "invalid_grant",
            "authentication failure",
        ),
        (
            {"grant_type": "authorization_code"},
            "unsupported_grant_type",
            "grant type not supported",
        ),
        ({"client_id": "someone-else"}, "invalid_client_id", "client identifier invalid"),
        ({"client_secret": "guess"}, "invalid_client", "invalid client credentials"),
    ],
)
def test_bad_token_requests_answer_400_with_oauth_errors(
    org: RunningOrg, form: dict[str, str], error: str, description: str
) -> None:
    data = {"grant_type": "client_credentials", "client_id": CLIENT_ID}
    data |= {"client_secret": CLIENT_SECRET, **form}
    answer = _post_token(org, data=data)
    assert answer.status_code == 400
    assert answer.json() == {"error": error, "error_description": description}
    assert shape_errors(reference("auth_error_response.json"), answer.json()) == []


def test_a_token_dies_after_its_lifetime_of_simulated_time(org: RunningOrg) -> None:
    sf = org.client()
    sf.query("SELECT Id FROM Lead")
    org.clock.advance(7200 + 1)
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.query("SELECT Id FROM Lead")
    assert caught.value.status == 401
    assert caught.value.content == reference("expired_session_response.json")


def test_expire_sessions_and_the_control_endpoint_end_every_session(org: RunningOrg) -> None:
    sf = org.client()
    org.sim.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        sf.Lead.describe()
    sf = org.client()
    assert requests.post(f"{org.url}/_sandbox/sessions/expire", timeout=5).status_code == 200
    with pytest.raises(SalesforceExpiredSession):
        sf.Lead.describe()


def test_an_injected_session_expiry_kills_the_presented_session(org: RunningOrg) -> None:
    sf = org.client()
    org.sim.faults.inject_next(Fault.SESSION_EXPIRED)
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Lead")
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Lead")  # dead for good, not just for one request
    assert org.client().query("SELECT Id FROM Lead")["totalSize"] == 0


def test_a_client_that_logged_in_itself_logs_in_again_on_invalid_session(
    org: RunningOrg,
) -> None:
    """simple-salesforce's own client-credentials login, pointed at the sandbox: it always
    builds https://{domain}.salesforce.com/services/oauth2/token, so the domain carries the
    sandbox's host and a fragment swallows the rest. On a 401 INVALID_SESSION_ID it logs in
    again and repeats the call, which a client handed a bare token never does."""
    host = org.url.removeprefix("https://")
    sf = Salesforce(
        consumer_key=CLIENT_ID,
        consumer_secret=CLIENT_SECRET,
        domain=f"{host}/services/oauth2/token#",
        session=org.http(),
    )
    assert sf.sf_instance == host
    first = sf.session_id
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0
    org.sim.expire_sessions()
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0
    assert sf.session_id != first


def test_a_missing_or_foreign_token_is_401(org: RunningOrg) -> None:
    answer = requests.get(f"{org.url}/services/data/v59.0/limits", timeout=5)
    assert answer.status_code == 401
    assert answer.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    stranger = Salesforce(instance_url=org.url, session_id="00D!forged", session=org.http())
    with pytest.raises(SalesforceExpiredSession):
        stranger.limits()


def test_versions_are_listed_without_a_session_and_unknown_ones_are_404(org: RunningOrg) -> None:
    versions = requests.get(f"{org.url}/services/data/", timeout=5).json()
    by_number = {v["version"]: v for v in versions}
    assert {"31.0", "59.0", "62.0"} <= set(by_number)
    assert by_number["59.0"] == {
        "label": "Winter '24",
        "url": "/services/data/v59.0",
        "version": "59.0",
    }
    assert by_number["31.0"]["label"] == "Summer '14"
    sf = org.client(version="99.0")
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.query("SELECT Id FROM Lead")
    assert caught.value.content[0]["errorCode"] == "NOT_FOUND"


@pytest.fixture
def limited(tls_files: TLSFiles) -> Iterator[RunningOrg]:
    with running_org(tls_files, daily_api_limit=5) as running:
        yield running


def test_the_daily_allocation_refuses_at_exactly_its_limit_until_the_day_rolls(
    limited: RunningOrg,
) -> None:
    sf = limited.client()
    for used in range(1, 6):
        sf.query("SELECT Id FROM Lead")
        assert sf.api_usage["api-usage"] == (used, 5)
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM Lead")
    assert caught.value.status == 403
    assert caught.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    with pytest.raises(SalesforceRefusedRequest):  # the allocation is the org's, not the session's
        limited.client().Lead.describe()
    limited.clock.advance(86_400)
    sf = limited.client()  # the old token is past its lifetime by now
    sf.query("SELECT Id FROM Lead")
    assert sf.api_usage["api-usage"] == (1, 5)


def test_limits_resource_reports_the_allocation(org: RunningOrg) -> None:
    sf = org.client()
    sf.query("SELECT Id FROM Lead")
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 100_000, "Remaining": 100_000 - 2}
    assert sf.api_usage["api-usage"] == (2, 100_000)


def test_without_a_limit_calls_are_counted_but_never_refused(tls_files: TLSFiles) -> None:
    with running_org(tls_files, daily_api_limit=None) as org:
        sf = org.client()
        for _ in range(3):
            sf.query("SELECT Id FROM Lead")
        used, total = sf.api_usage["api-usage"]
        assert used == 3 and total >= 1_000_000
