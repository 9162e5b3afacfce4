"""Identity look-ups in the store: which lead a change belongs to, and the links it adds.

The decision itself is pure (core.identity.resolve); this gathers what it decides from
(the change's own link, native id fields, the external id, records sharing its email,
the Account of a deal) and records what it found (links, a conversion's new keys).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import lru_cache

from leadbridge.core import planner
from leadbridge.core.identity import (
    AMBIGUOUS_MATCH,
    NOBODY,
    Found,
    Record,
    Resolution,
    Verdict,
    converted,
    email_of,
    native_ids,
    resolve,
)
from leadbridge.model import Change, Identity, System
from leadbridge.store import AmbiguousLink, Link, UnitOfWork
from leadbridge.store.links import ACTIVE

_HS, _SF = System.HUBSPOT, System.SALESFORCE
_SLOTS = (
    ("hubspot", _HS, "contact"),
    ("salesforce_lead", _SF, "Lead"),
    ("salesforce_contact", _SF, "Contact"),
)
_PERSONS = {
    (_HS, "contact"): "HubSpot contacts",
    (_SF, "Lead"): "Salesforce leads",
    (_SF, "Contact"): "Salesforce contacts",
}


def new_lead_id(change: Change) -> str:
    """Derived from the first record seen, so a decision replayed after a crash names the same
    lead, and so the same external id: a retried create upserts instead of duplicating."""
    return _lead_id(change.system, change.object, change.id)


# Asked twice for every change a round decides (its prefetch, then its decision).
@lru_cache(maxsize=8192)
def _lead_id(system: System, obj: str, record_id: str) -> str:
    seed = f"{system.value}:{obj}:{record_id}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def prefetch(uow: UnitOfWork, changes: Iterable[Change], external_id_field: str) -> None:
    """Load in a few statements what `look_up`, `link` and the planner will ask about these
    changes: their records, the records their native id fields name, their emails, the
    leads their external ids name (store.UnitOfWork.prefetch)."""
    records: list[tuple[System, str, str]] = []
    emails: list[str] = []
    leads: list[str] = []
    reopened: list[tuple[System, str, str]] = []
    for change in changes:
        leads.append(new_lead_id(change))  # the lead it starts, if it is a new person
        records.append((change.system, change.object, change.id))
        records.extend(native_ids(change))
        records.extend(_related(change))
        email = email_of(change)
        if email is not None:
            emails.append(email)
        lead_of = planner.lead_id_of(change.fields.get(external_id_field))
        if lead_of is not None:
            leads.append(lead_of)
        reopened.extend(_reopened(change))
    uow.prefetch(records=records, emails=emails, lead_ids=leads, reopened=reopened)


def look_up(uow: UnitOfWork, change: Change, external_id_field: str) -> Resolution:
    links = uow.links
    linked = links.lead_for(change.system, change.object, change.id)
    if linked is None and change.system is _SF and change.object == "Opportunity":
        linked = _by_account(uow, change)
    native = tuple(_record(uow, s, o, r) for s, o, r in native_ids(change)) if not linked else ()
    external = None
    lead_of = planner.lead_id_of(change.fields.get(external_id_field))
    if lead_of is not None and uow.leads.load(lead_of) is not None:
        external = Record(change.system, change.object, change.id, lead_of, links.identity(lead_of))
    email = email_of(change)
    by_email: tuple[Record, ...] = ()
    if email is not None and linked is None:
        other = _SF if change.system is _HS else _HS
        by_email = tuple(
            Record(link.system, link.object, link.record_id, link.lead_id, _identity(uow, link))
            for link in links.by_email(email, other)
            if link.role == ACTIVE and link.object in ("contact", "Lead", "Contact")
        )
    resolution = resolve(Found(change, linked, native, external, by_email))
    if resolution.verdict is Verdict.NEW and email is not None:
        return _duplicate(uow, change, email) or resolution
    return resolution


def _by_account(uow: UnitOfWork, change: Change) -> str | None:
    """A deal opened on an Account that one lead's conversion made (a second deal, a deal
    after a loss) is that lead's; with several leads on the Account, whose deal it is
    cannot be told from the Account alone."""
    account = _text(change.fields.get("AccountId"))
    if account is None:
        return None
    leads = sorted(
        {uow.leads.resolve(lead) for lead in uow.links.leads_for(_SF, "Account", account)}
    )
    if len(leads) > 1:
        raise AmbiguousLink(
            f"Opportunity {change.id} is on Account {account}, which {len(leads)} leads share "
            f"({', '.join(leads)})"
        )
    return leads[0] if leads else None


def _duplicate(uow: UnitOfWork, change: Change, email: str) -> Resolution | None:
    """A new record whose email another record of the same kind already holds (two Salesforce
    leads for Kim): which person it is cannot be told, so it is parked, never guessed."""
    twins = {
        link.record_id
        for link in uow.links.by_email(email, change.system, change.object)
        if link.record_id != change.id and link.role == ACTIVE
    }
    if not twins:
        return None
    what = _PERSONS.get((change.system, change.object), change.object)
    reason = f"{AMBIGUOUS_MATCH}: {len(twins) + 1} {what} share {email}"
    return Resolution(Verdict.AMBIGUOUS, reason=reason)


def _identity(uow: UnitOfWork, link: Link) -> Identity:
    return uow.links.identity(link.lead_id)


def _record(uow: UnitOfWork, system: System, obj: str, record_id: str) -> Record:
    lead = uow.links.lead_for(system, obj, record_id)
    identity = uow.links.identity(lead) if lead is not None else NOBODY
    return Record(system, obj, record_id, lead, identity)


def union(mine: Identity, found: Identity) -> Identity:
    return Identity(
        hubspot=found.hubspot or mine.hubspot,
        salesforce_lead=found.salesforce_lead or mine.salesforce_lead,
        salesforce_contact=found.salesforce_contact or mine.salesforce_contact,
    )


def link(
    uow: UnitOfWork,
    lead_id: str,
    change: Change,
    identity: Identity,
    known: Identity,
    *,
    refresh: bool,
) -> None:
    """Link the records the resolution found that the lead does not hold yet; the change's
    own record again when its email may have changed, since email matching reads it."""
    email = email_of(change)
    for slot, system, obj in _SLOTS:
        record = getattr(identity, slot)
        own = system is change.system and obj == change.object and record == change.id
        if record is None or (record == getattr(known, slot) and not (own and refresh)):
            continue
        uow.links.link(lead_id, system, obj, record, email=email if own else None)
    if change.system is _SF and change.object not in ("Lead", "Contact"):
        uow.links.link(lead_id, change.system, change.object, change.id)
    if change.system is _SF and change.object == "Lead":
        contact = converted(NOBODY, change).salesforce_contact
        if contact is not None:
            _follow_conversion(uow, lead_id, change, contact)


def _follow_conversion(uow: UnitOfWork, lead_id: str, change: Change, contact: str) -> None:
    """Re-key the converted Lead onto its Contact, Account and Opportunity; the Opportunity's
    items set aside as unrelated come back in line behind the lead's."""
    account = _text(change.fields.get("ConvertedAccountId"))
    opportunity = _text(change.fields.get("ConvertedOpportunityId"))
    for system, obj, record in _reopened(change):
        uow.inbox.reopen_soon(system, obj, record)
    if uow.links.lead_for(_SF, "Lead", change.id) == lead_id:
        uow.links.convert(change.id, contact, account, opportunity)


def _reopened(change: Change) -> list[tuple[System, str, str]]:
    """The records whose items set aside a converted Lead's change puts back in line."""
    if change.system is not _SF or change.object != "Lead":
        return []
    contact = converted(NOBODY, change).salesforce_contact
    if contact is None:
        return []
    opportunity = _text(change.fields.get("ConvertedOpportunityId"))
    named = [(_SF, "Opportunity", opportunity)] if opportunity is not None else []
    return [*named, (_SF, "Contact", contact)]


def _related(change: Change) -> list[tuple[System, str, str]]:
    """The Salesforce records a change names that a deal's look-up (its Account) or a
    conversion's re-keying (the Contact, Account and Opportunity it made) will ask about."""
    if change.system is not _SF:
        return []
    named = [
        (obj, _text(change.fields.get(field)))
        for field, obj in (
            ("AccountId", "Account"),
            ("ConvertedContactId", "Contact"),
            ("ConvertedAccountId", "Account"),
            ("ConvertedOpportunityId", "Opportunity"),
        )
    ]
    return [(_SF, obj, record) for obj, record in named if record is not None]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
