"""Single precise Salesforce answers (with `responses`): login refusals, edge pages, per-record
error codes, whole-request failures and the Sforce-Limit-Info header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from leadbridge.connectors.errors import Action, RemoteError
from leadbridge.connectors.salesforce.auth import request_kind
from leadbridge.connectors.salesforce.connector import LoginRefused, SalesforceConnector
from leadbridge.connectors.salesforce.settings import SalesforceSettings
from tests.connectors.salesforce.support import FAST, lead_create, lead_update

LOGIN = "https://login.example.com"
INSTANCE = "https://acme.my.salesforce.com"
TOKEN_URL = f"{LOGIN}/services/oauth2/token"
DATA = f"{INSTANCE}/services/data/v59.0"
ORG = "00D5g000004XyzAEAS"
LEADS = [f"00Q5g000001abc{n}AAA" for n in range(4)]


def _settings(**changes: Any) -> SalesforceSettings:
    data: dict[str, Any] = {
        "login_url": LOGIN,
        "auth": {"grant": "client_credentials", "client_id": "id", "client_secret": "s"},
        "org_id": ORG,
        "objects": {"Lead": {"fields": ["Email"]}},
        **changes,
    }
    return SalesforceSettings.model_validate(data)


def _token(org: str = ORG) -> dict[str, Any]:
    return {
        "access_token": f"{org[:15]}!token",
        "instance_url": INSTANCE,
        "id": f"{LOGIN}/id/{org}/0055g000000abcdAAA",
        "token_type": "Bearer",
        "issued_at": "1767603600000",
        "signature": "c2ln",
    }


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def salesforce() -> Iterator[SalesforceConnector]:
    with SalesforceConnector(_settings(), tuning=FAST) as connector:
        yield connector


def _query_answer(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"totalSize": len(records), "done": True, "records": records}


def test_refused_credentials_fail_at_once_and_say_why(
    api: responses.RequestsMock, salesforce: SalesforceConnector
) -> None:
    api.post(
        TOKEN_URL,
        json={"error": "invalid_client", "error_description": "invalid client credentials"},
        status=400,
    )
    with pytest.raises(LoginRefused) as caught:
        salesforce.read("Lead", LEADS[:1])
    assert caught.value.action is Action.FAIL
    assert caught.value.failure.code == "invalid_client"
    assert len(api.calls) == 1  # never retried
    health = salesforce.health()
    assert not health.healthy and "invalid client credentials" in health.detail


def test_a_login_url_that_is_not_salesforce_is_refused_not_retried(
    api: responses.RequestsMock, salesforce: SalesforceConnector
) -> None:
    api.post(TOKEN_URL, body="<html>Not Found</html>", status=404)
    with pytest.raises(LoginRefused, match="HTTP_404"):
        salesforce.read("Lead", LEADS[:1])
    assert len(api.calls) == 1


def test_credentials_of_another_org_are_refused(
    api: responses.RequestsMock, salesforce: SalesforceConnector
) -> None:
    api.post(TOKEN_URL, json=_token("00D000000000001AAA"))
    with pytest.raises(LoginRefused, match="WRONG_ORGANIZATION"):
        salesforce.read("Lead", LEADS[:1])


def test_an_edge_error_page_and_a_failed_login_are_retried(
    api: responses.RequestsMock, salesforce: SalesforceConnector
) -> None:
    api.post(TOKEN_URL, body="<html>503</html>", status=503)
    api.post(TOKEN_URL, json=_token())
    api.get(f"{DATA}/query/", body="<html><h1>502</h1></html>", status=502)
    api.get(
        f"{DATA}/query/",
        json=_query_answer(
            [
                {
                    "attributes": {"type": "Lead"},
                    "Id": LEADS[0],
                    "SystemModstamp": "2026-01-05T09:00:00.000+0000",
                }
            ]
        ),
        headers={"Sforce-Limit-Info": "api-usage=120/15000"},
    )
    (change,) = salesforce.read("Lead", LEADS[:1])
    assert change.id == LEADS[0]
    assert salesforce.stats.retries == 2
    state = salesforce.health().budget
    # leadbridge's own calls (the two that reached the API), apart from the org's count.
    assert state is not None and (state.daily_used, state.daily_allowed) == (2, 15000)
    assert state.org_used == 120
    query = api.calls[-1].request.url or ""
    assert "SELECT+Id%2C+SystemModstamp%2C+Email%2C+IsConverted" in query
    assert "WHERE+Id+IN+%28%2700Q5g000001abc0AAA%27%29" in query


def test_each_record_gets_its_own_code_message_and_action(
    api: responses.RequestsMock, salesforce: SalesforceConnector
) -> None:
    api.post(TOKEN_URL, json=_token())

    def error(code: str, message: str) -> dict[str, Any]:
        return {
            "success": False,
            "errors": [{"statusCode": code, "message": message, "fields": []}],
        }

    api.patch(
        f"{DATA}/composite/sobjects",
        json=[
            {"id": LEADS[0], "success": True, "errors": []},
            error("DUPLICATE_VALUE", "duplicate value found: Email"),
            error("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"),
            error("SOMETHING_NEW", "a code the table does not know"),
        ],
    )
    results = salesforce.apply([lead_update(lead, Rating="Hot") for lead in LEADS])
    assert [r.ok for r in results] == [True, False, False, False]
    assert [r.action for r in results] == [None, Action.PARK, Action.RETRY, Action.FAIL]
    assert results[1].failure is not None
    assert results[1].failure.message == "duplicate value found: Email"
    assert [r.id for r in results] == LEADS
    body = api.calls[-1].request.body
    assert isinstance(body, bytes) and b'"allOrNone": false' in body


def test_a_create_is_sent_as_a_collection_upsert_on_the_external_id(
    api: responses.RequestsMock, salesforce: SalesforceConnector
) -> None:
    api.post(TOKEN_URL, json=_token())
    api.patch(
        f"{DATA}/composite/sobjects/Lead/Leadbridge_Id__c",
        json=[{"id": LEADS[0], "success": True, "errors": [], "created": True}],
    )
    (result,) = salesforce.apply([lead_create("lb-1", LastName="L", Company="C")])
    assert result.ok and result.created and result.id == LEADS[0]
    body = api.calls[-1].request.body
    assert isinstance(body, bytes)
    assert b'"Leadbridge_Id__c": "lb-1"' in body and b'"type": "Lead"' in body


def test_a_refused_request_parks_its_records_and_a_forbidden_one_fails_the_run(
    api: responses.RequestsMock, salesforce: SalesforceConnector
) -> None:
    api.post(TOKEN_URL, json=_token())
    api.patch(
        f"{DATA}/composite/sobjects",
        json=[{"errorCode": "JSON_PARSER_ERROR", "message": "Unexpected character"}],
        status=400,
    )
    results = salesforce.apply([lead_update(LEADS[0], Rating="Hot")])
    assert results[0].action is Action.PARK and results[0].failure is not None
    assert results[0].failure.message == "Unexpected character"
    api.replace(
        responses.PATCH,
        f"{DATA}/composite/sobjects",
        json=[{"errorCode": "API_DISABLED_FOR_ORG", "message": "API is not enabled"}],
        status=403,
    )
    with pytest.raises(RemoteError) as caught:
        salesforce.apply([lead_update(LEADS[0], Rating="Hot")])
    assert caught.value.action is Action.FAIL


def test_spent_retries_leave_the_records_to_try_again_and_stop_sending(
    api: responses.RequestsMock,
) -> None:
    api.post(TOKEN_URL, json=_token())
    api.patch(f"{DATA}/composite/sobjects", body="<html>503</html>", status=503)
    tuning = FAST.__class__(attempts=3, base=0.001, cap=0.001)
    writes = [lead_update(f"00Q5g000002abc{n:04d}", Rating="Hot") for n in range(450)]
    with SalesforceConnector(_settings(), tuning=tuning) as salesforce:
        results = salesforce.apply(writes)
        assert {r.action for r in results} == {Action.RETRY}
        assert {r.failure.status for r in results if r.failure} == {503}
        # The first collection spent its three attempts; the other two were not sent.
        assert salesforce.requests == {"login": 1, "write": 3}  # every try, and the login
        assert not salesforce.health().healthy


def test_an_answer_that_does_not_match_the_request_stops_the_run(
    api: responses.RequestsMock, salesforce: SalesforceConnector
) -> None:
    api.post(TOKEN_URL, json=_token())
    api.patch(f"{DATA}/composite/sobjects", json=[])
    with pytest.raises(RemoteError, match="UNEXPECTED_ANSWER"):
        salesforce.apply([lead_update(LEADS[0], Rating="Hot")])


def test_describe_reads_types_picklists_and_restriction(
    api: responses.RequestsMock, salesforce: SalesforceConnector
) -> None:
    api.post(TOKEN_URL, json=_token())
    status = {
        "name": "Status",
        "label": "Status",
        "type": "picklist",
        "restrictedPicklist": True,
        "updateable": True,
        "createable": True,
        "picklistValues": [
            {"value": "Open", "label": "Open", "active": True, "defaultValue": True},
            {"value": "Old", "label": "Old", "active": False, "defaultValue": False},
        ],
    }
    stamp = {"name": "SystemModstamp", "type": "datetime", "updateable": False, "createable": False}
    api.get(f"{DATA}/sobjects/Lead/describe", json={"name": "Lead", "fields": [status, stamp]})
    schema = salesforce.describe("Lead")
    assert schema.fields["Status"].options == ("Open",)
    assert schema.fields["Status"].restricted and schema.fields["Status"].writable
    assert not schema.fields["SystemModstamp"].writable


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", "/services/oauth2/token", "login"),
        ("GET", "/services/data/v59.0/query/?q=SELECT+Id+FROM+Lead", "query"),
        ("GET", "/services/data/v59.0/query/01gxx-2000", "query"),
        ("GET", "/services/data/v59.0/queryAll/?q=SELECT+Id+FROM+Lead", "query"),
        ("GET", "/services/data/v59.0/sobjects/Lead/describe", "read"),
        ("GET", "/services/data/v59.0/sobjects/Lead/deleted/", "read"),
        ("PATCH", "/services/data/v59.0/composite/sobjects", "write"),
        ("PATCH", "/services/data/v59.0/composite/sobjects/Lead/Leadbridge_Id__c", "write"),
    ],
)
def test_each_request_is_counted_under_its_kind(method: str, path: str, kind: str) -> None:
    assert request_kind(method, INSTANCE + path) == kind
