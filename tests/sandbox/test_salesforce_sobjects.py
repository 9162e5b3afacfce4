"""One record at a time through simple-salesforce: CRUD, upsert, validation, describe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from leadbridge.sandbox.salesforce import SfError
from leadbridge.sandbox.salesforce.ids import to18
from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox.salesforce_fixtures import RunningOrg, reference, running_org, shape_errors


@pytest.fixture
def org(tls_files: TLSFiles) -> Iterator[RunningOrg]:
    with running_org(tls_files) as running:
        yield running


@pytest.fixture
def sf(org: RunningOrg) -> Salesforce:
    return org.client()


def _refused(call: Any, *args: Any) -> list[dict[str, Any]]:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        call(*args)
    content: list[dict[str, Any]] = caught.value.content
    return content


def test_create_get_update_delete_round_trip(org: RunningOrg, sf: Salesforce) -> None:
    created = sf.Lead.create(
        {"FirstName": "Dana", "LastName": "Whitaker", "Company": "Northwind", "Email": "d@nw.io"}
    )
    assert created == {"id": created["id"], "success": True, "errors": []}
    assert shape_errors(reference("create_success_response.json"), created) == []
    lead_id = created["id"]
    assert lead_id.startswith("00Q") and len(lead_id) == 18
    record = sf.Lead.get(lead_id)
    assert record["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v59.0/sobjects/Lead/{lead_id}",
    }
    assert (record["Name"], record["Status"], record["IsConverted"]) == (
        "Dana Whitaker",
        "Open",
        False,
    )
    assert record["CreatedById"] == org.sim.integration_user_id
    assert sf.Lead.get(lead_id.lower()[:15] + lead_id[15:].lower())["Id"] == lead_id, (
        "an 18-character id is case-insensitive"
    )

    org.clock.advance(90)
    assert sf.Lead.update(lead_id, {"Status": "Working", "Title": "CFO"}) == 204
    after = sf.Lead.get(lead_id)
    assert (after["Status"], after["Title"]) == ("Working", "CFO")
    assert after["SystemModstamp"] > record["SystemModstamp"]
    assert after["LastModifiedDate"] == after["SystemModstamp"]

    assert sf.Lead.delete(lead_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(lead_id)
    assert org.sim.state.get("Lead", lead_id)["IsDeleted"] is True  # type: ignore[index]


def test_get_with_fields_returns_only_those(org: RunningOrg, sf: Salesforce) -> None:
    lead_id = org.lead(Email="x@y.io")
    record = sf.Lead.get(lead_id, params={"fields": "Email,status"})
    assert list(record) == ["attributes", "Email", "Status"]


def test_unknown_ids_are_not_found_in_the_real_shapes(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Lead.get(to18("00Q5g000AAAAAAA"))
    assert missing.value.content == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
    with pytest.raises(SalesforceResourceNotFound) as odd:
        sf.Lead.delete("rid")
    assert odd.value.content == reference("delete_error_response.json")
    content = _refused(sf.Lead.get, to18("0035g000AAAAAAA"))
    assert content[0]["errorCode"] == "MALFORMED_ID"


@pytest.mark.parametrize(
    ("fields", "code", "message", "named"),
    [
        (
            {"Status": "Foo"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "Status: bad value for restricted picklist field: Foo",
            ["Status"],
        ),
        (
            {"Status": "Converted"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "Status: bad value for restricted picklist field: Converted",
            ["Status"],
        ),
        (
            {"SystemModstamp": "2026-01-01T00:00:00Z"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "Unable to create/update fields: SystemModstamp.",
            ["SystemModstamp"],
        ),
        (
            {"Recycle_Reason__c": "Bored"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "Recycle Reason: bad value for restricted picklist field: Bored",
            ["Recycle_Reason__c"],
        ),
        ({"Email": "not-an-address"}, "INVALID_EMAIL_ADDRESS", "Email: invalid", ["Email"]),
        ({"LastName": None}, "REQUIRED_FIELD_MISSING", "[LastName]", ["LastName"]),
        ({"Company": "x" * 256}, "STRING_TOO_LONG", "(max length=255)", ["Company"]),
        ({"NumberOfEmployees": "many"}, "JSON_PARSER_ERROR", "Cannot deserialize", None),
        ({"NumberOfEmployees": "1e999"}, "JSON_PARSER_ERROR", "Cannot deserialize", None),
        ({"NumberOfEmployees": "nan"}, "JSON_PARSER_ERROR", "Cannot deserialize", None),
        ({"NumberOfEmployees": 2**31}, "JSON_PARSER_ERROR", "Cannot deserialize", None),
        ({"NumberOfEmployees": 2.5}, "JSON_PARSER_ERROR", "Cannot deserialize", None),
    ],
)
def test_a_bad_write_is_refused_with_the_real_code(
    org: RunningOrg,
    sf: Salesforce,
    fields: dict[str, Any],
    code: str,
    message: str,
    named: list[str] | None,
) -> None:
    lead_id = org.lead()
    [error] = _refused(sf.Lead.update, lead_id, fields)
    assert error["errorCode"] == code and message in error["message"]
    assert error.get("fields") == named
    assert sf.Lead.get(lead_id)["LastModifiedDate"] == sf.Lead.get(lead_id)["CreatedDate"]


def test_unknown_field_and_missing_required_fields_on_create(sf: Salesforce) -> None:
    unknown = _refused(sf.Lead.create, {"LastName": "A", "Company": "B", "Shoe_Size__c": 9})
    assert unknown == [
        {
            "message": "No such column 'Shoe_Size__c' on sobject of type Lead",
            "errorCode": "INVALID_FIELD",
        }
    ]
    assert shape_errors(reference("write_error_response.json"), unknown) == []
    missing = _refused(sf.Lead.create, {"Email": "a@b.io"})
    assert missing == [
        {
            "message": "Required fields are missing: [LastName, Company]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName", "Company"],
        }
    ]


def test_references_must_be_well_formed_and_exist(org: RunningOrg, sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Northwind"})["id"]
    assert sf.Contact.create({"LastName": "Li", "AccountId": account[:15]})["success"]
    [bad] = _refused(sf.Contact.create, {"LastName": "Li", "AccountId": "banana"})
    assert bad["errorCode"] == "MALFORMED_ID" and bad["fields"] == ["AccountId"]
    missing_account = to18("0015g000AAAAAAA")
    [absent] = _refused(sf.Contact.create, {"LastName": "Li", "AccountId": missing_account})
    assert absent["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_upsert_by_external_id_creates_then_updates(org: RunningOrg, sf: Salesforce) -> None:
    body = {"LastName": "Haddad", "Company": "Bluepeak", "Email": "o@bluepeak.io"}
    created = sf.Lead.upsert("Leadbridge_Id__c/lb-42", body, raw_response=True)
    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"],
        "success": True,
        "errors": [],
        "created": True,
    }
    assert shape_errors(reference("upsert_created_success_response.json"), created.json()) == []
    updated = sf.Lead.upsert("Leadbridge_Id__c/LB-42", {"Title": "CTO"}, raw_response=True)
    assert updated.status_code == 200
    assert updated.json() == {**created.json(), "created": False}
    assert sf.Lead.get_by_custom_id("Leadbridge_Id__c", "lb-42")["Title"] == "CTO"
    assert len(org.sim.state.find("Lead", Email="o@bluepeak.io")) == 1


def test_before_v46_an_updating_upsert_answers_204_without_a_body(org: RunningOrg) -> None:
    old = org.client(version="45.0")
    assert old.Lead.upsert("Leadbridge_Id__c/lb-1", {"LastName": "A", "Company": "B"}) == 201
    answer = old.Lead.upsert("Leadbridge_Id__c/lb-1", {"Title": "CEO"}, raw_response=True)
    assert (answer.status_code, answer.content) == (204, b"")
    assert reference("upsert_updated_success_response.json") is None


def test_upsert_on_a_field_that_is_no_external_id_is_not_found(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Lead.upsert("Namez/x", {"LastName": "A"})
    assert caught.value.content == [
        {
            "message": "Provided external ID field does not exist or is not accessible: Namez",
            "errorCode": "NOT_FOUND",
        }
    ]
    assert shape_errors(reference("upsert_error_response.json"), caught.value.content) == []


def test_external_ids_are_unique_case_insensitively(org: RunningOrg, sf: Salesforce) -> None:
    first = org.lead(Leadbridge_Id__c="lb-7")
    [error] = _refused(
        sf.Lead.create, {"LastName": "B", "Company": "C", "Leadbridge_Id__c": "LB-7"}
    )
    assert error["errorCode"] == "DUPLICATE_VALUE" and first in error["message"]
    with pytest.raises(SfError, match="DUPLICATE_VALUE"):
        org.sim.state.create("Lead", {"LastName": "B", "Company": "C", "Leadbridge_Id__c": "lB-7"})


def test_describe_reports_fields_and_picklists(sf: Salesforce) -> None:
    lead = sf.Lead.describe()
    assert (lead["name"], lead["keyPrefix"], lead["createable"]) == ("Lead", "00Q", True)
    fields = {f["name"]: f for f in lead["fields"]}
    status = fields["Status"]
    assert status["type"] == "picklist" and status["restrictedPicklist"] is True
    assert [v["value"] for v in status["picklistValues"]][:3] == ["Open", "Working", "Qualified"]
    assert [v["value"] for v in status["picklistValues"] if v["defaultValue"]] == ["Open"]
    assert set(status["picklistValues"][0]) >= {
        "value",
        "label",
        "active",
        "defaultValue",
        "validFor",
    }
    assert fields["LeadSource"]["restrictedPicklist"] is False
    external = fields["Leadbridge_Id__c"]
    assert (external["externalId"], external["unique"], external["custom"]) == (True, True, True)
    assert fields["SystemModstamp"]["updateable"] is False
    assert fields["ConvertedDate"]["type"] == "date"
    assert fields["LastName"]["nillable"] is False
    assert fields["ConvertedContactId"]["referenceTo"] == ["Contact"]
    opportunity = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}
    assert "Closed Won" in [v["value"] for v in opportunity["StageName"]["picklistValues"]]
    assert sf.Lead.metadata()["objectDescribe"]["urls"]["describe"].endswith("/Lead/describe")
    every = sf.describe()
    assert {
        "Lead",
        "Contact",
        "Account",
        "Opportunity",
        "OpportunityContactRole",
        "LeadStatus",
    } <= {o["name"] for o in every["sobjects"]}


def test_opportunity_state_follows_its_stage(org: RunningOrg, sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Acme"})["id"]
    opp = sf.Opportunity.create(
        {
            "Name": "Acme-",
            "AccountId": account,
            "StageName": "Prospecting",
            "CloseDate": "2026-02-01",
        }
    )["id"]
    assert sf.Opportunity.get(opp)["Probability"] == 10.0
    sf.Opportunity.update(opp, {"StageName": "Closed Won"})
    won = sf.Opportunity.get(opp)
    assert (won["IsClosed"], won["IsWon"], won["Probability"]) == (True, True, 100.0)
    [error] = _refused(sf.Opportunity.update, opp, {"IsWon": False})
    assert error["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_lead_status_is_read_only(org: RunningOrg, sf: Salesforce) -> None:
    [error] = _refused(sf.LeadStatus.create, {"MasterLabel": "Hot"})
    assert error["errorCode"] == "INVALID_TYPE_FOR_OPERATION"


def test_unknown_sobjects_and_methods_are_refused(org: RunningOrg, sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sf.Widget.create({"Name": "x"})
    token = org.token()["access_token"]
    answer = requests.put(
        f"{org.url}/services/data/v59.0/sobjects/Lead/{org.lead()}",
        json={},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert answer.status_code == 405
    assert answer.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_an_external_id_two_records_share_is_a_300_more_than_one_record(
    org: RunningOrg, sf: Salesforce
) -> None:
    first = org.lead(HubSpot_Contact_Id__c="1017")
    second = org.lead(HubSpot_Contact_Id__c="1017")
    with pytest.raises(SalesforceMoreThanOneRecord) as upsert:
        sf.Lead.upsert("HubSpot_Contact_Id__c/1017", {"Title": "CTO"})
    assert upsert.value.status == 300
    assert upsert.value.content == [
        f"/services/data/v59.0/sobjects/Lead/{first}",
        f"/services/data/v59.0/sobjects/Lead/{second}",
    ]
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Lead.get_by_custom_id("HubSpot_Contact_Id__c", "1017")
    assert [r["Title"] for r in org.sim.state.records("Lead")] == [None, None]
    [result] = sf.restful(
        "composite/sobjects/Lead/HubSpot_Contact_Id__c",
        method="PATCH",
        json={"records": [{"attributes": {"type": "Lead"}, "HubSpot_Contact_Id__c": "1017"}]},
    )
    assert result["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
    assert sf.Lead.upsert("HubSpot_Contact_Id__c/2020", {"LastName": "A", "Company": "B"}) == 201
    assert sf.Lead.get_by_custom_id("HubSpot_Contact_Id__c", "2020")["LastName"] == "A"
