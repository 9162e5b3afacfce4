"""Writes through sObject Collections: 200 a call, per-record results, creates by upsert."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from leadbridge.connectors.errors import Action
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.model import RecordWrite, System
from leadbridge.sandbox.faults import Fault
from tests.connectors.salesforce.support import (
    by_external_id,
    lead_create,
    lead_update,
)
from tests.sandbox.salesforce_fixtures import RunningOrg


def test_a_restricted_picklist_value_parks_that_record_and_the_rest_land(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    leads = [org.lead(Email=f"w{n}@example.com") for n in range(5)]
    writes = [lead_update(lead, Status="Working") for lead in leads]
    writes[2] = lead_update(leads[2], Status="Hot Prospect")
    before = salesforce.requests["write"]
    results = salesforce.apply(writes)
    assert salesforce.requests["write"] - before == 1
    assert [r.write for r in results] == writes
    assert [r.ok for r in results] == [True, True, False, True, True]
    parked = results[2]
    assert parked.failure is not None and parked.action is Action.PARK
    assert parked.failure.code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert parked.failure.message == "Status: bad value for restricted picklist field: Hot Prospect"
    assert parked.id == leads[2]
    statuses = [org.sim.state.get("Lead", lead)["Status"] for lead in leads]  # type: ignore[index]
    assert statuses == ["Working", "Working", "Open", "Working", "Working"]


def test_a_converted_lead_cannot_be_written_so_the_write_is_parked_and_followed(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    lead = org.lead(Email="converted@example.com")
    converted = org.sim.state.convert_lead(lead)
    (result,) = salesforce.apply([lead_update(lead, Status="Nurture")])
    assert result.action is Action.PARK and result.failure is not None
    assert result.failure.code == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert result.failure.message == "cannot reference converted lead"
    # The sync re-keys to where the lead went and writes the Contact instead.
    (change,) = salesforce.read("Lead", [lead])
    contact = str(change.fields["ConvertedContactId"])
    assert contact == converted["contact_id"]
    write = RecordWrite(System.SALESFORCE, "Contact", contact, ({"Title": "VP Sales"},))
    (followed,) = salesforce.apply([write])
    assert followed.ok
    assert org.sim.state.get("Contact", contact)["Title"] == "VP Sales"  # type: ignore[index]


def test_creates_upsert_by_external_id_and_never_duplicate(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    writes = [
        lead_create(f"lb-{n}", LastName=f"Name{n}", Company="Acme", Email=f"c{n}@example.com")
        for n in range(450)
    ]
    before = salesforce.requests["write"]
    results = salesforce.apply(writes)
    assert salesforce.requests["write"] - before == 3  # 200 + 200 + 50
    assert all(r.ok and r.created and r.id for r in results)
    assert by_external_id(org) == {f"lb-{n}": 1 for n in range(450)}
    # The same creates again (a retry after a crash) update the same leads.
    again = salesforce.apply(writes[:10])
    assert [r.id for r in again] == [r.id for r in results[:10]]
    assert not any(r.created for r in again)
    assert len(org.sim.state.records("Lead")) == 450


def test_a_create_whose_answer_is_lost_is_retried_without_a_duplicate(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    salesforce.read("Lead", ["00Q000000000000AAA"])  # logged in, so the drop hits the write
    org.sim.faults.inject_next(Fault.DROP_AFTER)
    (result,) = salesforce.apply([lead_create("lb-lost", LastName="Lost", Company="Acme")])
    assert result.ok
    assert salesforce.stats.retries == 1
    assert by_external_id(org) == {"lb-lost": 1}


def test_updates_of_several_objects_share_collections_of_200(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    leads = [org.lead(Email=f"m{n}@example.com") for n in range(250)]
    converted = org.sim.state.convert_lead(org.lead(Email="deal@example.com"))
    opportunity = str(converted["opportunity_id"])
    writes = [lead_update(lead, Rating="Warm") for lead in leads]
    writes.insert(
        100,
        RecordWrite(
            System.SALESFORCE,
            "Opportunity",
            opportunity,
            ({"CloseDate": date(2026, 3, 31), "Amount": 1200.5},),
        ),
    )
    before = salesforce.requests["write"]
    results = salesforce.apply(writes)
    assert salesforce.requests["write"] - before == 2
    assert all(r.ok for r in results)
    deal = org.sim.state.get("Opportunity", opportunity)
    assert deal is not None and (deal["CloseDate"], deal["Amount"]) == ("2026-03-31", 1200.5)


def test_steps_run_in_order_and_a_failed_step_stops_its_write(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    good, bad = org.lead(Email="s1@example.com"), org.lead(Email="s2@example.com")
    writes = [
        RecordWrite(System.SALESFORCE, "Lead", good, ({"Status": "Nurture"}, {"Rating": "Cold"})),
        RecordWrite(System.SALESFORCE, "Lead", bad, ({"Status": "Nope"}, {"Rating": "Cold"})),
        RecordWrite(
            System.SALESFORCE,
            "Lead",
            None,
            ({"LastName": "New", "Company": "Acme"}, {"Title": "CTO"}),
            key=("Leadbridge_Id__c", "lb-steps"),
        ),
    ]
    first, second, third = salesforce.apply(writes)
    assert first.ok and not second.ok and third.ok and third.created
    assert org.sim.state.get("Lead", good)["Rating"] == "Cold"  # type: ignore[index]
    assert org.sim.state.get("Lead", bad)["Rating"] is None  # type: ignore[index]
    created = org.sim.state.get("Lead", str(third.id))
    assert created is not None and created["Title"] == "CTO"


def test_values_are_written_in_salesforce_forms(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    lead = org.lead(Email="forms@example.com")
    (result,) = salesforce.apply(
        [lead_update(lead, NumberOfEmployees=250, Description=None, Title="Head of Ops")]
    )
    assert result.ok
    record = org.sim.state.get("Lead", lead)
    assert record is not None and record["NumberOfEmployees"] == 250
    with pytest.raises(ValueError, match="time zone"):
        salesforce.apply([lead_update(lead, Description=datetime(2026, 1, 1))])
    assert salesforce.apply([lead_update(lead, Title=datetime(2026, 1, 1, tzinfo=UTC))])[0].ok


def test_writes_the_connector_cannot_make_safely_are_refused_before_sending(
    salesforce: SalesforceConnector,
) -> None:
    with pytest.raises(ValueError, match="only an upsert by external id"):
        salesforce.apply([RecordWrite(System.SALESFORCE, "Lead", None, ({"LastName": "X"},))])
    with pytest.raises(ValueError, match="hubspot write"):
        salesforce.apply([RecordWrite(System.HUBSPOT, "contact", "1", ({"a": "b"},))])
    assert salesforce.requests.total() == 0
