"""Read-only queries over the journal and the leads, for the funnel report.

Each function takes a connection (a UnitOfWork's `.connection`, best from
`Store.reading()`) and runs one or two statements, however many leads there
are: the report reads everything it needs up front, then computes offline.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from leadbridge.model import Identity, Lead, System
from leadbridge.store import codec
from leadbridge.store.links import NOT_IDENTITY
from leadbridge.store.records import JournalEntry, journal_entry
from leadbridge.store.tables import journal, leads, links


def journal_since(connection: sa.Connection, since: datetime | None = None) -> list[JournalEntry]:
    """Every entry at or after `since` (all of them when None), oldest first."""
    statement = sa.select(journal).order_by(journal.c.at, journal.c.id)
    if since is not None:
        statement = statement.where(journal.c.at >= codec.iso(since))
    return [journal_entry(row) for row in connection.execute(statement).mappings()]


def stories_since(connection: sa.Connection, since: datetime | None = None) -> list[JournalEntry]:
    """The whole journal of every lead with an entry at or after `since`, oldest first.

    Whole, not only from `since` on: a stay that ends in the period began
    before it, and the report measures it from its start.
    """
    if since is None:
        return journal_since(connection)
    moved = sa.select(journal.c.lead_id).where(journal.c.at >= codec.iso(since)).distinct()
    statement = (
        sa.select(journal).where(journal.c.lead_id.in_(moved)).order_by(journal.c.at, journal.c.id)
    )
    return [journal_entry(row) for row in connection.execute(statement).mappings()]


def live_leads(connection: sa.Connection) -> list[Lead]:
    """Every lead not folded into another, with its identity, ordered by id."""
    statement = sa.select(leads).where(leads.c.merged_into.is_(None)).order_by(leads.c.id)
    rows = list(connection.execute(statement).mappings())
    identities = _identities(connection)
    return [
        Lead(identity=identities.get(row["id"], Identity()), **codec.lead_fields(row))
        for row in rows
    ]


def _identities(connection: sa.Connection) -> dict[str, Identity]:
    """Each lead's person records in one pass; the same record wins as in Links.identity."""
    found: dict[str, dict[str, str]] = defaultdict(dict)
    statement = (
        sa.select(links.c.lead_id, links.c.system, links.c.object, links.c.record_id)
        .where(links.c.role.not_in(sorted(NOT_IDENTITY)))
        .order_by(links.c.lead_id, links.c.system, links.c.object, links.c.record_id)
    )
    for lead_id, system, obj, record_id in connection.execute(statement):
        if system == System.HUBSPOT.value and obj == "contact":
            found[lead_id]["hubspot"] = record_id
        elif system == System.SALESFORCE.value and obj == "Lead":
            found[lead_id]["salesforce_lead"] = record_id
        elif system == System.SALESFORCE.value and obj == "Contact":
            found[lead_id]["salesforce_contact"] = record_id
    return {lead_id: Identity(**ids) for lead_id, ids in found.items()}
