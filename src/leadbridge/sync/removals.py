"""Records that left their system: merged into another, or deleted (archived).

A merge folds two leads into one (identity.fold says which survives and why);
the merged-away record keeps its link with role "merged", so a late change to
it still finds the lead. A record the survivor cannot also hold (a second
Salesforce Lead for one person) is detached from the identity and parked for a
person. A deletion takes the record out of the lead's identity and blocks the
lead in that system for as long as no other record of it lives there: what a
person deleted (perhaps for privacy) is never re-created by a rule of ours, and
a restore or a new record with the lead's email lifts the block by itself.

Following a removal twice changes nothing: HubSpot repeats a merge trail each
time the survivor changes, and every such report arrives as an inbox item.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from leadbridge.core.identity import LeadRef, fold
from leadbridge.model import Removal
from leadbridge.store import UnitOfWork
from leadbridge.store.links import ACTIVE, DELETED, DETACHED, MERGED


def involved(uow: UnitOfWork, removal: Removal) -> set[str]:
    """The leads a removal may fold or change: settle their pending work first."""
    found = set(uow.links.leads_for(removal.system, removal.object, removal.id))
    if removal.merged_into is not None:
        found.update(uow.links.leads_for(removal.system, removal.object, removal.merged_into))
    return {uow.leads.resolve(lead_id) for lead_id in found}


def follow(uow: UnitOfWork, removal: Removal, now: datetime) -> str | None:
    """Apply the removal to links and leads; returns the lead it touched (None: nobody's)."""
    gone_id = uow.links.lead_for(removal.system, removal.object, removal.id)
    if gone_id is None:
        # A record no lead holds (a duplicate set aside): nothing is left to decide for it.
        email = uow.inbox.email_of_parked(removal.system, removal.object, removal.id)
        uow.parked.unpark(removal.system, removal.object, removal.id)
        uow.inbox.settle(removal.system, removal.object, removal.id)
        _release(uow, removal, email)
        return None
    if _role(uow, gone_id, removal) in (MERGED, DELETED):
        return uow.leads.resolve(gone_id)  # followed before
    email = _email(uow, gone_id, removal)
    if removal.merged_into is None:
        touched = _deleted(uow, uow.leads.resolve(gone_id), removal)
    else:
        touched = _merged(uow, uow.leads.resolve(gone_id), removal, now)
    uow.parked.unpark(removal.system, removal.object, removal.id)
    _release(uow, removal, email)
    return touched


def _merged(uow: UnitOfWork, gone_id: str, removal: Removal, now: datetime) -> str:
    survivor_record = removal.merged_into
    assert survivor_record is not None
    kept_id = uow.links.lead_for(removal.system, removal.object, survivor_record)
    gone = _ref(uow, gone_id)
    kept = _ref(uow, uow.leads.resolve(kept_id)) if kept_id is not None else None
    result = fold(removal, gone, kept)
    email = _email(uow, gone_id, removal)
    uow.links.link(gone_id, removal.system, removal.object, removal.id, email=email, role=MERGED)
    if result.absorbed is not None:
        uow.links.fold(result.absorbed, result.survivor)
    if kept_id is None:
        uow.links.link(
            result.survivor, removal.system, removal.object, survivor_record, email=email
        )
    for system, obj, record in result.dropped:
        uow.links.link(result.survivor, system, obj, record, role=DETACHED)
        uow.parked.park(system, obj, record, result.reason, now=now, lead_id=result.survivor)
    lead = uow.leads.load(result.survivor)
    if lead is not None:
        uow.leads.save(replace(lead, identity=result.identity))
    return result.survivor


def _deleted(uow: UnitOfWork, lead_id: str, removal: Removal) -> str:
    email = _email(uow, lead_id, removal)
    # The link stays, as "deleted": Links.deleted_systems derives the block from it.
    uow.links.link(lead_id, removal.system, removal.object, removal.id, email=email, role=DELETED)
    return lead_id


def _ref(uow: UnitOfWork, lead_id: str) -> LeadRef:
    """`fold` ranks leads by age: the first transition journaled, else the stage entry."""
    lead = uow.leads.load(lead_id)
    if lead is None:
        raise LookupError(f"lead {lead_id} is linked but not stored")
    entries = uow.journal.entries(lead_id)
    first = min((entry.transition.at for entry in entries), default=lead.stage_entered_at)
    return LeadRef(lead.id, lead.identity, min(first, lead.stage_entered_at))


def _role(uow: UnitOfWork, lead_id: str, removal: Removal) -> str | None:
    for link in uow.links.links_of(uow.leads.resolve(lead_id)):
        if (link.system, link.object, link.record_id) == (
            removal.system,
            removal.object,
            removal.id,
        ):
            return link.role
    return None


def _email(uow: UnitOfWork, lead_id: str, removal: Removal) -> str | None:
    for link in uow.links.links_of(uow.leads.resolve(lead_id)):
        if link.record_id == removal.id and link.email:
            return link.email
    return None


def _release(uow: UnitOfWork, removal: Removal, email: str | None) -> None:
    """A person fixed a duplicate trap by deleting or merging one of the records: once at
    most one record of that kind holds the email, the hold is lifted and what waited for it
    goes back in line (story 7)."""
    system, obj = removal.system, removal.object
    if email is None:
        return
    linked = [
        link
        for link in uow.links.by_email(email, system, obj)
        if link.role in (ACTIVE, DETACHED) and link.record_id != removal.id
    ]
    unlinked = [r for r in uow.inbox.parked_with_email(system, obj, email) if r != removal.id]
    if len({link.record_id for link in linked} | set(unlinked)) > 1:
        return
    for link in linked:
        uow.parked.unpark(system, obj, link.record_id)
        uow.inbox.reopen(system, obj, link.record_id)
        uow.inbox.reopen_lead(uow.leads.resolve(link.lead_id))
    for record in unlinked:
        uow.parked.unpark(system, obj, record)
        uow.inbox.reopen(system, obj, record)
