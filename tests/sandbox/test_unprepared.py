"""An unprepared portal and org, as the real services show them, then prepared through the
sandbox's own setup endpoints (what an admin or a Metadata API deploy would do)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate
from hubspot.crm.contacts.exceptions import ApiException
from hubspot.crm.properties import PropertyCreate, PropertyUpdate
from hubspot.crm.properties.exceptions import ForbiddenException as PropertiesForbidden
from simple_salesforce import Salesforce, SalesforceMalformedRequest, SalesforceResourceNotFound

from leadbridge.sandbox.world import Sandbox

LEADBRIDGE_FIELDS = (
    "Leadbridge_Id__c",
    "HubSpot_Contact_Id__c",
    "Recycle_Reason__c",
    "Leadbridge_Score__c",
    "Leadbridge_Grade__c",
)


@contextmanager
def serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> Iterator[Sandbox]:
    with Sandbox(seed=3, limits=False, tls_dir=tmp_path / "tls", **options) as world:
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify`.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", world.info()["ca_bundle"])
        monkeypatch.setenv("CURL_CA_BUNDLE", world.info()["ca_bundle"])
        yield world


@pytest.fixture
def unprepared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with serving(tmp_path, monkeypatch, prepared=False) as world:
        yield world


def _hubspot(world: Sandbox, token: str | None = None) -> HubSpot:
    info = world.info()
    return HubSpot(
        access_token=token or info["hubspot"]["token"],
        host=info["hubspot"]["url"],
        ssl_ca_cert=info["ca_bundle"],
    )


def _token(world: Sandbox, **form: str) -> requests.Response:
    info = world.info()
    data = {
        "grant_type": "client_credentials",
        "client_id": info["salesforce"]["client_id"],
        "client_secret": info["salesforce"]["client_secret"],
        **form,
    }
    return requests.post(
        f"{info['salesforce']['url']}/services/oauth2/token",
        data=data,
        verify=info["ca_bundle"],
        timeout=10,
    )


def _salesforce(world: Sandbox, access_token: str | None = None) -> Salesforce:
    session = requests.Session()
    session.verify = world.info()["ca_bundle"]
    answer = _token(world).json()
    return Salesforce(
        instance_url=answer["instance_url"],
        session_id=access_token or answer["access_token"],
        session=session,
        version="59.0",
    )


def _control(world: Sandbox, service: str, path: str, body: Any = None) -> requests.Response:
    url = world.url(service) + path
    verify = world.info()["ca_bundle"]
    if body is None:
        return requests.get(url, verify=verify, timeout=10)
    return requests.post(url, json=body, verify=verify, timeout=10)


# -- HubSpot


def test_token_introspection_answers_the_apps_scopes(unprepared: Sandbox) -> None:
    info = unprepared.info()["hubspot"]
    url = info["url"] + "/oauth/v2/private-apps/get/access-token-info"
    verify = unprepared.info()["ca_bundle"]
    answer = requests.post(url, json={"tokenKey": info["token"]}, verify=verify, timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert body["scopes"] == ["crm.objects.contacts.read", "crm.objects.contacts.write"]
    assert body["hubId"] == unprepared.hubspot.portal_id
    assert body["appId"] == unprepared.hubspot.app_id and isinstance(body["userId"], int)
    # HubSpot serves it as a POST only; an unknown token is refused.
    assert requests.get(url, verify=verify, timeout=10).status_code == 405
    unknown = requests.post(url, json={"tokenKey": "pat-na1-nope"}, verify=verify, timeout=10)
    assert (unknown.status_code, unknown.json()["category"]) == (401, "INVALID_AUTHENTICATION")


def test_a_missing_scope_is_hubspots_403_then_granted(unprepared: Sandbox) -> None:
    client = _hubspot(unprepared)
    client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "ada@example.com"})
    )
    with pytest.raises(PropertiesForbidden) as caught:
        client.crm.properties.core_api.get_all("contacts")
    body = json.loads(caught.value.body)
    assert caught.value.status == 403
    assert body["category"] == "MISSING_SCOPES" and body["status"] == "error"
    assert body["message"].startswith("This app hasn't been granted all required scopes")
    assert body["errors"] == [
        {
            "message": "One or more of the following scopes are required.",
            "context": {"requiredGranularScopes": ["crm.schemas.contacts.read"]},
        }
    ]
    schemas = requests.get(
        unprepared.url("hubspot") + "/crm/v3/schemas",
        headers={"Authorization": f"Bearer {unprepared.info()['hubspot']['token']}"},
        verify=unprepared.info()["ca_bundle"],
        timeout=10,
    )
    assert schemas.status_code == 403
    assert schemas.json()["errors"][0]["context"]["requiredGranularScopes"] == [
        "crm.schemas.custom.read"
    ]

    # The admin edits the app's scopes; the token stays the same.
    token = unprepared.info()["hubspot"]["token"]
    scopes = [
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        "crm.schemas.contacts.read",
        "crm.schemas.contacts.write",
        "crm.schemas.custom.read",
    ]
    edited = _control(
        unprepared, "hubspot", "/_sandbox/private-apps", {"token": token, "scopes": scopes}
    )
    assert edited.status_code == 200, edited.text
    names = {p.name for p in client.crm.properties.core_api.get_all("contacts").results}
    # A new portal has none of leadbridge's own properties: setup makes them.
    assert "leadbridge_stage" not in names and "leadbridge_handback_reason" not in names
    client.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name="leadbridge_stage",
            label="leadbridge stage",
            type="string",
            field_type="text",
            group_name="contactinformation",
        ),
    )
    assert client.crm.properties.core_api.get_by_name("contacts", "leadbridge_stage").label
    schemas = requests.get(
        unprepared.url("hubspot") + "/crm/v3/schemas",
        headers={"Authorization": f"Bearer {token}"},
        verify=unprepared.info()["ca_bundle"],
        timeout=10,
    )
    assert (schemas.status_code, schemas.json()) == (200, {"results": []})


def test_the_default_world_grants_every_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(tmp_path, monkeypatch) as world:
        info = world.info()
        url = info["hubspot"]["url"] + "/oauth/v2/private-apps/get/access-token-info"
        body = requests.post(
            url, json={"tokenKey": info["hubspot"]["token"]}, verify=info["ca_bundle"], timeout=10
        ).json()
        assert "crm.schemas.contacts.write" in body["scopes"]
        assert world.salesforce.state.schema.status()["missingFields"] == []
        lead = world.salesforce.state.schema.sobject("Lead")
        assert lead is not None and lead.field("Leadbridge_Id__c") is not None


def test_a_removed_enumeration_option_refuses_writes_until_added_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = {"hs_lead_status": ["BAD_TIMING"]}
    with serving(tmp_path, monkeypatch, hubspot_missing_options=missing) as world:
        client = _hubspot(world)
        status = client.crm.properties.core_api.get_by_name("contacts", "hs_lead_status")
        values = [o.value for o in status.options]
        assert "BAD_TIMING" not in values and "NEW" in values
        made = client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "bo@example.com"})
        )
        late = SimplePublicObjectInput(properties={"hs_lead_status": "BAD_TIMING"})
        with pytest.raises(ApiException) as caught:
            client.crm.contacts.basic_api.update(made.id, late)
        assert caught.value.status == 400
        assert json.loads(caught.value.body)["category"] == "VALIDATION_ERROR"
        options = [
            {"label": o.label, "value": o.value, "displayOrder": o.display_order, "hidden": False}
            for o in status.options
        ] + [{"label": "Bad Timing", "value": "BAD_TIMING", "displayOrder": 7, "hidden": False}]
        client.crm.properties.core_api.update(
            "contacts", "hs_lead_status", PropertyUpdate(options=options)
        )
        client.crm.contacts.basic_api.update(made.id, late)
        read = client.crm.contacts.basic_api.get_by_id(made.id, properties=["hs_lead_status"])
        assert read.properties["hs_lead_status"] == "BAD_TIMING"


# -- Salesforce


def test_describe_and_writes_show_the_missing_fields_and_statuses(unprepared: Sandbox) -> None:
    sf = _salesforce(unprepared)
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert not set(LEADBRIDGE_FIELDS) & set(fields)
    assert "Loss_Reason__c" not in {f["name"] for f in sf.Opportunity.describe()["fields"]}
    statuses = [v["value"] for v in fields["Status"]["picklistValues"]]
    assert statuses == ["Open", "Working", "Qualified", "Converted"]
    assert fields["Status"]["restrictedPicklist"] is True
    rows = sf.query("SELECT MasterLabel FROM LeadStatus ORDER BY SortOrder")["records"]
    assert [r["MasterLabel"] for r in rows] == statuses

    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.create({"LastName": "Kim", "Company": "Acme", "Leadbridge_Id__c": "lb-1"})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Leadbridge_Id__c'" in caught.value.content[0]["message"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id, Recycle_Reason__c FROM Lead")
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Lead.upsert("Leadbridge_Id__c/lb-1", {"LastName": "Kim", "Company": "Acme"})
    assert missing.value.content[0]["errorCode"] == "NOT_FOUND"
    lead = sf.Lead.create({"LastName": "Kim", "Company": "Acme"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.update(lead, {"Status": "Nurture"})
    assert caught.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_a_deploy_prepares_the_org(unprepared: Sandbox) -> None:
    sf = _salesforce(unprepared)
    everything = [f"Lead.{name}" for name in LEADBRIDGE_FIELDS] + ["Opportunity.Loss_Reason__c"]
    # The fields alone: they exist now, but no one may see them until a permission set.
    answer = _control(unprepared, "salesforce", "/_sandbox/setup/deploy", {"fields": everything})
    assert answer.status_code == 200, answer.text
    assert answer.json()["missingFields"] == []
    assert not set(LEADBRIDGE_FIELDS) & {f["name"] for f in sf.Lead.describe()["fields"]}
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.create({"LastName": "Kim", "Company": "Acme", "Leadbridge_Id__c": "lb-1"})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"

    answer = _control(
        unprepared,
        "salesforce",
        "/_sandbox/setup/deploy",
        {
            "leadStatuses": ["Nurture", "Recycled", "Disqualified"],
            "permissionSet": {"name": "Leadbridge_Integration", "fields": everything},
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "missingFields": [],
        "missingStatuses": [],
        "plainExternalIds": [],
        "fieldAccess": {},
    }
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert fields["Leadbridge_Id__c"]["externalId"] and fields["Leadbridge_Id__c"]["unique"]
    assert fields["Recycle_Reason__c"]["createable"] and fields["Recycle_Reason__c"]["updateable"]
    assert [v["value"] for v in fields["Status"]["picklistValues"]] == [
        "Open", "Working", "Qualified", "Nurture", "Recycled", "Disqualified", "Converted"
    ]  # fmt: skip
    made = sf.Lead.upsert("Leadbridge_Id__c/lb-1", {"LastName": "Kim", "Company": "Acme"})
    assert made == 201
    row = sf.query("SELECT Id, Leadbridge_Id__c FROM Lead WHERE Leadbridge_Id__c = 'lb-1'")
    lead = row["records"][0]["Id"]
    sf.Lead.update(lead, {"Status": "Recycled", "Recycle_Reason__c": "Bad Timing"})
    assert sf.Lead.get(lead)["Status"] == "Recycled"
    statuses = sf.query("SELECT MasterLabel FROM LeadStatus ORDER BY SortOrder")["records"]
    assert [r["MasterLabel"] for r in statuses][3:6] == ["Nurture", "Recycled", "Disqualified"]
    bad = _control(unprepared, "salesforce", "/_sandbox/setup/deploy", {"fields": ["Lead.Email"]})
    assert bad.status_code == 400


def test_field_level_security_and_a_plain_external_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(
        tmp_path,
        monkeypatch,
        read_only_fields=["Lead.Recycle_Reason__c", "Opportunity.Loss_Reason__c"],
        plain_external_ids=["Lead.Leadbridge_Id__c"],
    ) as world:
        sf = _salesforce(world)
        fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
        reason = fields["Recycle_Reason__c"]
        assert (reason["createable"], reason["updateable"]) == (False, False)
        key = fields["Leadbridge_Id__c"]
        assert (key["externalId"], key["unique"], key["idLookup"]) == (False, False, False)
        lead = sf.Lead.create({"LastName": "Kim", "Company": "Acme", "Leadbridge_Id__c": "x"})
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.Lead.update(lead["id"], {"Recycle_Reason__c": "No Budget"})
        error = caught.value.content[0]
        assert error["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
        assert error["fields"] == ["Recycle_Reason__c"]
        with pytest.raises(SalesforceResourceNotFound):
            sf.Lead.upsert("Leadbridge_Id__c/x", {"Company": "Acme 2"})
        # The sales rep is another user: field security for the run-as user is not theirs.
        world.salesforce.rep.set_status(lead["id"], "Recycled", "No Budget")
        assert sf.Lead.get(lead["id"])["Recycle_Reason__c"] == "No Budget"

        # Two leads share the value: the field cannot become unique until one changes.
        twin = sf.Lead.create({"LastName": "Lee", "Company": "Acme", "Leadbridge_Id__c": "x"})
        deploy = {"fields": ["Lead.Leadbridge_Id__c"]}
        refused = _control(world, "salesforce", "/_sandbox/setup/deploy", deploy)
        assert refused.status_code == 400 and "duplicate value" in refused.json()["message"]
        sf.Lead.update(twin["id"], {"Leadbridge_Id__c": "y"})
        grant = {"fields": ["Lead.Recycle_Reason__c", "Opportunity.Loss_Reason__c"]}
        answer = _control(
            world, "salesforce", "/_sandbox/setup/deploy", {**deploy, "permissionSet": grant}
        )
        assert answer.status_code == 200, answer.text
        assert _control(world, "salesforce", "/_sandbox/setup").json()["fieldAccess"] == {}
        assert sf.Lead.upsert("Leadbridge_Id__c/x", {"Company": "Acme 2"}) in (200, 204)
        sf.Lead.update(lead["id"], {"Recycle_Reason__c": "On Hold"})
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.Lead.update(twin["id"], {"Leadbridge_Id__c": "X"})
        assert caught.value.content[0]["errorCode"] == "DUPLICATE_VALUE"


def test_the_refresh_token_flow(unprepared: Sandbox) -> None:
    # Neither client credentials nor username-password issue a refresh token.
    assert "refresh_token" not in _token(unprepared).json()
    approved = _control(unprepared, "salesforce", "/_sandbox/oauth/approve", {})
    assert approved.status_code == 200
    refresh = approved.json()["refresh_token"]
    answer = _token(unprepared, grant_type="refresh_token", refresh_token=refresh)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) >= {"access_token", "instance_url", "id", "token_type", "issued_at"}
    assert "refresh_token" not in body and body["access_token"] != approved.json()["access_token"]
    sf = _salesforce(unprepared, access_token=body["access_token"])
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] >= 0
    wrong = _token(unprepared, grant_type="refresh_token", refresh_token="5Aep861nope")
    assert wrong.status_code == 400
    assert wrong.json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }
