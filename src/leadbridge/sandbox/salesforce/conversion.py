"""Lead conversion, as a rep's Convert button does it: Account, Contact, an optional Opportunity.

There is no REST call for it (it happens inside Salesforce); afterwards the Lead
is read-only and carries the ids of what it became.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypedDict

from leadbridge.sandbox.salesforce.errors import SfError
from leadbridge.sandbox.salesforce.schema import (
    ACCOUNT,
    CONTACT,
    CONVERTED_STATUSES,
    LEAD,
    OPPORTUNITY,
    OPPORTUNITY_CONTACT_ROLE,
)
from leadbridge.sandbox.salesforce.store import RecordStore


class Converted(TypedDict):
    """What a conversion made; `opportunity_id` is None when it made no opportunity."""

    lead_id: str
    account_id: str
    contact_id: str
    opportunity_id: str | None


_CONTACT_FROM_LEAD = (
    "FirstName",
    "LastName",
    "Email",
    "Title",
    "Phone",
    "LeadSource",
    "Description",
)
_ACCOUNT_FROM_LEAD = ("Industry", "NumberOfEmployees", "Website", "Phone")


def convert_lead(
    store: RecordStore,
    lead_id: str,
    *,
    converted_status: str | None = None,
    create_opportunity: bool = True,
    opportunity_name: str | None = None,
    account_id: str | None = None,
    amount: float | None = None,
    actor: str | None = None,
) -> Converted:
    """Converts the lead in one transaction; answers the new (or reused) ids."""
    status = converted_status or sorted(CONVERTED_STATUSES)[0]
    if status not in CONVERTED_STATUSES:
        raise SfError("INVALID_STATUS", f"invalid convertedStatus: {status}")
    with store.atomic():
        lead = store.locate(LEAD, lead_id, writing=True)
        owner = lead["OwnerId"]
        if account_id is not None:
            account = store.locate(ACCOUNT, account_id, writing=False)
            new_account = account["Id"]
        else:
            account_values: dict[str, Any] = {
                name: lead[name] for name in _ACCOUNT_FROM_LEAD if lead.get(name) is not None
            }
            account_values.update(Name=lead["Company"], OwnerId=owner)
            new_account = store.insert(ACCOUNT, account_values, actor=actor)
        contact_values: dict[str, Any] = {
            name: lead[name] for name in _CONTACT_FROM_LEAD if lead.get(name) is not None
        }
        contact_values.update(AccountId=new_account, OwnerId=owner)
        contact = store.insert(CONTACT, contact_values, actor=actor)
        opportunity = None
        if create_opportunity:
            account_name = store.locate(ACCOUNT, new_account, writing=False)["Name"]
            # The org's default name for a converted opportunity is the account's name and a hyphen.
            close = (store.clock.now() + timedelta(days=30)).date().isoformat()
            opportunity = store.insert(
                OPPORTUNITY,
                {
                    "Name": opportunity_name or f"{account_name}-",
                    "AccountId": new_account,
                    "StageName": "Prospecting",
                    "CloseDate": close,
                    "Amount": amount,
                    "LeadSource": lead.get("LeadSource"),
                    "OwnerId": owner,
                },
                actor=actor,
            )
            store.insert(
                OPPORTUNITY_CONTACT_ROLE,
                {"OpportunityId": opportunity, "ContactId": contact, "IsPrimary": True},
                actor=actor,
            )
        store.patch(
            LEAD,
            lead["Id"],
            {
                "IsConverted": True,
                "Status": status,
                "ConvertedDate": store.clock.now().date().isoformat(),
                "ConvertedAccountId": new_account,
                "ConvertedContactId": contact,
                "ConvertedOpportunityId": opportunity,
            },
            actor=actor,
        )
    return {
        "lead_id": lead["Id"],
        "account_id": new_account,
        "contact_id": contact,
        "opportunity_id": opportunity,
    }
