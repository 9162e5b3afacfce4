"""The shared vocabulary: what a change, a lead, a stage, a decision and a write plan are.

Plain frozen dataclasses (`value_object`), no behaviour beyond small conveniences, so
every layer (connectors, core, store, sync) can speak them without importing each
other. Mappings inside them are never mutated after construction: the core
always builds new ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple, TypeVar, dataclass_transform

Value = str | int | float | bool | date | datetime | None
"""A field value: remote values as received, canonical values after transforms."""

Values = Mapping[str, Value]

_Class = TypeVar("_Class")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def value_object(cls: type[_Class]) -> type[_Class]:
    """A frozen dataclass to the type checker, which refuses any assignment to its fields;
    at run time a slotted dataclass, equal and hashed by value, without `frozen`'s guard.

    Why: a frozen dataclass's `__init__` sets each field through `object.__setattr__`, five
    times the cost of a plain slotted one (2.3 against 0.4 microseconds for Lead's ten
    fields), and a first sync builds several of these per person: their constructors were
    7% of its CPU. The objects made this way are the ones built per record or per lead on
    the hot path; the rest of the code keeps `dataclass(frozen=True)`."""
    return dataclass(slots=True, unsafe_hash=True)(cls)


class System(StrEnum):
    """HubSpot is marketing's system, Salesforce is sales'."""

    HUBSPOT = "hubspot"
    SALESFORCE = "salesforce"


class Side(StrEnum):
    """Who owns a stage: the team that must act while a lead sits in it."""

    MARKETING = "marketing"
    SALES = "sales"


@value_object
class Change:
    """One record as a connector read it: remote field names, remote values."""

    system: System
    object: str  # "contact" (HubSpot); "Lead", "Contact", "Opportunity" (Salesforce)
    id: str
    fields: Values
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class Removal:
    """A record that left its system: deleted, archived, or merged into another."""

    system: System
    object: str
    id: str
    removed_at: datetime
    merged_into: str | None = None


@dataclass(frozen=True, slots=True)
class Hint:
    """A system told us (a webhook, an Outbound Message) that a record changed: its id only.

    The record itself is read by id before anything is decided, so a pushed change takes
    the same path as a polled one, and a forged or stale push can at worst cause a read.
    """

    system: System
    object: str
    id: str
    received_at: datetime


class Stamp(NamedTuple):
    """When a canonical field last changed, and from where (None: set by a rule)."""

    at: datetime
    system: System | None


@value_object
class Identity:
    """The lead's records in each system; the sync fills these in, the core only reads them."""

    hubspot: str | None = None
    salesforce_lead: str | None = None
    salesforce_contact: str | None = None


@value_object
class Lead:
    """The canonical lead: one person's place in the funnel and what we know of them.

    `seen` holds the raw remote values last read, by record (system, object,
    record id) and then by remote field: a full-record change then only counts
    the fields that really changed on that side. `deals` maps each opportunity
    id to its canonical deal stage, so rules can count wins.
    """

    id: str
    stage: str
    stage_entered_at: datetime
    owner: str | None = None  # the person responsible (e.g. Salesforce OwnerId), for alerts
    identity: Identity = Identity()
    fields: Values = field(default_factory=dict)
    stamps: Mapping[str, Stamp] = field(default_factory=dict)
    # By record, then field: a key per record, not per field (a round of a first sync held
    # ~23 four-part keys per person, a tenth of its memory), and stored as it is.
    seen: Mapping[tuple[System, str, str], Mapping[str, Value]] = field(default_factory=dict)
    deals: Mapping[str, str] = field(default_factory=dict)
    blocked: frozenset[System] = frozenset()  # systems this lead must never be written to

    def with_identity(self, identity: Identity) -> Lead:
        """The lead with another identity: `dataclasses.replace` spelled out, which walks
        every field in Python and ran several times per person in a first sync."""
        return Lead(
            id=self.id,
            stage=self.stage,
            stage_entered_at=self.stage_entered_at,
            owner=self.owner,
            identity=identity,
            fields=self.fields,
            stamps=self.stamps,
            seen=self.seen,
            deals=self.deals,
            blocked=self.blocked,
        )


# Words RevOps writes in capitals wherever they appear in a code.
_ACRONYMS = frozenset({"mql", "sql", "sal", "bant", "b2b", "crm", "seo", "ppc", "sms", "id"})


def readable(code: str) -> str:
    """A name or code as a person reads it when nobody gave it a label: no_fit -> No fit,
    direct_traffic -> Direct traffic, mql -> MQL."""
    words = code.replace("_", " ").replace("-", " ").split()
    if not words:
        return code
    spelled = [w.upper() if w.lower() in _ACRONYMS else w for w in words]
    first = spelled[0]
    spelled[0] = first[:1].upper() + first[1:]
    return " ".join(spelled)


@dataclass(frozen=True, slots=True)
class Stage:
    """A funnel stage and how it shows in each system (from stages.yaml)."""

    name: str
    index: int  # position in the funnel: hand-backs and regressions are judged by it
    owner: Side
    sla: timedelta | None
    handback: bool  # entering it is a hand-back: the transition must carry a reason
    description: str = ""
    hubspot_lifecycle: str | None = None  # the one written
    hubspot_lifecycles: tuple[str, ...] = ()  # every value that counts as this stage
    hubspot_lead_status: tuple[str, ...] = ()  # the first is written; any of them counts
    hubspot_create: bool = True
    salesforce_status: tuple[str, ...] = ()  # the first is written; any of them counts
    salesforce_create: bool = False
    salesforce_converted: bool | None = None
    opportunity_stages: tuple[str, ...] = ()
    was: tuple[str, ...] = ()  # the names it had before a rename: leads still there belong here
    label: str = ""  # what people read (alerts, explain, report); blank: readable(name)
    next_step: str | None = None  # what the owner does next, e.g. "accept or reject in Salesforce"

    def __post_init__(self) -> None:
        if not self.label:
            # A frozen dataclass sets its own derived default this way.
            object.__setattr__(self, "label", readable(self.name))


@value_object
class Cause:
    """Which change moved a lead: the journal's link back to the source record."""

    system: System
    object: str
    id: str
    modified_at: datetime

    @classmethod
    def of(cls, change: Change) -> Cause:
        return cls(change.system, change.object, change.id, change.modified_at)


@value_object
class Transition:
    from_stage: str
    to_stage: str
    rule: str
    reason: str
    cause: Cause
    at: datetime


RemoteValues = Mapping[System, Mapping[str, Values]]
"""system -> object ("contact", "Lead", "Contact") -> remote field -> remote value."""


@value_object
class Decision:
    """What the engine concluded from one change.

    `desired` holds the values leadbridge wants each system to show, in remote
    form; the planner subtracts what the system already shows. A system is
    absent when the lead must not (yet, or ever) be written there.
    """

    lead: Lead
    transitions: tuple[Transition, ...]
    desired: RemoteValues
    notes: tuple[str, ...] = ()  # values that could not be read, for the log

    @property
    def moved(self) -> bool:
        return bool(self.transitions)


@value_object
class RecordWrite:
    """Writes to one remote record, as ordered steps.

    Usually one step. A backward HubSpot lifecyclestage move is two: clear
    the property, then set it, because HubSpot only moves it forward.
    """

    system: System
    object: str
    id: str | None  # None: create it, by upsert on `key`, so a retry cannot duplicate it
    steps: tuple[Values, ...]
    key: tuple[str, str] | None = None  # (external id field or "email", value)


@value_object
class WritePlan:
    lead_id: str
    records: tuple[RecordWrite, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.records
