"""Lead conversion and the sales rep persona, in Python and over the control endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from leadbridge.sandbox.salesforce import SfError
from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox.salesforce_fixtures import START, RunningOrg, running_org

CONVERTED = [
    {
        "message": "cannot reference converted lead",
        "errorCode": "CANNOT_UPDATE_CONVERTED_LEAD",
        "fields": [],
    }
]


@pytest.fixture
def org(tls_files: TLSFiles) -> Iterator[RunningOrg]:
    with running_org(tls_files) as running:
        yield running


@pytest.fixture
def sf(org: RunningOrg) -> Salesforce:
    return org.client()


def _converted(org: RunningOrg) -> tuple[str, dict[str, Any]]:
    lead = org.lead(
        FirstName="Priya",
        LastName="Raman",
        Company="Meridian Health",
        Email="priya@meridian.io",
        LeadSource="Webinar",
        Leadbridge_Id__c="lb-5",
    )
    return lead, org.sim.rep.convert(lead, amount=48_000)


def test_conversion_creates_account_contact_opportunity_and_role(
    org: RunningOrg, sf: Salesforce
) -> None:
    lead_id, ids = _converted(org)
    assert set(ids) == {"lead_id", "account_id", "contact_id", "opportunity_id"}
    lead = sf.Lead.get(lead_id)
    assert (lead["IsConverted"], lead["Status"]) == (True, "Converted")
    assert lead["ConvertedDate"] == START.date().isoformat()
    assert (lead["ConvertedAccountId"], lead["ConvertedContactId"]) == (
        ids["account_id"],
        ids["contact_id"],
    )
    assert lead["ConvertedOpportunityId"] == ids["opportunity_id"]
    assert lead["LastModifiedById"] == org.sim.rep_user_id
    assert sf.Account.get(ids["account_id"])["Name"] == "Meridian Health"
    contact = sf.Contact.get(ids["contact_id"])
    assert (contact["Email"], contact["AccountId"], contact["LeadSource"]) == (
        "priya@meridian.io",
        ids["account_id"],
        "Webinar",
    )
    opportunity = sf.Opportunity.get(ids["opportunity_id"])
    assert (opportunity["Name"], opportunity["StageName"], opportunity["Amount"]) == (
        "Meridian Health-",
        "Prospecting",
        48_000.0,
    )
    assert opportunity["CloseDate"] > START.date().isoformat()
    soql = "SELECT ContactId, IsPrimary FROM OpportunityContactRole WHERE OpportunityId = '{}'"
    role = sf.query(soql.format(ids["opportunity_id"]))["records"]
    assert [(r["ContactId"], r["IsPrimary"]) for r in role] == [(ids["contact_id"], True)]


def test_a_converted_lead_refuses_every_write(org: RunningOrg, sf: Salesforce) -> None:
    lead_id, _ = _converted(org)
    with pytest.raises(SalesforceMalformedRequest) as update:
        sf.Lead.update(lead_id, {"Title": "CMO"})
    assert update.value.content == CONVERTED
    with pytest.raises(SalesforceMalformedRequest) as upsert:
        sf.Lead.upsert("Leadbridge_Id__c/lb-5", {"Title": "CMO"})
    assert upsert.value.content == CONVERTED
    with pytest.raises(SalesforceMalformedRequest):
        sf.Lead.delete(lead_id)
    collection = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={"records": [{"attributes": {"type": "Lead"}, "id": lead_id, "Title": "CMO"}]},
    )
    assert collection[0]["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    with pytest.raises(SfError, match="CANNOT_UPDATE_CONVERTED_LEAD"):
        org.sim.rep.set_status(lead_id, "Working")
    with pytest.raises(SfError, match="CANNOT_UPDATE_CONVERTED_LEAD"):
        org.sim.rep.convert(lead_id)
    assert sf.Lead.get(lead_id)["Title"] is None


def test_conversion_without_opportunity_and_into_an_existing_account(org: RunningOrg) -> None:
    account = org.sim.state.create("Account", {"Name": "Existing Co"})
    lead = org.lead()
    ids = org.sim.state.convert_lead(lead, create_opportunity=False, account_id=account)
    assert ids["account_id"] == account and ids["opportunity_id"] is None
    assert len(org.sim.state.records("Account")) == 1
    with pytest.raises(SfError, match="INVALID_STATUS"):
        org.sim.state.convert_lead(org.lead(), converted_status="Working")


def test_rep_works_leads_and_deals_as_ordinary_changes(org: RunningOrg) -> None:
    rep = org.sim.rep
    lead = rep.create_lead(last_name="Okafor", company="Cobalt Freight", email="k@cobalt.io")
    record = org.sim.state.get("Lead", lead)
    assert record is not None
    assert (record["LeadSource"], record["CreatedById"]) == ("Phone Inquiry", org.sim.rep_user_id)
    org.clock.advance(60)
    rep.set_status(lead, "Recycled", "Bad Timing")
    rep.set_status(lead, "Nurture", "their fiscal year starts in April")
    after = org.sim.state.get("Lead", lead)
    assert after is not None
    assert (after["Status"], after["Recycle_Reason__c"]) == ("Nurture", "Other")
    assert after["Description"] == "their fiscal year starts in April"
    assert after["SystemModstamp"] > record["SystemModstamp"]
    ids = rep.convert(lead, with_opportunity=False)
    deal = rep.open_opportunity(ids["contact_id"], "Cobalt expansion", 12_000, "Qualification")  # type: ignore[arg-type]
    rep.set_stage(deal, "Negotiation/Review")
    rep.close_opportunity(deal, won=False, reason="Competitor")
    lost = org.sim.state.get("Opportunity", deal)
    assert lost is not None
    assert (lost["StageName"], lost["IsClosed"], lost["IsWon"]) == ("Closed Lost", True, False)
    assert (lost["Loss_Reason__c"], lost["AccountId"]) == ("Competitor", ids["account_id"])
    roles = org.sim.state.find("OpportunityContactRole", OpportunityId=deal)
    assert [r["ContactId"] for r in roles] == [ids["contact_id"]]


def test_rep_control_endpoints(org: RunningOrg) -> None:
    base = f"{org.url}/_sandbox/rep"
    http = org.http()
    created = http.post(
        f"{base}/leads", json={"LastName": "Park", "Company": "Summit Labs"}, timeout=5
    )
    lead = created.json()["id"]
    status = http.post(
        f"{base}/leads/{lead}/status", json={"status": "Disqualified", "reason": "No Budget"}
    )
    assert (status.json()["Status"], status.json()["Recycle_Reason__c"]) == (
        "Disqualified",
        "No Budget",
    )
    bad = http.post(f"{base}/leads/{lead}/status", json={"status": "Sleeping"}, timeout=5)
    assert bad.status_code == 400
    assert bad.json()["error"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    ids = http.post(f"{base}/leads/{lead}/convert", json={"amount": 5000}, timeout=5).json()
    opportunity = ids["opportunity_id"]
    won = http.post(f"{base}/opportunities/{opportunity}/close", json={"won": True}, timeout=5)
    assert (won.json()["StageName"], won.json()["IsWon"]) == ("Closed Won", True)
    deal = http.post(
        f"{base}/opportunities",
        json={"account_or_contact": ids["account_id"], "name": "Renewal", "amount": 7000},
        timeout=5,
    ).json()["id"]
    staged = http.post(f"{base}/opportunities/{deal}/stage", json={"stage": "On Hold"}, timeout=5)
    assert staged.json()["StageName"] == "On Hold"
    unknown = http.post(
        f"{base}/leads/00Q5g000AAAAAAAEAA/status", json={"status": "Open"}, timeout=5
    )
    assert unknown.status_code == 404
