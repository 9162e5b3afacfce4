"""Whose change is it: which lead a remote record belongs to, and how links follow conversions
and merges. Pure: the sync looks records up, this decides, the sync stores the result.

Precedence, strongest first: the stored link for the record; the native
HubSpot-Salesforce integration's id field on it; our external id
(Leadbridge_Id__c = "lb-<lead id>"); the email, case-insensitively. The
first that names anything decides; weaker evidence is not consulted, so a
stale email never overrides a link. An email that fits more than one person,
or a person already linked to a different record of the same system, is
ambiguous: the change is parked with the reason, never guessed (story 7).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from leadbridge.model import Change, Identity, Removal, System, Value, value_object

_HS, _SF = System.HUBSPOT, System.SALESFORCE
# The native integration's id fields: on the HubSpot contact, the Salesforce record it
# syncs with; on the Salesforce Lead, the HubSpot contact.
_NATIVE_FIELDS: dict[tuple[System, str], tuple[tuple[str, System, str], ...]] = {
    (_HS, "contact"): (
        ("salesforcecontactid", _SF, "Contact"),
        ("salesforceleadid", _SF, "Lead"),
    ),
    (_SF, "Lead"): (("HubSpot_Contact_Id__c", _HS, "contact"),),
    (_SF, "Contact"): (("HubSpot_Contact_Id__c", _HS, "contact"),),
}
NOBODY = Identity()  # no records anywhere: frozen, so one shared default is safe
_NAMES = {
    (_HS, "contact"): "HubSpot contact",
    (_SF, "Lead"): "Salesforce Lead",
    (_SF, "Contact"): "Salesforce Contact",
}


# Every ambiguity reason starts so: a lead with a record parked for it is held (story 7).
AMBIGUOUS_MATCH = "ambiguous match"


class Verdict(StrEnum):
    LINKED = "linked"  # the change belongs to `lead_id`
    NEW = "new"  # nobody has it yet: the sync creates a lead with `identity`
    AMBIGUOUS = "ambiguous"  # park the change with `reason`
    # An unlinked record that cannot start a lead (an Account, an Opportunity): the sync
    # reaches it from its lead instead (a conversion names its Opportunity).
    UNRELATED = "unrelated"


@value_object
class Record:
    """A remote record, and the lead it is linked to (with that lead's identity), if any."""

    system: System
    object: str
    id: str
    lead_id: str | None = None
    lead_identity: Identity = NOBODY


@value_object
class Found:
    """What the sync looked up for one change before asking `resolve`.

    `native` holds the records the change's native id fields name
    (`native_ids` says which); `external` the lead our external id names
    (planner.lead_id_of), only when that lead exists; `by_email` the other
    system's records with the change's email (`email_of`), converted Leads
    left out since their Contact stands for them.
    """

    change: Change
    linked: str | None = None
    native: tuple[Record, ...] = ()
    external: Record | None = None
    by_email: tuple[Record, ...] = ()


@value_object
class Resolution:
    """The verdict; `identity` holds the records to link to the lead (merged into its own)."""

    verdict: Verdict
    lead_id: str | None = None
    identity: Identity = NOBODY
    reason: str = ""  # how it matched, or why it is ambiguous


def native_ids(change: Change) -> list[tuple[System, str, str]]:
    """The records the change's native id fields name, for the sync to look up."""
    found = []
    for name, system, obj in _NATIVE_FIELDS.get((change.system, change.object), ()):
        value = change.fields.get(name)
        if isinstance(value, str) and value.strip():
            found.append((system, obj, value.strip()))
    return found


def email_of(change: Change) -> str | None:
    """The change's email, stripped and lower-cased: both systems match emails that way."""
    value = change.fields.get("email" if change.system is _HS else "Email")
    if not isinstance(value, str):
        return None
    return value.strip().lower() or None


def resolve(found: Found) -> Resolution:
    """Which lead the change belongs to, by the first evidence that names one (see above)."""
    change = found.change
    own = _with(converted(Identity(), change), change.system, change.object, change.id)
    if found.linked is not None:
        return Resolution(Verdict.LINKED, found.linked, own, "stored link")
    if _slot(change.system, change.object) is None:
        what = f"{change.system.value} {change.object} {change.id}"
        return Resolution(Verdict.UNRELATED, None, own, f"no lead is linked to {what}")
    if found.native:
        return _match(own, found.native, "native id field", change)
    if found.external is not None:
        return _match(own, (found.external,), "external id", change)
    email = email_of(change)
    if email is None or not found.by_email:
        return Resolution(Verdict.NEW, None, own, "no match")
    people = _people(found.by_email)
    if len(people) > 1:
        return Resolution(Verdict.AMBIGUOUS, None, own, _shared(found.by_email, email))
    return _match(own, people[0], f"email {email}", change)


def _people(records: Iterable[Record]) -> list[tuple[Record, ...]]:
    """Records grouped by the person they are: one lead's records (a converted Lead and its
    Contact) are one person; every unlinked record is a person of its own."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        key = f"lead:{record.lead_id}" if record.lead_id else f"{record.object}:{record.id}"
        groups.setdefault(key, [])
        if record not in groups[key]:
            groups[key].append(record)
    return [tuple(group) for group in groups.values()]


def _shared(records: tuple[Record, ...], email: str) -> str:
    kinds = {(r.system, r.object) for r in records}
    distinct = {(r.system, r.object, r.id) for r in records}
    system = "HubSpot" if records[0].system is _HS else "Salesforce"
    objects = {obj.lower() for _, obj in kinds}
    what = f"{system} {objects.pop()}s" if len(objects) == 1 else f"{system} records"
    return f"{AMBIGUOUS_MATCH}: {len(distinct)} {what} share {email}"


def _match(own: Identity, records: tuple[Record, ...], how: str, change: Change) -> Resolution:
    """One person's records: link to their lead unless it already holds another record of ours."""
    leads = {r.lead_id for r in records if r.lead_id is not None}
    if len(leads) > 1:
        names = ", ".join(sorted(leads))
        return Resolution(
            Verdict.AMBIGUOUS, None, own, f"{AMBIGUOUS_MATCH}: {how} names leads {names}"
        )
    identity = own
    for record in records:
        identity = _with(identity, record.system, record.object, record.id)
    if not leads:
        return Resolution(Verdict.NEW, None, identity, how)
    lead = leads.pop()
    theirs = next(r.lead_identity for r in records if r.lead_id == lead)
    clash = _clash(theirs, change)
    if clash is not None:
        return Resolution(
            Verdict.AMBIGUOUS,
            None,
            own,
            f"{AMBIGUOUS_MATCH}: {how} points at lead {lead}, already linked to {clash}",
        )
    return Resolution(Verdict.LINKED, lead, identity, how)


def _clash(theirs: Identity, change: Change) -> str | None:
    """The record of the change's own kind the lead already has, when it is another one."""
    slot = _slot(change.system, change.object)
    held = getattr(theirs, slot) if slot else None
    if held is None or held == change.id:
        return None
    return f"{_NAMES.get((change.system, change.object), change.object)} {held}"


def _slot(system: System, obj: str) -> str | None:
    if system is _HS:
        return "hubspot" if obj == "contact" else None
    return {"Lead": "salesforce_lead", "Contact": "salesforce_contact"}.get(obj)


def _with(identity: Identity, system: System, obj: str, record: str) -> Identity:
    """The identity with this record in its slot, built directly: the generic `replace`
    ran for every change decided."""
    slot = _slot(system, obj)
    if slot is None:
        return identity
    slots = {
        "hubspot": identity.hubspot,
        "salesforce_lead": identity.salesforce_lead,
        "salesforce_contact": identity.salesforce_contact,
    }
    slots[slot] = record
    return Identity(**slots)


def converted(identity: Identity, change: Change) -> Identity:
    """After a conversion the lead's Salesforce writes go to its Contact; the Lead id stays,
    as history and so its later changes still find the lead."""
    if change.system is not _SF or change.object != "Lead":
        return identity
    contact = change.fields.get("ConvertedContactId")
    if not _truthy(change.fields.get("IsConverted")) or not isinstance(contact, str) or not contact:
        return identity
    return replace(identity, salesforce_lead=change.id, salesforce_contact=contact)


def _truthy(value: Value) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


@dataclass(frozen=True, slots=True)
class LeadRef:
    """A lead as `fold` needs it: who it is, and when leadbridge first saw it."""

    id: str
    identity: Identity
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Fold:
    """The outcome of a merge: `survivor` keeps `identity`; `absorbed` (if any) is folded into
    it and its links go to the survivor. `dropped` lists records neither could keep (two
    Salesforce Leads for one person): the sync parks them for a person, with `reason`."""

    survivor: str
    identity: Identity
    absorbed: str | None = None
    dropped: tuple[tuple[System, str, str], ...] = ()
    reason: str = ""


def fold(merge: Removal, gone: LeadRef, kept: LeadRef | None) -> Fold:
    """Fold the lead of the merged-away record (`gone`) with the lead of the record it was
    merged into (`kept`; None when that record is linked to no lead).

    The surviving lead is the one linked to Salesforce, because Salesforce ids are
    what reps and reports refer to; when both or neither are, the older, whose journal is
    the longer story; then the smaller id, so every replica decides alike.
    """
    slot = _slot(merge.system, merge.object)
    target = merge.merged_into
    if slot is None or target is None:
        raise ValueError(f"{merge.system} {merge.object} {merge.id} was not merged into a record")
    if kept is None or kept.id == gone.id:
        return Fold(gone.id, replace(gone.identity, **{slot: target}))
    first, second = sorted((gone, kept), key=_rank)
    identity = first.identity
    dropped = []
    clashes = []
    for name in ("hubspot", "salesforce_lead", "salesforce_contact"):
        mine, theirs = getattr(identity, name), getattr(second.identity, name)
        if mine is None:
            identity = replace(identity, **{name: theirs})
        elif theirs is not None and theirs != mine and name != slot:
            system = _HS if name == "hubspot" else _SF
            obj = {"hubspot": "contact", "salesforce_lead": "Lead"}.get(name, "Contact")
            dropped.append((system, obj, theirs))
            kind = _NAMES[(system, obj)]
            clashes.append(f"{kind} {theirs} (it keeps {kind} {mine})")
    identity = replace(identity, **{slot: target})
    reason = (
        f"lead {second.id} was merged into lead {first.id}, which cannot also hold "
        + ", ".join(clashes)
        + ": merge those records too"
        if clashes
        else ""
    )
    return Fold(first.id, identity, second.id, tuple(dropped), reason)


def _rank(lead: LeadRef) -> tuple[bool, datetime, str]:
    identity = lead.identity
    linked = identity.salesforce_lead is not None or identity.salesforce_contact is not None
    return (not linked, lead.created_at, lead.id)
