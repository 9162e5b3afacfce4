"""SOQL over REST: pages of 2,000 with nextRecordsUrl, queryAll, cursors that expire, errors."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox.salesforce_fixtures import (
    RunningOrg,
    envelope,
    reference,
    running_org,
    shape_errors,
)

NEXT_URL = re.compile(r"^/services/data/v59\.0/(query|queryAll)/01g[0-9A-Za-z]{15}-(\d+)$")


@pytest.fixture
def org(tls_files: TLSFiles) -> Iterator[RunningOrg]:
    with running_org(tls_files) as running:
        yield running


@pytest.fixture(scope="module")
def big_org(tls_files: TLSFiles) -> Iterator[RunningOrg]:
    """2,500 leads, more than a page; shared by the tests that only read."""
    with running_org(tls_files) as running:
        with running.sim.state.atomic():
            for n in range(2500):
                running.lead(Email=f"lead{n}@example.com", Leadbridge_Id__c=f"lb-{n}")
        yield running


def test_a_large_result_comes_in_pages_of_2000_with_next_records_url(big_org: RunningOrg) -> None:
    sf = big_org.client()
    first = sf.query("SELECT Id, Email FROM Lead")
    assert (first["totalSize"], first["done"], len(first["records"])) == (2500, False, 2000)
    match = NEXT_URL.match(first["nextRecordsUrl"])
    assert match is not None and match.group(2) == "2000"
    assert (
        shape_errors(envelope(reference("query_paginated_first_page_response.json")), first) == []
    )
    last = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert (last["totalSize"], last["done"], len(last["records"])) == (2500, True, 500)
    assert "nextRecordsUrl" not in last
    assert shape_errors(envelope(reference("query_paginated_last_page_response.json")), last) == []
    ids = {r["Id"] for r in first["records"] + last["records"]}
    assert len(ids) == 2500
    record = first["records"][0]
    assert list(record) == ["attributes", "Id", "Email"]
    assert record["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v59.0/sobjects/Lead/{record['Id']}",
    }


@pytest.mark.parametrize(("limit", "pages"), [(2000, [2000]), (2001, [2000, 1])])
def test_2000_records_fit_one_page_and_the_2001st_needs_another(
    big_org: RunningOrg, limit: int, pages: list[int]
) -> None:
    sf = big_org.client()
    soql = "SELECT Id FROM Lead LIMIT {}"
    page = sf.query(soql.format(limit))
    sizes = [len(page["records"])]
    assert page["totalSize"] == limit
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        sizes.append(len(page["records"]))
    assert sizes == pages and "nextRecordsUrl" not in page


def test_query_all_walks_every_page(big_org: RunningOrg) -> None:
    everything = big_org.client().query_all("SELECT Email FROM Lead ORDER BY Email")
    emails = [r["Email"] for r in everything["records"]]
    assert len(emails) == 2500 and emails == sorted(emails)
    assert all("Id" not in r for r in everything["records"]), "Id was not selected"


def test_batch_size_header_makes_smaller_pages(big_org: RunningOrg) -> None:
    sf = big_org.client()
    options = {"Sforce-Query-Options": "batchSize=500"}
    page = sf.query("SELECT Id FROM Lead", headers=options)
    pages = [page]
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True, headers=options)
        pages.append(page)
    assert [len(p["records"]) for p in pages] == [500] * 5
    tiny = sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=10"})
    assert len(tiny["records"]) == 200, "below 200 the org uses 200"


def test_a_cursor_left_idle_for_15_minutes_is_gone(big_org: RunningOrg) -> None:
    sf = big_org.client()
    first = sf.query("SELECT Id FROM Lead")
    big_org.clock.advance(15 * 60 + 1)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert caught.value.content == [
        {"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}
    ]


def test_the_last_page_closes_the_cursor(big_org: RunningOrg) -> None:
    sf = big_org.client()
    first = sf.query("SELECT Id FROM Lead")
    sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    with pytest.raises(SalesforceMalformedRequest):
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)


def test_filters_order_limit_and_count(big_org: RunningOrg) -> None:
    sf = big_org.client()
    some = sf.query(
        "SELECT Leadbridge_Id__c FROM Lead WHERE Leadbridge_Id__c IN ('lb-7', 'LB-9', 'lb-x') "
        "ORDER BY Leadbridge_Id__c DESC LIMIT 5"
    )
    assert [r["Leadbridge_Id__c"] for r in some["records"]] == ["lb-9", "lb-7"]
    count = sf.query("SELECT COUNT() FROM Lead WHERE Email LIKE 'lead1%'")
    assert count == {"totalSize": 1111, "done": True, "records": []}


def test_query_hides_deleted_rows_and_query_all_shows_them(org: RunningOrg) -> None:
    sf = org.client()
    kept, gone = org.lead(LastName="Kept"), org.lead(LastName="Gone")
    sf.Lead.delete(gone)
    live = sf.query("SELECT Id FROM Lead")
    assert [r["Id"] for r in live["records"]] == [kept]
    both = sf.query_all("SELECT Id, IsDeleted FROM Lead ORDER BY LastName", include_deleted=True)
    assert [(r["Id"], r["IsDeleted"]) for r in both["records"]] == [(gone, True), (kept, False)]


def test_incremental_read_by_system_modstamp(org: RunningOrg) -> None:
    sf = org.client()
    old, untouched = org.lead(LastName="Old"), org.lead(LastName="Untouched")
    org.clock.advance(60)
    mark = org.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    new = org.lead(LastName="New")
    org.clock.advance(60)
    sf.Lead.update(old, {"Title": "CFO"})
    soql = "SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp > {} ORDER BY SystemModstamp"
    changed = sf.query(soql.format(mark))
    assert [r["Id"] for r in changed["records"]] == [new, old]
    assert untouched not in [r["Id"] for r in changed["records"]]
    stamps = [r["SystemModstamp"] for r in changed["records"]]
    assert stamps == sorted(stamps) and all(s.endswith("+0000") for s in stamps)


def test_an_empty_answer_has_the_recorded_shape(org: RunningOrg) -> None:
    empty = org.client().query("SELECT Id FROM Lead WHERE Email = 'nobody@example.com'")
    assert empty == reference("query_empty_response.json")


@pytest.mark.parametrize(
    ("soql", "code", "fragment"),
    [
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY", "ERROR at Row:1:Column"),
        ("SELECT Nope__c FROM Lead", "INVALID_FIELD", "No such column 'Nope__c'"),
        ("SELECT Id FROM Widget", "INVALID_TYPE", "sObject type 'Widget' is not supported"),
        ("SELECT Id FROM Lead GROUP BY Status", "MALFORMED_QUERY", ""),
        # An offset pushes the instant off the calendar: refused, never a crash.
        (
            "SELECT Id FROM Lead WHERE CreatedDate > 0001-01-01T00:00:00+14:00",
            "MALFORMED_QUERY",
            "invalid dateTime",
        ),
    ],
)
def test_bad_soql_is_a_malformed_request_with_the_real_codes(
    org: RunningOrg, soql: str, code: str, fragment: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        org.client().query(soql)
    assert caught.value.status == 400
    [error] = caught.value.content
    assert error["errorCode"] == code and fragment in error["message"]
    assert shape_errors(reference("query_error_response.json"), caught.value.content) == []


def test_a_client_finds_the_converted_status_in_lead_status(org: RunningOrg) -> None:
    sf = org.client()
    statuses = sf.query("SELECT ApiName, IsConverted, IsDefault FROM LeadStatus ORDER BY SortOrder")
    rows = [(r["ApiName"], r["IsConverted"], r["IsDefault"]) for r in statuses["records"]]
    assert rows[0] == ("Open", False, True)
    assert [name for name, converted, _ in rows if converted] == ["Converted"]
    assert len(rows) == 7
