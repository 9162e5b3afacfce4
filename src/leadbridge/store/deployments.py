"""The funnel each sync ran with, and the queries that apply a changed one to the leads.

Functions over a connection (a UnitOfWork's `.connection`), like history.py: what a changed
funnel asks is a few set-based reads, however many leads there are.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from leadbridge.store import codec
from leadbridge.store._sql import chunks
from leadbridge.store.tables import deployments, journal, leads


@dataclass(frozen=True)
class Deployed:
    fingerprint: str
    rules: Mapping[str, str]  # rule name -> its definition, as text
    at: datetime


@dataclass(frozen=True)
class Entry:
    """How a lead entered the stage it is in: its last journal entry."""

    lead_id: str
    from_stage: str
    to_stage: str
    rule: str


def deployed(connection: sa.Connection) -> Deployed | None:
    """The funnel the last sync ran with; None before the first."""
    row = connection.execute(
        sa.select(deployments).order_by(deployments.c.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return Deployed(row.fingerprint, dict(row.rules), codec.from_iso(row.at))


def record(
    connection: sa.Connection, fingerprint: str, rules: Mapping[str, str], now: datetime
) -> None:
    connection.execute(
        sa.insert(deployments).values(fingerprint=fingerprint, rules=dict(rules), at=codec.iso(now))
    )


def stage_counts(connection: sa.Connection) -> dict[str, int]:
    """How many live leads (not folded into another) each stage holds."""
    statement = (
        sa.select(leads.c.stage, sa.func.count())
        .where(leads.c.merged_into.is_(None))
        .group_by(leads.c.stage)
    )
    return {stage: int(count) for stage, count in connection.execute(statement)}


def leads_in(
    connection: sa.Connection, stages: Collection[str], *, after: str = "", limit: int = 1000
) -> list[str]:
    """Ids of live leads in these stages, in id order from `after` (a page at a time)."""
    if not stages:
        return []
    statement = (
        sa.select(leads.c.id)
        .where(leads.c.stage.in_(sorted(stages)))
        .where(leads.c.merged_into.is_(None))
        .where(leads.c.id > after)
        .order_by(leads.c.id)
        .limit(limit)
    )
    return [row.id for row in connection.execute(statement)]


def entries(connection: sa.Connection, lead_ids: Sequence[str]) -> dict[str, Entry]:
    """Each lead's last journal entry (the move into the stage it is in), by lead id."""
    found: dict[str, Entry] = {}
    for part in chunks(list(lead_ids)):
        last = (
            sa.select(sa.func.max(journal.c.id).label("id"))
            .where(journal.c.lead_id.in_(part))
            .group_by(journal.c.lead_id)
        ).subquery()
        statement = sa.select(
            journal.c.lead_id, journal.c.from_stage, journal.c.to_stage, journal.c.rule
        ).join(last, journal.c.id == last.c.id)
        for row in connection.execute(statement):
            found[row.lead_id] = Entry(row.lead_id, row.from_stage, row.to_stage, row.rule)
    return found
