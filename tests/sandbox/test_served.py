"""Every simulated service counts the requests it serves, by method, endpoint and status."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
)
from hubspot.crm.contacts.exceptions import ApiException

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.faults import Fault
from leadbridge.sandbox.served import DROPPED, Endpoints
from leadbridge.sandbox.server import serve
from leadbridge.sandbox.slack import SlackSim
from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox.hubspot_fixtures import running_portal
from tests.sandbox.salesforce_fixtures import running_org


def rows(report: dict[str, Any]) -> dict[tuple[str, str, int], int]:
    return {(r["method"], r["endpoint"], r["status"]): r["count"] for r in report["requests"]}


def test_endpoints_name_variable_segments_id_and_keep_the_kind() -> None:
    endpoints = Endpoints(
        [
            "/crm/v3/objects/contacts/search",
            "/crm/v3/objects/contacts/{contact_id}",
            "/crm/v3/properties/{object_type}/{name}",
            "/services/data/{version}/sobjects/{sobject}/{field}/{value}",
            "/_sandbox/rep/leads/{id}/status",
        ]
    )
    assert endpoints.of("/crm/v3/objects/contacts/search") == "/crm/v3/objects/contacts/search"
    assert endpoints.of("/crm/v3/objects/contacts/901?archived=true") == (
        "/crm/v3/objects/contacts/{id}"
    )
    assert endpoints.of("/crm/v3/properties/contacts/email") == "/crm/v3/properties/contacts/{id}"
    # An external id value with an encoded "/" is one segment; a trailing slash is no segment.
    assert endpoints.of("/services/data/v59.0/sobjects/Lead/Leadbridge_Id__c/a%2Fb/") == (
        "/services/data/v59.0/sobjects/Lead/Leadbridge_Id__c/{id}"
    )
    assert endpoints.of("/somewhere/else") == "/somewhere/else"


def test_hubspot_counts_every_request_with_its_limits_off(tls_files: TLSFiles) -> None:
    with running_portal(tls_files, ten_second_limit=None, daily_limit=None) as portal:
        ids = [portal.sim.marketer.new_contact(email=f"p{n}@example.com") for n in range(3)]
        session = requests.Session()
        session.verify = portal.ca_bundle
        session.get(portal.url + "/_sandbox/clock", timeout=5)  # steering: never counted
        basic = portal.client.crm.contacts.basic_api
        for contact in ids:
            basic.get_by_id(contact, properties=["email"])
        with pytest.raises(ApiException):
            basic.get_by_id("999999")
        inputs = [SimplePublicObjectBatchInput(id=i, properties={"company": "Acme"}) for i in ids]
        portal.client.crm.contacts.batch_api.update(
            BatchInputSimplePublicObjectBatchInput(inputs=inputs)
        )
        portal.client.crm.contacts.search_api.do_search(PublicObjectSearchRequest(limit=10))
        with pytest.raises(ApiException):
            portal.client_with("pat-na1-not-a-token").crm.contacts.basic_api.get_by_id(ids[0])
        over_http = session.get(portal.url + "/_sandbox/requests", timeout=5).json()
    assert over_http == portal.sim.requests()
    assert rows(over_http) == {
        ("GET", "/crm/v3/objects/contacts/{id}", 200): 3,
        ("GET", "/crm/v3/objects/contacts/{id}", 404): 1,
        ("GET", "/crm/v3/objects/contacts/{id}", 401): 1,
        ("POST", "/crm/v3/objects/contacts/batch/update", 200): 1,
        ("POST", "/crm/v3/objects/contacts/search", 200): 1,
    }
    assert over_http["total"] == 7
    assert over_http["requests"] == sorted(
        over_http["requests"], key=lambda r: (r["endpoint"], r["method"], r["status"])
    )


def test_salesforce_counts_logins_refusals_and_names_records_id(tls_files: TLSFiles) -> None:
    with running_org(tls_files, daily_api_limit=4) as org:
        lead = org.lead(Email="kim@example.com")
        sf = org.client()  # one login
        sf.Lead.get(lead)
        sf.Lead.upsert("Leadbridge_Id__c/lb-1", {"LastName": "Kim", "Company": "Acme"})
        sf.query("SELECT Id FROM Lead")
        sf.Lead.describe()
        with pytest.raises(Exception, match="REQUEST_LIMIT_EXCEEDED"):
            sf.Lead.get(lead)  # the fifth REST call of the day: the allocation is spent
        counts = org.sim.served.counts()
        assert org.sim.served.count(status=403) == 1
    base = "/services/data/v59.0"
    assert counts == {
        ("POST", "/services/oauth2/token", 200): 1,
        ("GET", f"{base}/sobjects/Lead/{{id}}", 200): 1,
        ("PATCH", f"{base}/sobjects/Lead/Leadbridge_Id__c/{{id}}", 201): 1,
        ("GET", f"{base}/query", 200): 1,
        ("GET", f"{base}/sobjects/Lead/describe", 200): 1,
        ("GET", f"{base}/sobjects/Lead/{{id}}", 403): 1,
    }
    assert org.sim.usage.used == 4  # the allocation counts REST calls let through; we count all


def test_injected_faults_and_dropped_connections_are_counted(tls_files: TLSFiles) -> None:
    with running_org(tls_files) as org:
        org.token()
        org.sim.faults.inject_next(Fault.SERVER_ERROR, status=503)
        assert requests.post(f"{org.url}/services/oauth2/token", timeout=5).status_code == 503
        org.sim.faults.inject_next(Fault.DROP_AFTER)
        with pytest.raises(requests.RequestException):  # the answer's body never comes
            org.token()
        assert rows(org.sim.requests()) == {
            ("POST", "/services/oauth2/token", 200): 1,
            ("POST", "/services/oauth2/token", 503): 1,
            ("POST", "/services/oauth2/token", DROPPED): 1,
        }


def test_slack_counts_hooks_without_their_secrets_and_resets_on_delete() -> None:
    sim = SlackSim(SimClock(), seed=5, per_second=1)
    hook = sim.add_webhook("#alerts")
    server = serve(sim.app, "slack")
    try:
        for _ in range(2):  # the second within the second: 429
            requests.post(server.url + hook, json={"text": "stuck"}, timeout=5)
        report = requests.get(server.url + "/_sandbox/requests", timeout=5).json()
        ended = requests.delete(server.url + "/_sandbox/requests", timeout=5).json()
        after = sim.requests()
    finally:
        server.stop()
    assert rows(report) == {
        ("POST", "/services/{id}/{id}/{id}", 200): 1,
        ("POST", "/services/{id}/{id}/{id}", 429): 1,
    }
    assert hook.rsplit("/", 1)[1] not in str(report)
    assert ended == report
    assert after == {"total": 0, "requests": []}


def test_counts_stay_exact_under_concurrent_requests(tls_files: TLSFiles) -> None:
    with running_portal(tls_files, ten_second_limit=None, daily_limit=None) as portal:

        def hammer() -> None:
            with requests.Session() as session:
                for n in range(25):
                    session.get(
                        f"{portal.url}/crm/v3/objects/contacts/{n}",
                        headers={"authorization": "Bearer nobody"},
                        verify=portal.ca_bundle,
                        timeout=5,
                    )

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert portal.sim.served.counts() == {("GET", "/crm/v3/objects/contacts/{id}", 401): 200}
