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

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from leadbridge.model import Identity, System, value_object
from leadbridge.store import codec
from leadbridge.store._sql import execute_many, quietly, select_in, upsert_many
from leadbridge.store.inbox import PENDING, Inbox, record_key
from leadbridge.store.tables import inbox, leads, links

ACTIVE, _CONVERTED, MERGED = "active", "converted", "merged"
# DELETED: the record was deleted (or archived) in its system; DETACHED: a merge left the
# lead with two records of one kind, and this one waits, parked, for a person. Neither is
# part of the lead's identity, but a late change to either still finds its lead.
DELETED, DETACHED = "deleted", "detached"
NOT_IDENTITY = frozenset({MERGED, DELETED, DETACHED})
_PERSONS = frozenset({"contact", "Lead", "Contact"})
_SF = System.SALESFORCE


# Built once (store._sql.execute_many keeps it compiled): links flush several times a round.
_RELINED = (
    inbox.update()
    .where(
        inbox.c.system == sa.bindparam("s"),
        inbox.c.object == sa.bindparam("o"),
        inbox.c.record_id == sa.bindparam("r"),
        inbox.c.status == PENDING,
    )
    .values(lead_key=sa.bindparam("lead"))
)


class AmbiguousLink(LookupError):
    """One record linked to several leads where only one may own it."""


@value_object
class Link:
    lead_id: str
    system: System
    object: str
    record_id: str
    email: str | None
    role: str


def _normalize_email(email: str) -> str:
    return email.strip().lower()


_RecordKey = tuple[System, str, str]  # (system, object, record id)


class Links:
    """The links table, remembered for the transaction: what was read is kept (a prefetch
    loads a round's worth at once), links made are buffered and upserted in one statement
    at `flush` (the unit of work flushes before any other statement and at commit)."""

    def __init__(
        self, connection: sa.Connection, clock: Callable[[], datetime], inbox: Inbox
    ) -> None:
        self._connection = connection
        self._clock = clock
        self._inbox = inbox
        # Complete answers only: every link of a cached record, lead or email.
        self._by_record: dict[_RecordKey, dict[str, Link]] = {}
        self._by_lead: dict[str, dict[_RecordKey, Link]] = {}
        self._by_email: dict[str, dict[tuple[_RecordKey, str], Link]] = {}
        self._rows: dict[tuple[_RecordKey, str], dict[str, Any]] = {}  # to upsert
        self._relined: dict[_RecordKey, str] = {}  # records whose pending items join a lead

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
        key = (system, obj, record_id)
        old = self._record(key).get(lead_id)
        # Linking again without an email must not forget the one we know.
        known = _normalize_email(email) if email is not None else old.email if old else None
        new = Link(lead_id, system, obj, record_id, known, role)
        self._remember(new, old)
        self._rows[(key, lead_id)] = {
            "lead_id": lead_id,
            "system": codec.SYSTEM_TEXT[system],
            "object": obj,
            "record_id": record_id,
            "email": known,
            "role": role,
            "updated_at": codec.iso(self._clock()),
        }
        # Items enqueued before the record had a lead wait in the record's own
        # line (or its email's); from now on they queue behind the lead's other items.
        self._relined[key] = lead_id
        self._inbox.relined(system, obj, record_id)

    def leads_for(self, system: System, obj: str, record_id: str) -> list[str]:
        return sorted(self._record((system, obj, record_id)))

    def lead_for(self, system: System, obj: str, record_id: str) -> str | None:
        """The one lead a person record belongs to; AmbiguousLink if it is linked to several."""
        found = self.leads_for(system, obj, record_id)
        if len(found) > 1:
            raise AmbiguousLink(f"{record_key(system, obj, record_id)} is linked to {found}")
        return found[0] if found else None

    def links_of(self, lead_id: str) -> list[Link]:
        if lead_id not in self._by_lead:
            self.prefetch(leads=[lead_id])
        found = self._by_lead[lead_id]
        if len(found) < 2:  # most leads of a first sync: nothing to order
            return list(found.values())
        return [link for _, link in sorted(found.items(), key=_by_key)]

    def by_email(
        self, email: str, system: System | None = None, obj: str | None = None
    ) -> list[Link]:
        """Linked records with this email, any case. More than one person record of one
        object (say two Salesforce Leads) means the email is ambiguous: park, never guess."""
        normal = _normalize_email(email)
        if normal not in self._by_email:
            self.prefetch(emails=[normal])
        found = self._by_email[normal]
        ordered = (
            found.values()
            if len(found) < 2
            else [link for _, link in sorted(found.items(), key=_by_key)]
        )
        return [
            link
            for link in ordered
            if (system is None or link.system is system) and (obj is None or link.object == obj)
        ]

    def prefetch(
        self,
        *,
        records: Iterable[_RecordKey] = (),
        emails: Iterable[str] = (),
        leads: Iterable[str] = (),
    ) -> None:
        """Load every link of these records, emails and leads not known yet, a few IN-list
        statements for all of them (pending links are flushed first, so the answers hold)."""
        records = {key for key in records if key not in self._by_record}
        emails = {n for e in emails if (n := _normalize_email(e)) not in self._by_email}
        leads = {lead for lead in leads if lead not in self._by_lead}
        if not (records or emails or leads):
            return
        self.flush()
        found: list[Link] = []
        with quietly(self._connection) as connection:
            by_object: dict[tuple[System, str], list[str]] = {}
            for system, obj, record in records:
                by_object.setdefault((system, obj), []).append(record)
            for (system, obj), ids in by_object.items():
                equal = {"system": system.value, "object": obj}
                found += _select(connection, "record_id", ids, equal)
            found += _select(connection, "email", list(emails))
            found += _select(connection, "lead_id", list(leads))
        for key in records:
            self._by_record[key] = {}
        for email in emails:
            self._by_email[email] = {}
        for lead in leads:
            self._by_lead[lead] = {}
        for link in found:
            self._remember(link, None)

    def flush(self) -> None:
        """Send the buffered links and re-lined items: one executemany each."""
        if not self._rows and not self._relined:
            return
        rows, relined = list(self._rows.values()), self._relined
        self._rows, self._relined = {}, {}
        with quietly(self._connection) as connection:
            upsert_many(connection, links, rows, ("system", "object", "record_id", "lead_id"))
            # Most records linked have nothing left waiting (a first sync links each record
            # as its only item is decided): ask which do before updating any.
            relined = self._inbox.pending_among(relined)
            if relined:
                execute_many(
                    connection,
                    _RELINED,
                    [
                        {"s": system.value, "o": obj, "r": record, "lead": lead}
                        for (system, obj, record), lead in relined.items()
                    ],
                )

    def forget(self) -> None:
        """Drop what was remembered (another statement changed the table); flush first."""
        self._by_record.clear()
        self._by_lead.clear()
        self._by_email.clear()

    def _record(self, key: _RecordKey) -> dict[str, Link]:
        if key not in self._by_record:
            self.prefetch(records=[key])
        return self._by_record[key]

    def _remember(self, new: Link, old: Link | None) -> None:
        """Put `new` (replacing `old`, the same record and lead) into every cached answer
        it belongs to."""
        key = (new.system, new.object, new.record_id)
        both = (key, new.lead_id)
        if key in self._by_record:
            self._by_record[key][new.lead_id] = new
        if new.lead_id in self._by_lead:
            self._by_lead[new.lead_id][key] = new
        if old is not None and old.email and old.email != new.email:
            self._by_email.get(old.email, {}).pop(both, None)
        if new.email and new.email in self._by_email:
            self._by_email[new.email][both] = new

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


def _by_key(item: tuple[Any, Link]) -> tuple[str, str, str, str]:
    link = item[1]
    # System is a StrEnum: it sorts as its text, without the enum's `.value` descriptor.
    return (link.system, link.object, link.record_id, link.lead_id)


_COLUMNS = ("lead_id", "system", "object", "record_id", "email", "role")  # Link's order


def _select(
    connection: sa.Connection, key: str, values: Sequence[str], equal: dict[str, str] | None = None
) -> list[Link]:
    return [
        Link(lead, codec.system_of(system), obj, record, email, role)
        for lead, system, obj, record, email, role in select_in(
            connection, links, _COLUMNS, key, sorted(values), equal
        )
    ]
