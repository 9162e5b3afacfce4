"""The Composite resource through `sf.restful("composite", method="POST", json=...)`: each
subrequest answered as its own call would be, under its referenceId, for one call against the
allocation; what the real resource refuses before running anything, refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from leadbridge.sandbox.salesforce.ids import to18
from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox.salesforce_fixtures import RunningOrg, running_org

V = "/services/data/v59.0"
HALTED = {
    "errorCode": "PROCESSING_HALTED",
    "message": "The transaction was rolled back since another operation in the same "
    "transaction failed.",
}


@pytest.fixture
def org(tls_files: TLSFiles) -> Iterator[RunningOrg]:
    with running_org(tls_files) as running:
        yield running


@pytest.fixture
def sf(org: RunningOrg) -> Salesforce:
    return org.client()


def _query(soql: str, ref: str) -> dict[str, Any]:
    return {"method": "GET", "url": f"{V}/query/?{urlencode({'q': soql})}", "referenceId": ref}


def _composite(sf: Salesforce, *subrequests: dict[str, Any], **flags: Any) -> Any:
    return sf.restful(
        "composite", method="POST", json={**flags, "compositeRequest": list(subrequests)}
    )


def test_reads_answer_in_order_under_their_reference_ids_for_one_call(
    org: RunningOrg, sf: Salesforce
) -> None:
    lead = org.lead(Email="one@example.com")
    org.clock.advance(120)
    org.sim.state.delete("Lead", org.lead(Email="gone@example.com"))
    org.clock.advance(120)
    start, end = "2026-01-05T09:00:00+00:00", "2026-01-05T09:10:00+00:00"
    used = org.sim.usage.used
    answer = _composite(
        sf,
        _query("SELECT Id, Email FROM Lead WHERE Email = 'one@example.com'", "Lead_changes"),
        _query("SELECT Id FROM Contact", "Contact_changes"),
        {
            "method": "GET",
            "url": f"{V}/sobjects/Lead/deleted/?{urlencode({'start': start, 'end': end})}",
            "referenceId": "Lead_deletions",
        },
        {"method": "GET", "url": f"{V}/sobjects/Lead/{lead}", "referenceId": "one"},
    )
    assert org.sim.usage.used == used + 1  # the whole composite is one call
    assert list(answer) == ["compositeResponse"]
    results = answer["compositeResponse"]
    assert [r["referenceId"] for r in results] == [
        "Lead_changes",
        "Contact_changes",
        "Lead_deletions",
        "one",
    ]
    assert all(r["httpStatusCode"] == 200 and r["httpHeaders"] == {} for r in results)
    changes = results[0]["body"]
    assert (changes["totalSize"], changes["done"]) == (1, True)
    assert changes["records"][0]["Id"] == lead
    assert changes["records"][0]["attributes"] == {
        "type": "Lead",
        "url": f"{V}/sobjects/Lead/{lead}",
    }
    assert results[1]["body"] == {"totalSize": 0, "done": True, "records": []}
    deleted = results[2]["body"]
    assert len(deleted["deletedRecords"]) == 1 and "latestDateCovered" in deleted
    assert results[3]["body"]["Email"] == "one@example.com"


def test_a_failing_subrequest_answers_its_own_error_and_the_others_run(
    org: RunningOrg, sf: Salesforce
) -> None:
    org.lead(Email="x@example.com")
    answer = _composite(
        sf,
        _query("SELECT Id, Nope__c FROM Lead", "bad"),
        {
            "method": "GET",
            "url": f"{V}/sobjects/Lead/{to18('00Q000000000001')}",
            "referenceId": "gone",
        },
        {"method": "GET", "url": f"{V}/nowhere", "referenceId": "nowhere"},
        _query("SELECT Id FROM Lead", "good"),
    )
    bad, gone, nowhere, good = answer["compositeResponse"]
    assert bad["httpStatusCode"] == 400 and bad["body"][0]["errorCode"] == "INVALID_FIELD"
    assert set(bad["body"][0]) >= {"message", "errorCode"}
    assert gone["httpStatusCode"] == 404 and gone["body"][0]["errorCode"] == "NOT_FOUND"
    assert nowhere["httpStatusCode"] == 404
    assert good["httpStatusCode"] == 200 and good["body"]["totalSize"] == 1


def test_a_later_subrequest_uses_an_earlier_answer_by_reference(
    org: RunningOrg, sf: Salesforce
) -> None:
    answer = _composite(
        sf,
        {
            "method": "POST",
            "url": f"{V}/sobjects/Account",
            "referenceId": "refAccount",
            "body": {"Name": "Sample Account"},
        },
        {
            "method": "POST",
            "url": f"{V}/sobjects/Contact",
            "referenceId": "refContact",
            "body": {"LastName": "Sample Contact", "AccountId": "@{refAccount.id}"},
        },
        {"method": "GET", "url": f"{V}/sobjects/Contact/@{{refContact.id}}", "referenceId": "got"},
    )
    account, contact, got = answer["compositeResponse"]
    assert account["httpStatusCode"] == 201 and account["body"]["success"] is True
    account_id = account["body"]["id"]
    assert account["httpHeaders"] == {"Location": f"{V}/sobjects/Account/{account_id}"}
    assert contact["httpStatusCode"] == 201
    assert got["body"]["AccountId"] == account_id
    assert org.sim.state.get("Contact", contact["body"]["id"])["AccountId"] == account_id


def test_without_all_or_none_a_failure_halts_only_what_depends_on_it(
    org: RunningOrg, sf: Salesforce
) -> None:
    answer = _composite(
        sf,
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "bad", "body": {}},
        {
            "method": "POST",
            "url": f"{V}/sobjects/Contact",
            "referenceId": "dependent",
            "body": {"LastName": "Orphan", "AccountId": "@{bad.id}"},
        },
        {
            "method": "POST",
            "url": f"{V}/sobjects/Account",
            "referenceId": "fine",
            "body": {"Name": "Stands"},
        },
    )
    bad, dependent, fine = answer["compositeResponse"]
    assert bad["httpStatusCode"] == 400
    assert bad["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert dependent["httpStatusCode"] == 400
    assert dependent["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert fine["httpStatusCode"] == 201
    assert [a["Name"] for a in org.sim.state.records("Account")] == ["Stands"]
    assert org.sim.state.records("Contact") == []


def test_all_or_none_undoes_every_write_once_one_fails(org: RunningOrg, sf: Salesforce) -> None:
    lead = org.lead(Email="keep@example.com", Title="Before")
    answer = _composite(
        sf,
        {
            "method": "PATCH",
            "url": f"{V}/sobjects/Lead/{lead}",
            "referenceId": "update",
            "body": {"Title": "After"},
        },
        {
            "method": "POST",
            "url": f"{V}/sobjects/Account",
            "referenceId": "made",
            "body": {"Name": "A"},
        },
        {
            "method": "POST",
            "url": f"{V}/sobjects/Lead",
            "referenceId": "bad",
            "body": {"Company": "X"},
        },
        {
            "method": "POST",
            "url": f"{V}/sobjects/Account",
            "referenceId": "after",
            "body": {"Name": "B"},
        },
        allOrNone=True,
    )
    update, made, bad, after = answer["compositeResponse"]
    assert bad["httpStatusCode"] == 400 and bad["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    for halted in (update, made, after):
        assert halted["httpStatusCode"] == 400 and halted["body"] == [HALTED]
    assert org.sim.state.get("Lead", lead)["Title"] == "Before"
    assert org.sim.state.records("Account") == []


def test_all_or_none_holds_for_a_collection_inside_it(org: RunningOrg, sf: Salesforce) -> None:
    records = [
        {"attributes": {"type": "Account"}, "Name": "Fine"},
        {"attributes": {"type": "Account"}},
    ]
    answer = _composite(
        sf,
        {
            "method": "POST",
            "url": f"{V}/composite/sobjects",
            "referenceId": "collection",
            "body": {"allOrNone": False, "records": records},
        },
        allOrNone=True,
    )
    (collection,) = answer["compositeResponse"]
    assert collection["httpStatusCode"] == 200
    first, second = collection["body"]
    assert first["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert second["success"] is False
    assert org.sim.state.records("Account") == []


@pytest.mark.parametrize(
    ("subrequests", "code"),
    [
        ([_query("SELECT Id FROM Lead", f"q{n}") for n in range(6)], "LIMIT_EXCEEDED"),
        (
            [{"method": "GET", "url": f"{V}/limits", "referenceId": f"l{n}"} for n in range(26)],
            "LIMIT_EXCEEDED",
        ),
        ([{"method": "GET", "url": f"{V}/limits"}], "JSON_PARSER_ERROR"),
        ([{"method": "GET", "url": f"{V}/limits", "referenceId": "bad-id"}], "INVALID_API_INPUT"),
        (
            [{"method": "GET", "url": f"{V}/limits", "referenceId": "same"}] * 2,
            "INVALID_API_INPUT",
        ),
        (
            [
                {
                    "method": "GET",
                    "url": f"{V}/limits",
                    "referenceId": "auth",
                    "httpHeaders": {"Authorization": "Bearer other"},
                }
            ],
            "INVALID_API_INPUT",
        ),
        ([{"method": "FETCH", "url": f"{V}/limits", "referenceId": "m"}], "JSON_PARSER_ERROR"),
        ([], "INVALID_API_INPUT"),
    ],
)
def test_what_the_resource_refuses_before_running_anything_is_a_400(
    org: RunningOrg, sf: Salesforce, subrequests: list[dict[str, Any]], code: str
) -> None:
    org.lead(Email="untouched@example.com")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        _composite(sf, *subrequests)
    (error,) = caught.value.content
    assert error["errorCode"] == code and error["message"]


def test_a_query_page_asked_in_a_composite_continues_through_its_next_records_url(
    org: RunningOrg, sf: Salesforce
) -> None:
    with org.sim.state.atomic():
        made = {org.lead(Email=f"p{n}@example.com") for n in range(2500)}
    answer = _composite(sf, _query("SELECT Id FROM Lead", "all"))
    (page,) = answer["compositeResponse"]
    first = page["body"]
    assert first["done"] is False and len(first["records"]) == 2000
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert {r["Id"] for r in first["records"] + rest["records"]} == made


def test_get_lists_the_composite_resources_served(sf: Salesforce) -> None:
    assert sf.restful("composite") == {"sobjects": f"{V}/composite/sobjects"}
