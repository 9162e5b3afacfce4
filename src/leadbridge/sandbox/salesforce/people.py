"""The sales rep persona: what a person working leads in Salesforce's UI does to the org.

Every action is an ordinary, validated change made as the rep's user
(`LastModifiedById` is the rep, not the integration user): stamps move and
Outbound Messages fire, exactly as when a real rep clicks Save.

Reasons: `set_status(..., reason)` puts a reason that is one of the
Recycle_Reason__c values (Bad Timing, No Budget, ...) into that field; any
other text sets Recycle_Reason__c to "Other" and is appended to the lead's
Description. `close_opportunity(..., won=False, reason)` does the same with
Loss_Reason__c.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from leadbridge.sandbox.salesforce import ids
from leadbridge.sandbox.salesforce.conversion import Converted
from leadbridge.sandbox.salesforce.errors import SfError
from leadbridge.sandbox.salesforce.schema import LOSS_REASONS, RECYCLE_REASONS
from leadbridge.sandbox.salesforce.state import OrgState

_SHORTHANDS = {
    "first_name": "FirstName",
    "last_name": "LastName",
    "company": "Company",
    "email": "Email",
    "title": "Title",
    "phone": "Phone",
    "lead_source": "LeadSource",
    "status": "Status",
}


class SalesRep:
    def __init__(self, state: OrgState, user_id: str, name: str) -> None:
        self.state = state
        self.user_id = user_id
        self.name = name

    def create_lead(self, fields: Mapping[str, Any] | None = None, /, **named: Any) -> str:
        """A lead born in Salesforce (a call, a business card). `fields` uses Salesforce names;
        `named` takes last_name, company, email, ... as shorthands."""
        values: dict[str, Any] = {"LeadSource": "Phone Inquiry", **(fields or {})}
        for key, value in named.items():
            values[_SHORTHANDS.get(key, key)] = value
        return self.state.create("Lead", values, actor=self.user_id)

    def set_status(self, lead_id: str, status: str, reason: str | None = None) -> None:
        values: dict[str, Any] = {"Status": status}
        if reason:
            values.update(
                self._reason("Lead", lead_id, "Recycle_Reason__c", RECYCLE_REASONS, reason)
            )
        self.state.update("Lead", lead_id, values, actor=self.user_id)

    def edit(self, sobject: str, record_id: str, **values: Any) -> None:
        """The rep edits fields on a record (Salesforce names), e.g. BANT on a Lead."""
        self.state.update(sobject, record_id, values, actor=self.user_id)

    def convert(
        self,
        lead_id: str,
        with_opportunity: bool = True,
        amount: float | None = None,
        opportunity_name: str | None = None,
    ) -> Converted:
        """Converts the lead; answers the ids of what it became (see `Converted`)."""
        return self.state.convert_lead(
            lead_id,
            create_opportunity=with_opportunity,
            opportunity_name=opportunity_name,
            amount=amount,
            actor=self.user_id,
        )

    def open_opportunity(
        self,
        account_or_contact: str,
        name: str,
        amount: float | None = None,
        stage: str = "Prospecting",
    ) -> str:
        """A new deal on an Account, or on a Contact's Account with the Contact as primary role."""
        record_id = ids.normalize(account_or_contact) or account_or_contact
        contact_id = None
        if record_id.startswith("003"):
            contact = self.state.locate(self.state.object("Contact"), record_id, writing=False)
            contact_id, account_id = contact["Id"], contact["AccountId"]
        elif record_id.startswith("001"):
            account_id = record_id
        else:
            raise SfError("MALFORMED_ID", f"not an Account or Contact id: {account_or_contact}")
        close = (self.state.clock.now() + timedelta(days=30)).date().isoformat()
        values = {
            "Name": name,
            "AccountId": account_id,
            "StageName": stage,
            "Amount": amount,
            "CloseDate": close,
        }
        with self.state.atomic():
            opportunity = self.state.create("Opportunity", values, actor=self.user_id)
            if contact_id is not None:
                self.state.create(
                    "OpportunityContactRole",
                    {"OpportunityId": opportunity, "ContactId": contact_id, "IsPrimary": True},
                    actor=self.user_id,
                )
        return opportunity

    def set_stage(self, opportunity_id: str, stage: str) -> None:
        self.state.update("Opportunity", opportunity_id, {"StageName": stage}, actor=self.user_id)

    def close_opportunity(self, opportunity_id: str, won: bool, reason: str | None = None) -> None:
        values: dict[str, Any] = {
            "StageName": "Closed Won" if won else "Closed Lost",
            "CloseDate": self.state.clock.now().date().isoformat(),
        }
        if reason and not won:
            values.update(
                self._reason("Opportunity", opportunity_id, "Loss_Reason__c", LOSS_REASONS, reason)
            )
        self.state.update("Opportunity", opportunity_id, values, actor=self.user_id)

    def _reason(
        self, sobject_name: str, record_id: str, field: str, allowed: tuple[str, ...], reason: str
    ) -> dict[str, Any]:
        obj = self.state.object(sobject_name)
        has_field = obj.field(field) is not None  # an unprepared org may lack it
        if reason in allowed and has_field:
            return {field: reason}
        record = self.state.get(sobject_name, record_id) or {}
        notes = record.get("Description")
        described = {"Description": f"{notes}\n{reason}" if notes else reason}
        return {field: "Other", **described} if has_field else described
