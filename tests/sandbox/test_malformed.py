"""Malformed requests to every service: each is a 4xx in that service's own error shape.

Raw HTTP on purpose: the official clients never send most of these, but a buggy
caller (or a curl by hand) does, and the simulators must answer the way the real
services do rather than crash with a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from leadbridge.sandbox.salesforce.ids import to18
from leadbridge.sandbox.world import Sandbox


@dataclass
class World:
    sandbox: Sandbox
    http: requests.Session
    hubspot_auth: dict[str, str]
    salesforce_auth: dict[str, str]
    contact_id: str
    lead_id: str


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with Sandbox(seed=4, limits=False) as sandbox:
        sandbox.populate(12)
        info = sandbox.info()
        http = requests.Session()
        http.verify = info["ca_bundle"]
        http.trust_env = False
        token = http.post(
            info["salesforce"]["url"] + "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": info["salesforce"]["client_id"],
                "client_secret": info["salesforce"]["client_secret"],
            },
            timeout=5,
        ).json()["access_token"]
        yield World(
            sandbox,
            http,
            {"Authorization": f"Bearer {info['hubspot']['token']}"},
            {"Authorization": f"Bearer {token}"},
            sandbox.hubspot.state.all_contacts()[0]["id"],
            sandbox.salesforce.state.records("Lead")[0]["Id"],
        )
        http.close()


CONTACTS = "/crm/v3/objects/contacts"
HUBSPOT_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", CONTACTS, {"data": b"not json"}),
    ("POST", CONTACTS, {"data": b""}),
    ("POST", CONTACTS, {"json": []}),
    ("POST", CONTACTS, {"json": {"properties": ["email"]}}),
    ("POST", CONTACTS, {"json": {"properties": {"firstname": {"nested": 1}}}}),
    ("PATCH", CONTACTS + "/{contact}", {"json": {"properties": {"email": None, "x_y": 1}}}),
    ("GET", CONTACTS, {"params": {"limit": "abc"}}),
    ("GET", CONTACTS, {"params": {"limit": "999999999999999999999"}}),
    ("GET", CONTACTS, {"params": {"limit": "-1"}}),
    ("GET", CONTACTS, {"params": {"after": "-5"}}),
    ("GET", CONTACTS + "/not-a-number", {}),
    ("GET", CONTACTS + "/99999999999999999999999999999", {}),
    ("GET", CONTACTS + "/{contact}", {"params": {"idProperty": "firstname"}}),
    ("POST", CONTACTS + "/search", {"json": {"limit": 10**30}}),
    ("POST", CONTACTS + "/search", {"json": {"limit": "many"}}),
    ("POST", CONTACTS + "/search", {"json": {"after": 10_000}}),
    ("POST", CONTACTS + "/search", {"json": {"after": -5}}),
    ("POST", CONTACTS + "/search", {"json": {"after": "abc"}}),
    ("POST", CONTACTS + "/search", {"json": {"filterGroups": "all"}}),
    ("POST", CONTACTS + "/search", {"json": {"filterGroups": [{"filters": [{"value": 1}]}]}}),
    ("POST", CONTACTS + "/search", {"json": {"sorts": [{"propertyName": "nope"}]}}),
    (
        "POST",
        CONTACTS + "/search",
        {
            "json": {
                "filterGroups": [
                    {"filters": [{"propertyName": "createdate", "operator": "GT", "value": "x"}]}
                ]
            }
        },
    ),
    ("POST", CONTACTS + "/merge", {"json": {"primaryObjectId": "1"}}),
    ("POST", CONTACTS + "/batch/read", {"json": {"inputs": "x"}}),
    ("POST", CONTACTS + "/batch/read", {"json": {"inputs": [{"id": None}]}}),
    ("POST", CONTACTS + "/batch/update", {"json": {"inputs": [1, 2]}}),
    ("POST", CONTACTS + "/batch/upsert", {"json": {"inputs": [{"id": "a@b.io", "idProperty": 5}]}}),
    ("POST", CONTACTS + "/batch/create", {"json": {"inputs": [{"properties": []}]}}),
    ("POST", "/crm/v3/properties/contacts", {"json": {"name": "x"}}),
    (
        "POST",
        "/crm/v3/properties/contacts",
        {
            "json": {
                "name": "tier",
                "label": "Tier",
                "type": "enumeration",
                "fieldType": "select",
                "groupName": "g",
                "options": [{"label": "A", "value": "a", "displayOrder": "first"}],
            }
        },
    ),
    ("GET", "/crm/v3/properties/widgets", {}),
    ("GET", "/crm/v3/objects/widgets/1/2/3", {}),
    ("PUT", CONTACTS + "/{contact}", {"json": {}}),
]


@pytest.mark.parametrize(("method", "path", "request_"), HUBSPOT_CASES)
def test_hubspot_answers_every_malformed_request_with_its_json_error(
    world: World, method: str, path: str, request_: dict[str, Any]
) -> None:
    url = world.sandbox.url("hubspot") + path.format(contact=world.contact_id)
    answer = world.http.request(method, url, headers=world.hubspot_auth, timeout=5, **request_)
    assert 400 <= answer.status_code < 500, answer.text
    if answer.status_code == 404 and not answer.content:
        return  # HubSpot answers a missing object with an empty 404
    body = answer.json()
    assert body["status"] == "error" and body["category"] and body["correlationId"]


SALESFORCE_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "sobjects/Lead", {"data": b"not json"}),
    ("POST", "sobjects/Lead", {"json": []}),
    ("POST", "sobjects/Lead", {"json": {"LastName": ["x"], "Company": "y"}}),
    ("POST", "sobjects/Lead", {"json": {"LastName": "x", "Company": "y", "Email": 5}}),
    ("POST", "sobjects/Lead", {"json": {"LastName": "x", "Company": "y", "OwnerId": "banana"}}),
    ("PATCH", "sobjects/Lead/{lead}", {"json": {"NumberOfEmployees": "1e999"}}),
    ("PATCH", "sobjects/Lead/{lead}", {"json": {"ConvertedDate": "2026-01-01"}}),
    ("PATCH", "sobjects/Lead/{lead}", {"json": {"Id": ["a"]}}),
    ("PATCH", "sobjects/Lead/Email/x@y.io", {"json": {}}),
    ("GET", "sobjects/Lead/not-an-id", {}),
    ("GET", "sobjects/Lead/" + to18("0015g000AAAAAAA"), {}),
    ("GET", "sobjects/Widget/describe", {}),
    ("GET", "sobjects/Lead/{lead}", {"params": {"fields": "Nope"}}),
    ("GET", "sobjects/Lead/updated", {"params": {"start": "yesterday", "end": "today"}}),
    ("GET", "sobjects/Lead/deleted", {}),
    ("GET", "query", {}),
    ("GET", "query", {"params": {"q": "SELECT FROM"}}),
    ("GET", "query", {"params": {"q": "SELECT Id FROM Lead OFFSET 999999999999999999999"}}),
    ("GET", "query", {"params": {"q": "SELECT Id FROM Lead WHERE Id = 'x'"}}),
    ("GET", "query", {"params": {"q": "SELECT Id FROM Lead WHERE IsDeleted > true"}}),
    ("GET", "query", {"params": {"q": "SELECT Id FROM Lead WHERE CreatedDate > 2026-13-45"}}),
    ("GET", "query/01g-2000", {}),
    ("GET", "query/01g5g0000000000AAA-99999999999999999999", {}),
    ("POST", "composite/sobjects", {"json": {"records": "x"}}),
    ("POST", "composite/sobjects", {"json": {"records": [{"LastName": "x"}] * 201}}),
    ("PATCH", "composite/sobjects/Lead/LastName", {"json": {"records": []}}),
    ("DELETE", "composite/sobjects", {}),
    ("GET", "composite/sobjects/Lead", {"params": {"ids": ","}}),
    ("PUT", "sobjects/Lead/{lead}", {"json": {}}),
    ("GET", "no/such/resource", {}),
]


@pytest.mark.parametrize(("method", "path", "request_"), SALESFORCE_CASES)
def test_salesforce_answers_every_malformed_request_with_its_error_array(
    world: World, method: str, path: str, request_: dict[str, Any]
) -> None:
    base = world.sandbox.url("salesforce") + "/services/data/v59.0/"
    url = base + path.format(lead=world.lead_id)
    answer = world.http.request(method, url, headers=world.salesforce_auth, timeout=5, **request_)
    assert 400 <= answer.status_code < 500, answer.text
    errors = answer.json()
    assert isinstance(errors, list) and errors
    assert all(set(error) >= {"message", "errorCode"} for error in errors)


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        (b"", {}),
        (b"\xff\xfe", {"Content-Type": "application/x-www-form-urlencoded"}),
        (b"grant_type=password&username=a", {"Authorization": "Basic %%%"}),
    ],
)
def test_the_token_endpoint_answers_malformed_requests_with_oauth_errors(
    world: World, data: bytes, headers: dict[str, str]
) -> None:
    url = world.sandbox.url("salesforce") + "/services/oauth2/token"
    answer = world.http.post(url, data=data, headers=headers, timeout=5)
    assert answer.status_code == 400 and set(answer.json()) == {"error", "error_description"}


@pytest.mark.parametrize(
    ("data", "content_type", "code"),
    [
        (b"{nope", "application/json", "invalid_payload"),
        (b"[1, 2]", "application/json", "invalid_payload"),
        (b'{"text": ["a"]}', "application/json", "invalid_payload"),
        (b"payload=%7Bnope", "application/x-www-form-urlencoded", "invalid_payload"),
        (b"other=1", "application/x-www-form-urlencoded", "invalid_payload"),
        (b'{"blocks": {"type": "divider"}}', "application/json", "invalid_blocks"),
        (b'{"blocks": [{"type": "section", "fields": [1]}]}', "application/json", "invalid_blocks"),
        (b'{"text": null}', "application/json", "no_text"),
    ],
)
def test_slack_answers_every_malformed_payload_with_a_bare_code(
    world: World, data: bytes, content_type: str, code: str
) -> None:
    url = world.sandbox.info()["slack"]["webhook_url"]
    answer = world.http.post(url, data=data, headers={"Content-Type": content_type}, timeout=5)
    assert (answer.status_code, answer.text) == (400, code)


@pytest.mark.parametrize("service", ["hubspot", "salesforce", "slack"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_sandbox/clock/advance", b"{nope"),
        ("/_sandbox/clock/advance", b'{"seconds": 1e300}'),
        ("/_sandbox/clock/advance", b'{"days": "soon"}'),
        ("/_sandbox/faults", b"[]"),
        ("/_sandbox/faults", b'{"error_statuses": [200]}'),
        ("/_sandbox/faults", b'{"latency_seconds": [5]}'),
    ],
)
def test_control_endpoints_refuse_nonsense_and_the_service_carries_on(
    world: World, service: str, path: str, body: bytes
) -> None:
    base = world.sandbox.url(service)
    answer = world.http.post(base + path, data=body, timeout=5)
    assert answer.status_code == 400 and answer.json()["error"]
    assert world.http.get(base + "/_sandbox/clock", timeout=5).json()["now"].startswith("20")
