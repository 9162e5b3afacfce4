"""sObject Collections through `sf.restful("composite/sobjects", ...)`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from leadbridge.sandbox.salesforce.ids import to18
from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox.salesforce_fixtures import RunningOrg, running_org

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}


@pytest.fixture
def org(tls_files: TLSFiles) -> Iterator[RunningOrg]:
    with running_org(tls_files) as running:
        yield running


@pytest.fixture
def sf(org: RunningOrg) -> Salesforce:
    return org.client()


def _lead(n: int, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Lead"}, "LastName": f"L{n}", "Company": "Acme", **fields}


def test_create_reports_each_record_in_order(org: RunningOrg, sf: Salesforce) -> None:
    records = [_lead(1), _lead(2, Status="Bogus"), _lead(3)]
    results = sf.restful("composite/sobjects", method="POST", json={"records": records})
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "message": "Status: bad value for restricted picklist field: Bogus",
                "fields": ["Status"],
            }
        ],
    }
    assert results[0]["errors"] == [] and results[0]["id"].startswith("00Q")
    assert len(org.sim.state.records("Lead")) == 2


def test_all_or_none_rolls_everything_back(org: RunningOrg, sf: Salesforce) -> None:
    records = [_lead(1), _lead(2), {"attributes": {"type": "Lead"}, "Company": "NoName"}]
    results = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": True, "records": records}
    )
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "REQUIRED_FIELD_MISSING",
    ]
    assert results[0]["errors"] == [ROLLED_BACK]
    assert org.sim.state.records("Lead") == []


def test_update_and_delete_by_ids(org: RunningOrg, sf: Salesforce) -> None:
    first, second = org.lead(LastName="A"), org.lead(LastName="B")
    updates = [
        {"attributes": {"type": "Lead"}, "id": first, "Status": "Working"},
        {"attributes": {"type": "Lead"}, "id": second, "Status": "Nope"},
    ]
    results = sf.restful("composite/sobjects", method="PATCH", json={"records": updates})
    assert results[0] == {"id": first, "success": True, "errors": []}
    assert results[1]["id"] == second and results[1]["success"] is False
    assert org.sim.state.get("Lead", first)["Status"] == "Working"  # type: ignore[index]
    deleted = sf.restful(
        "composite/sobjects", method="DELETE", params={"ids": f"{first},{second},banana"}
    )
    assert [r["success"] for r in deleted] == [True, True, False]
    assert deleted[2]["errors"][0]["statusCode"] == "MALFORMED_ID"
    gone = sf.restful("composite/sobjects", method="DELETE", params={"ids": first})
    assert gone[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_delete_with_all_or_none_keeps_everything(org: RunningOrg, sf: Salesforce) -> None:
    kept = org.lead()
    results = sf.restful(
        "composite/sobjects",
        method="DELETE",
        params={"ids": f"{kept},0015g000AAAAAAAAAA", "allOrNone": "true"},
    )
    assert results[0] == {"id": kept, "success": False, "errors": [ROLLED_BACK]}
    assert org.sim.state.get("Lead", kept)["IsDeleted"] is False  # type: ignore[index]


def test_more_than_200_records_is_refused_whole(org: RunningOrg, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful(
            "composite/sobjects", method="POST", json={"records": [_lead(n) for n in range(201)]}
        )
    assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert org.sim.state.records("Lead") == []
    exactly = sf.restful(
        "composite/sobjects", method="POST", json={"records": [_lead(n) for n in range(200)]}
    )
    assert len(exactly) == 200 and all(r["success"] for r in exactly)


def test_upsert_collection_by_external_id(org: RunningOrg, sf: Salesforce) -> None:
    existing = org.lead(Leadbridge_Id__c="lb-1")
    records = [
        _lead(1, Leadbridge_Id__c="LB-1", Title="CEO"),
        _lead(2, Leadbridge_Id__c="lb-2"),
        _lead(3),
    ]
    results = sf.restful(
        "composite/sobjects/Lead/Leadbridge_Id__c", method="PATCH", json={"records": records}
    )
    assert results[0] == {"id": existing, "success": True, "errors": [], "created": False}
    assert results[1]["created"] is True and results[1]["success"] is True
    assert results[2]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert org.sim.state.get("Lead", existing)["Title"] == "CEO"  # type: ignore[index]
    again = sf.restful(
        "composite/sobjects/Lead/Leadbridge_Id__c",
        method="PATCH",
        json={"records": [_lead(2, Leadbridge_Id__c="lb-2")]},
    )
    assert again[0] == {"id": results[1]["id"], "success": True, "errors": [], "created": False}


def test_the_same_external_id_twice_in_one_call_fails_both(sf: Salesforce) -> None:
    records = [_lead(1, Leadbridge_Id__c="lb-9"), _lead(2, Leadbridge_Id__c="LB-9")]
    results = sf.restful(
        "composite/sobjects/Lead/Leadbridge_Id__c", method="PATCH", json={"records": records}
    )
    assert [r["errors"][0]["statusCode"] for r in results] == ["DUPLICATE_EXTERNAL_ID"] * 2


def test_retrieve_several_by_ids(org: RunningOrg, sf: Salesforce) -> None:
    lead = org.lead(Email="r@acme.io")
    found = sf.restful(
        "composite/sobjects/Lead",
        params={"ids": f"{lead},00Q5g000AAAAAAAEAA", "fields": "Email"},
    )
    assert found[0]["Email"] == "r@acme.io" and found[1] is None


def test_per_record_errors_use_status_code_with_the_real_shape(
    org: RunningOrg, sf: Salesforce
) -> None:
    missing = to18("00Q5g000AAAAAAA")
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={"records": [{"attributes": {"type": "Lead"}, "id": missing, "Title": "x"}]},
    )
    assert results == [
        {
            "id": missing,
            "success": False,
            "errors": [
                {
                    "statusCode": "INVALID_CROSS_REFERENCE_KEY",
                    "message": "invalid cross reference id",
                    "fields": [],
                }
            ],
        }
    ]
    untyped = sf.restful(
        "composite/sobjects", method="POST", json={"records": [{"LastName": "A", "Company": "B"}]}
    )
    assert untyped[0]["errors"][0]["statusCode"] == "INVALID_TYPE"
    assert "errorCode" not in untyped[0]["errors"][0]
    assert org.sim.state.records("Lead") == []
