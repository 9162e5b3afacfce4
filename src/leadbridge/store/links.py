"""Identity links: which remote records are one lead.

A row says "this record belongs to this lead". Person records (a HubSpot
contact, a Salesforce Lead or Contact) belong to one lead; an Account or an
Opportunity may belong to several, which is why the lead id is part of the
key. Links are never deleted: a converted Salesforce Lead keeps its link with
role "converted" and a merged-away record with role "merged", so a late
change to either still finds its lead. Folding moves every link of one lead
to another and leaves a forward pointer on the folded lead (leads.merged_into).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from leadbridge.model import Identity, System
from leadbridge.store import codec
from leadbridge.store._sql import insert
from leadbridge.store.inbox import PENDING, record_key
from leadbridge.store.tables import inbox, leads, links

ACTIVE, _CONVERTED, MERGED = "active", "converted", "merged"
# DELETED: the record was deleted (or archived) in its system; DETACHED: a merge left the
# lead with two records of one kind, and this one waits, parked, for a person. Neither is
# part of the lead's identity, but a late change to either still finds its lead.
DELETED, DETACHED = "deleted", "detached"
NOT_IDENTITY = frozenset({MERGED, DELETED, DETACHED})
_PERSONS = frozenset({"contact", "Lead", "Contact"})
_SF = System.SALESFORCE


class AmbiguousLink(LookupError):
    """One record linked to several leads where only one may own it."""


@dataclass(frozen=True, slots=True)
class Link:
    lead_id: str
    system: System
    object: str
    record_id: str
    email: str | None
    role: str


def _normalize_email(email: str) -> str:
    return email.strip().lower()


class Links:
    def __init__(self, connection: sa.Connection, clock: Callable[[], datetime]) -> None:
        self._connection = connection
        self._clock = clock

    def link(
        self,
        lead_id: str,
        system: System,
        obj: str,
        record_id: str,
        *,
        email: str | None = None,
        role: str = ACTIVE,
    ) -> None:
        """Record (or refresh) that this record belongs to this lead; `email` None keeps
        the email already known, so pass the record's current email when it may have changed."""
        row = {
            "lead_id": lead_id,
            "system": system.value,
            "object": obj,
            "record_id": record_id,
            "email": None if email is None else _normalize_email(email),
            "role": role,
            "updated_at": codec.iso(self._clock()),
        }
        statement = insert(self._connection, links).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["system", "object", "record_id", "lead_id"],
            set_={
                # Linking again without an email must not forget the one we know.
                "email": sa.func.coalesce(statement.excluded.email, links.c.email),
                "role": statement.excluded.role,
                "updated_at": statement.excluded.updated_at,
            },
        )
        self._connection.execute(statement)
        # Items enqueued before the record had a lead wait in the record's own
        # line (or its email's); from now on they queue behind the lead's other items.
        self._connection.execute(
            inbox.update()
            .where(
                inbox.c.system == system.value,
                inbox.c.object == obj,
                inbox.c.record_id == record_id,
                inbox.c.status == PENDING,
            )
            .values(lead_key=lead_id)
        )

    def leads_for(self, system: System, obj: str, record_id: str) -> list[str]:
        statement = (
            sa.select(links.c.lead_id)
            .where(
                links.c.system == system.value,
                links.c.object == obj,
                links.c.record_id == record_id,
            )
            .order_by(links.c.lead_id)
        )
        return list(self._connection.execute(statement).scalars())

    def lead_for(self, system: System, obj: str, record_id: str) -> str | None:
        """The one lead a person record belongs to; AmbiguousLink if it is linked to several."""
        found = self.leads_for(system, obj, record_id)
        if len(found) > 1:
            raise AmbiguousLink(f"{record_key(system, obj, record_id)} is linked to {found}")
        return found[0] if found else None

    def links_of(self, lead_id: str) -> list[Link]:
        statement = (
            sa.select(links)
            .where(links.c.lead_id == lead_id)
            .order_by(links.c.system, links.c.object, links.c.record_id)
        )
        return [_link(row) for row in self._connection.execute(statement).mappings()]

    def by_email(
        self, email: str, system: System | None = None, obj: str | None = None
    ) -> list[Link]:
        """Linked records with this email, any case. More than one person record of one
        object (say two Salesforce Leads) means the email is ambiguous: park, never guess."""
        statement = sa.select(links).where(links.c.email == _normalize_email(email))
        if system is not None:
            statement = statement.where(links.c.system == system.value)
        if obj is not None:
            statement = statement.where(links.c.object == obj)
        statement = statement.order_by(links.c.system, links.c.object, links.c.record_id)
        return [_link(row) for row in self._connection.execute(statement).mappings()]

    def identity(self, lead_id: str) -> Identity:
        """The lead's person records; a converted Lead stays known so its id still reads."""
        hubspot = salesforce_lead = salesforce_contact = None
        for link in self.links_of(lead_id):
            if link.role in NOT_IDENTITY:
                continue
            if link.system is System.HUBSPOT and link.object == "contact":
                hubspot = link.record_id
            elif link.system is _SF and link.object == "Lead":
                salesforce_lead = link.record_id
            elif link.system is _SF and link.object == "Contact":
                salesforce_contact = link.record_id
        return Identity(hubspot, salesforce_lead, salesforce_contact)

    def deleted_systems(self, lead_id: str) -> frozenset[System]:
        """Systems where the lead's person record was deleted and none took its place: the
        lead must not be re-created there behind that system's users' backs."""
        gone, live = set(), set()
        for link in self.links_of(lead_id):
            if link.object not in _PERSONS:
                continue
            if link.role == DELETED:
                gone.add(link.system)
            elif link.role in (ACTIVE, _CONVERTED):
                live.add(link.system)
        return frozenset(gone - live)

    def convert(
        self,
        lead_record_id: str,
        contact_id: str,
        account_id: str | None = None,
        opportunity_id: str | None = None,
    ) -> str | None:
        """Re-key a converted Salesforce Lead onto its Contact (and Account, Opportunity).

        Returns the lead id, or None when the Lead was never linked (the
        caller then resolves the Contact like any new record).
        """
        lead_id = self.lead_for(_SF, "Lead", lead_record_id)
        if lead_id is None:
            return None
        email = next(
            (
                link.email
                for link in self.links_of(lead_id)
                if link.system is _SF and link.object == "Lead"
            ),
            None,
        )
        self.link(lead_id, _SF, "Lead", lead_record_id, email=email, role=_CONVERTED)
        self.link(lead_id, _SF, "Contact", contact_id, email=email)
        if account_id is not None:
            self.link(lead_id, _SF, "Account", account_id)
        if opportunity_id is not None:
            self.link(lead_id, _SF, "Opportunity", opportunity_id)
        return lead_id

    def fold(self, loser: str, survivor: str) -> None:
        """Make `loser` part of `survivor`: its links, pending inbox items and forward pointers."""
        if loser == survivor:
            return
        connection = self._connection
        kept = sa.select(links.c.system, links.c.object, links.c.record_id).where(
            links.c.lead_id == survivor
        )
        # A record both leads share (an Account) would collide on the key: drop the copy.
        connection.execute(
            links.delete().where(
                links.c.lead_id == loser,
                sa.tuple_(links.c.system, links.c.object, links.c.record_id).in_(kept),
            )
        )
        now = codec.iso(self._clock())
        connection.execute(
            links.update().where(links.c.lead_id == loser).values(lead_id=survivor, updated_at=now)
        )
        connection.execute(
            inbox.update()
            .where(inbox.c.lead_key == loser, inbox.c.status == PENDING)
            .values(lead_key=survivor)
        )
        connection.execute(
            leads.update()
            .where(sa.or_(leads.c.id == loser, leads.c.merged_into == loser))
            .values(merged_into=survivor, updated_at=now)
        )

    def merge_records(
        self, system: System, obj: str, loser_id: str, survivor_id: str
    ) -> str | None:
        """A remote merge: `loser_id` was merged into `survivor_id` on `system`.

        Returns the lead that now owns the survivor, or None if neither was linked.
        """
        losing = self.lead_for(system, obj, loser_id)
        winning = self.lead_for(system, obj, survivor_id)
        if losing is None:
            return winning
        email = next(
            (link.email for link in self.links_of(losing) if link.record_id == loser_id), None
        )
        self.link(losing, system, obj, loser_id, email=email, role=MERGED)
        if winning is None:
            self.link(losing, system, obj, survivor_id, email=email)
            return losing
        self.fold(losing, winning)
        return winning


def _link(row: sa.RowMapping) -> Link:
    return Link(
        lead_id=row["lead_id"],
        system=System(row["system"]),
        object=row["object"],
        record_id=row["record_id"],
        email=row["email"],
        role=row["role"],
    )
