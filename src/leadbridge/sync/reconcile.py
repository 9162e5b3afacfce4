"""Reconciliation: the changes a poll's cursor missed, read through a listing that needs no index.

A HubSpot poll trusts search to show a change within its lag tolerance. An index that lags
longer (HubSpot's does, past a minute, during incidents) shows the change only once the
cursor has moved past its stamp, and the poll never delivers it. So now and then
(`reconcile.every` in the connection file, nightly by default) a connector that can list
records by modification date without that index (connectors.base.Reconciles) is asked
for everything modified since the last reconciliation, and all of it goes to the inbox.
The inbox keeps one item per (system, record, stamp): what the polls delivered adds
nothing, and what is new is exactly what they missed. That is what gets counted.

Each object's watermark is a cursor of its own ("reconcile:contact"), saved in the
transaction that enqueues the listing's last page; a reconciliation cut short (a crash,
a spent budget) starts again from the same watermark.

Salesforce has no reconciliation: its poll's SOQL on SystemModstamp reads the records,
not a search index, and its lag tolerance covers commits in flight, so a listing there would
read what the poll reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from leadbridge.connectors.base import Cursor, Reconciles
from leadbridge.connectors.budget import BudgetPaused
from leadbridge.model import System
from leadbridge.sync.pipeline import Pipeline, Summary, objects_to_poll, without_echoes

_RECONCILE = "reconcile"


@dataclass(frozen=True)
class Reconciled:
    system: System
    read: int = 0  # changes and removals listed since the watermark
    new: int = 0  # of them, the ones the inbox did not hold yet: what the polls missed
    echoes: int = 0  # of them, our own writes coming back (dropped, as a poll drops them)
    paused: str | None = None  # why it stopped early (a spent API budget): resumed when due


def _watermark(obj: str) -> str:
    """The name the reconciliation's cursor of `obj` is saved under (beside the poll's)."""
    return f"{_RECONCILE}:{obj}"


def can_reconcile(pipeline: Pipeline, system: System) -> bool:
    return isinstance(pipeline.connectors.get(system), Reconciles)


def reconcile(
    pipeline: Pipeline, system: System, *, every: float | None = None
) -> Reconciled | None:
    """List what changed in `system` since its last reconciliation into the inbox.

    With `every` (seconds), only the objects whose last reconciliation is at least that
    old (or that never had one: then every record is listed). None when the connector
    cannot reconcile or nothing was due. A spent budget stops it (`paused`) with the
    watermark of the object under way where it was: the next one lists it again.
    """
    connector = pipeline.connectors.get(system)
    if not isinstance(connector, Reconciles):
        return None
    now = pipeline.clock()
    with pipeline.store.transaction() as uow:
        marks = {
            obj: uow.cursors.get(system, _watermark(obj), Cursor.from_json)
            for found, obj in objects_to_poll(pipeline.funnel)
            if found is system
        }
    due = {obj: mark for obj, mark in marks.items() if _due(mark, every, now)}
    if not due:
        return None
    read = new = 0
    summary = Summary()
    try:
        for obj, mark in due.items():
            since = None if mark is None else mark.since
            for page in connector.modified_since(obj, since, now=now):
                with pipeline.store.transaction() as uow:
                    news = without_echoes(pipeline, uow, system, obj, page.changes, summary)
                    new += uow.inbox.enqueue(news, page.removals)
                    if page.cursor is not None:
                        uow.cursors.save(system, _watermark(obj), page.cursor)
                read += len(page.changes) + len(page.removals)
    except BudgetPaused as paused:
        summary.paused = str(paused)
    return Reconciled(system, read, new, summary.echoes, summary.paused)


def _due(mark: Cursor | None, every: float | None, now: datetime) -> bool:
    if mark is None or every is None:
        return True
    return mark.since + timedelta(seconds=every) <= now
