"""Injected faults as simple-salesforce sees them: Salesforce's own bodies, never a 429."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceRefusedRequest

from leadbridge.sandbox.faults import Fault, FaultSpec
from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox.salesforce_fixtures import CLIENT_ID, CLIENT_SECRET, RunningOrg, running_org


@pytest.fixture
def org(tls_files: TLSFiles) -> Iterator[RunningOrg]:
    with running_org(tls_files) as running:
        yield running


def test_server_errors_carry_salesforce_bodies_or_the_edge_html(org: RunningOrg) -> None:
    sf = org.client()
    org.sim.faults.inject_next(Fault.SERVER_ERROR, status=503)
    with pytest.raises(SalesforceGeneralError) as unavailable:
        sf.query("SELECT Id FROM Lead")
    assert unavailable.value.status == 503
    assert unavailable.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    org.sim.faults.inject_next(Fault.SERVER_ERROR, status=500)
    with pytest.raises(SalesforceGeneralError) as broken:
        sf.Lead.create({"LastName": "A", "Company": "B"})
    assert broken.value.content[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    assert org.sim.state.records("Lead") == [], "the fault struck before the write"
    org.sim.faults.inject_next(Fault.SERVER_ERROR, status=502)
    with pytest.raises(SalesforceGeneralError) as edge:
        sf.query("SELECT Id FROM Lead")
    assert edge.value.status == 502 and "<html>" in edge.value.content
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0, "healthy again"


def test_an_injected_rate_limit_is_a_403_concurrency_refusal(org: RunningOrg) -> None:
    sf = org.client()
    org.sim.faults.inject_next(Fault.RATE_LIMIT, count=2)
    for _ in range(2):
        with pytest.raises(SalesforceRefusedRequest) as caught:
            sf.query("SELECT Id FROM Lead")
        assert caught.value.content == [
            {
                "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
                "errorCode": "REQUEST_LIMIT_EXCEEDED",
            }
        ]
    sf.query("SELECT Id FROM Lead")


def test_a_rate_limit_burst_at_the_token_endpoint_is_the_edges_503(org: RunningOrg) -> None:
    # Logins are outside the API's request limits: no REQUEST_LIMIT_EXCEEDED list there.
    org.sim.faults.inject_next(Fault.RATE_LIMIT)
    answer = org.http().post(
        org.url + "/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        timeout=5,
    )
    assert answer.status_code == 503
    assert "access_token" in org.token()


def test_a_dropped_answer_after_the_write_leaves_the_write_done(org: RunningOrg) -> None:
    sf = org.client()
    org.sim.faults.inject_next(Fault.DROP_AFTER)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        sf.Lead.upsert("Leadbridge_Id__c/lb-1", {"LastName": "A", "Company": "B"})
    assert len(org.sim.state.records("Lead")) == 1
    # The retry an idempotent client makes finds the record instead of duplicating it.
    assert sf.Lead.upsert("Leadbridge_Id__c/lb-1", {"LastName": "A", "Company": "B"}) == 200
    assert len(org.sim.state.records("Lead")) == 1


def test_seeded_faults_over_the_control_endpoint(org: RunningOrg) -> None:
    control = org.http()
    answer = control.put(f"{org.url}/_sandbox/faults", json={"error_rate": 1.0}, timeout=5)
    assert answer.status_code == 200
    assert org.sim.faults.spec == FaultSpec(error_rate=1.0)
    token = requests.post(
        f"{org.url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        timeout=5,
    )
    assert token.status_code >= 500, "the token endpoint is behind the faults too"
    control.put(f"{org.url}/_sandbox/faults", json={}, timeout=5)
    assert org.client().query("SELECT Id FROM Lead")["done"] is True
