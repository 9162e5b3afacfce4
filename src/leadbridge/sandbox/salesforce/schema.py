"""The simulated org's data model: sObjects, fields and the picklists of a plausible B2B org."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from leadbridge.sandbox.salesforce.ids import KEY_PREFIXES

TEXT_TYPES = frozenset({"string", "email", "phone", "textarea", "url", "picklist"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted: bool = False  # the org fills it in on create when the client leaves it out
    default: Any = None
    external_id: bool = False
    unique: bool = False
    restricted: bool = False
    picklist: tuple[str, ...] = ()
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None
    name_field: bool = False

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    @property
    def required(self) -> bool:
        """A value must be present on create: not nillable, and the org has no default for it."""
        return not self.nillable and self.createable and not self.defaulted


@dataclass(frozen=True)
class SObject:
    name: str
    label: str
    label_plural: str
    fields: tuple[Field, ...]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    _by_lower: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({f.name.lower(): f for f in self.fields})

    @property
    def key_prefix(self) -> str:
        return KEY_PREFIXES[self.name]

    def field(self, name: str) -> Field | None:
        """Field names are case-insensitive in the API, as they are in Salesforce."""
        return self._by_lower.get(name.lower())

    def types(self) -> dict[str, str]:
        return {f.name: f.type for f in self.fields}

    def external_ids(self) -> list[Field]:
        return [f for f in self.fields if f.external_id]


def _text(name: str, label: str, length: int = 255, kind: str = "string", **kw: Any) -> Field:
    return Field(name, kind, label, length=length, **kw)


def _pick(name: str, label: str, values: tuple[str, ...], **kw: Any) -> Field:
    return Field(name, "picklist", label, length=255, picklist=values, **kw)


def _ref(name: str, label: str, to: str, relationship: str, **kw: Any) -> Field:
    return Field(
        name, "reference", label, length=18, reference_to=(to,), relationship=relationship, **kw
    )


def _read_only(name: str, kind: str, label: str, **kw: Any) -> Field:
    return Field(name, kind, label, createable=False, updateable=False, **kw)


def _audit(name: str, kind: str, label: str, **kw: Any) -> Field:
    """A field the org maintains on every record: never written by a client, always set."""
    return _read_only(name, kind, label, nillable=False, defaulted=True, **kw)


def _system(*, owner: bool = True) -> tuple[Field, ...]:
    user = {"length": 18, "reference_to": ("User",)}
    audit = (
        _audit("IsDeleted", "boolean", "Deleted", default=False),
        _audit("CreatedDate", "datetime", "Created Date"),
        _audit("CreatedById", "reference", "Created By ID", relationship="CreatedBy", **user),
        _audit("LastModifiedDate", "datetime", "Last Modified Date"),
        _audit(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            relationship="LastModifiedBy",
            **user,
        ),
        _audit("SystemModstamp", "datetime", "System Modstamp"),
    )
    if not owner:
        return audit
    return (_ref("OwnerId", "Owner ID", "User", "Owner", nillable=False, defaulted=True), *audit)


def _id(label: str) -> Field:
    return _read_only("Id", "id", label, length=18, nillable=False, defaulted=True)


INDUSTRIES = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
    "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
    "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government", "Healthcare",
    "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit",
    "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
    "Utilities", "Other",
)  # fmt: skip
LEAD_SOURCES = (
    "Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Paid Social", "Webinar",
    "Event", "Other",
)  # fmt: skip
# Lead.Status values in LeadStatus order; "Converted" is the org's one converted status.
LEAD_STATUSES = ("Open", "Working", "Qualified", "Nurture", "Recycled", "Disqualified", "Converted")
CONVERTED_STATUSES = frozenset({"Converted"})
DEFAULT_LEAD_STATUS = "Open"
RECYCLE_REASONS = (
    "Bad Timing", "No Budget", "No Authority", "Went Dark", "Lost to Competitor", "On Hold",
    "Other",
)  # fmt: skip
# StageName -> (IsClosed, IsWon, default Probability), as the OpportunityStage setup says.
STAGES: dict[str, tuple[bool, bool, int]] = {
    "Prospecting": (False, False, 10),
    "Qualification": (False, False, 10),
    "Needs Analysis": (False, False, 20),
    "Proposal/Price Quote": (False, False, 75),
    "Negotiation/Review": (False, False, 90),
    "On Hold": (False, False, 10),
    "Closed Won": (True, True, 100),
    "Closed Lost": (True, False, 0),
}
LOSS_REASONS = ("Price", "Competitor", "No Decision", "Timing", "Product Fit", "Other")
ACCOUNT_TYPES = (
    "Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
    "Installation Partner", "Technology Partner", "Other",
)  # fmt: skip
CONTACT_ROLES = (
    "Business User", "Decision Maker", "Economic Buyer", "Economic Decision Maker", "Evaluator",
    "Executive Sponsor", "Influencer", "Technical Buyer", "Other",
)  # fmt: skip
RATINGS = ("Hot", "Warm", "Cold")
GRADES = ("A", "B", "C", "D")

LEAD = SObject(
    "Lead",
    "Lead",
    "Leads",
    (
        _id("Lead ID"),
        _text("FirstName", "First Name", 40),
        _text("LastName", "Last Name", 80, nillable=False),
        _read_only("Name", "string", "Full Name", length=121, name_field=True),
        _text("Company", "Company", 255, nillable=False),
        _text("Title", "Title", 128),
        _text("Email", "Email", 80, kind="email"),
        _text("Phone", "Phone", 40, kind="phone"),
        _text("Website", "Website", 255, kind="url"),
        _pick("Industry", "Industry", INDUSTRIES),
        Field("NumberOfEmployees", "int", "Employees"),
        _pick("Status", "Status", LEAD_STATUSES, restricted=True, nillable=False,
              defaulted=True, default=DEFAULT_LEAD_STATUS),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        _pick("Rating", "Rating", RATINGS),
        _text("Description", "Description", 32000, kind="textarea"),
        _audit("IsConverted", "boolean", "Converted", default=False),
        _read_only("ConvertedAccountId", "reference", "Converted Account ID", length=18,
                   reference_to=("Account",), relationship="ConvertedAccount"),
        _read_only("ConvertedContactId", "reference", "Converted Contact ID", length=18,
                   reference_to=("Contact",), relationship="ConvertedContact"),
        _read_only("ConvertedOpportunityId", "reference", "Converted Opportunity ID", length=18,
                   reference_to=("Opportunity",), relationship="ConvertedOpportunity"),
        _read_only("ConvertedDate", "date", "Converted Date"),
        _text("Leadbridge_Id__c", "Leadbridge ID", 64, external_id=True, unique=True),
        # An external id that is not unique: two leads may hold it, and an upsert by it then
        # answers 300 (MoreThanOneRecord), as the real org does.
        _text("HubSpot_Contact_Id__c", "HubSpot Contact ID", 32, external_id=True),
        _pick("Recycle_Reason__c", "Recycle Reason", RECYCLE_REASONS, restricted=True),
        # BANT as the sales team records it on the Lead (the org's own fields).
        _text("Budget__c", "Budget", 255),
        _text("Authority__c", "Authority", 255),
        _text("Need__c", "Need", 255),
        _text("Timeline__c", "Timeline", 255),
        # What `leadbridge setup` makes for scoring.yaml's write targets.
        Field("Leadbridge_Score__c", "double", "leadbridge score"),
        _pick("Leadbridge_Grade__c", "leadbridge grade", GRADES, restricted=True),
        *_system(),
    ),
)  # fmt: skip

CONTACT = SObject(
    "Contact",
    "Contact",
    "Contacts",
    (
        _id("Contact ID"),
        _ref("AccountId", "Account ID", "Account", "Account"),
        _text("FirstName", "First Name", 40),
        _text("LastName", "Last Name", 80, nillable=False),
        _read_only("Name", "string", "Full Name", length=121, name_field=True),
        _text("Email", "Email", 80, kind="email"),
        _text("Title", "Title", 128),
        _text("Phone", "Business Phone", 40, kind="phone"),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        _text("Description", "Contact Description", 32000, kind="textarea"),
        *_system(),
    ),
)

ACCOUNT = SObject(
    "Account",
    "Account",
    "Accounts",
    (
        _id("Account ID"),
        _text("Name", "Account Name", 255, nillable=False, name_field=True),
        _pick("Type", "Account Type", ACCOUNT_TYPES),
        _pick("Industry", "Industry", INDUSTRIES),
        Field("NumberOfEmployees", "int", "Employees"),
        _text("Website", "Website", 255, kind="url"),
        _text("Phone", "Account Phone", 40, kind="phone"),
        _text("Description", "Account Description", 32000, kind="textarea"),
        *_system(),
    ),
)

OPPORTUNITY = SObject(
    "Opportunity",
    "Opportunity",
    "Opportunities",
    (
        _id("Opportunity ID"),
        _text("Name", "Name", 120, nillable=False, name_field=True),
        _ref("AccountId", "Account ID", "Account", "Account"),
        _pick("StageName", "Stage", tuple(STAGES), restricted=True, nillable=False),
        _read_only("IsClosed", "boolean", "Closed", nillable=False, defaulted=True, default=False),
        _read_only("IsWon", "boolean", "Won", nillable=False, defaulted=True, default=False),
        Field("Amount", "currency", "Amount"),
        Field("Probability", "percent", "Probability (%)", defaulted=True),
        Field("CloseDate", "date", "Close Date", nillable=False),
        _pick("Type", "Opportunity Type", ("New Business", "Existing Business")),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        _pick("Loss_Reason__c", "Loss Reason", LOSS_REASONS, restricted=True),
        _text("Description", "Description", 32000, kind="textarea"),
        *_system(),
    ),
)

OPPORTUNITY_CONTACT_ROLE = SObject(
    "OpportunityContactRole",
    "Opportunity Contact Role",
    "Opportunity Contact Role",
    (
        _id("Opportunity Contact Role ID"),
        _ref("OpportunityId", "Opportunity ID", "Opportunity", "Opportunity", nillable=False,
             updateable=False),
        _ref("ContactId", "Contact ID", "Contact", "Contact", nillable=False),
        _pick("Role", "Role", CONTACT_ROLES),
        Field("IsPrimary", "boolean", "Primary", nillable=False, defaulted=True, default=False),
        *_system(owner=False),
    ),
)  # fmt: skip

LEAD_STATUS = SObject(
    "LeadStatus",
    "Lead Status",
    "Lead Status",
    (
        _id("Lead Status ID"),
        _read_only("MasterLabel", "string", "Master Label", length=255),
        _read_only("ApiName", "string", "Api Name", length=255),
        _read_only("SortOrder", "int", "Sort Order"),
        _read_only("IsDefault", "boolean", "Is Default", nillable=False, default=False),
        _read_only("IsConverted", "boolean", "Is Converted", nillable=False, default=False),
        *_system(owner=False),
    ),
    createable=False,
    updateable=False,
    deletable=False,
)

SOBJECTS: dict[str, SObject] = {
    o.name: o for o in (LEAD, CONTACT, ACCOUNT, OPPORTUNITY, OPPORTUNITY_CONTACT_ROLE, LEAD_STATUS)
}
_BY_LOWER = {name.lower(): o for name, o in SOBJECTS.items()}
_BY_PREFIX = {o.key_prefix: o for o in SOBJECTS.values()}


def sobject(name: str) -> SObject | None:
    """sObject names are case-insensitive in URLs and SOQL."""
    return _BY_LOWER.get(name.lower())


def sobject_for_id(record_id: str) -> SObject | None:
    return _BY_PREFIX.get(record_id[:3])
