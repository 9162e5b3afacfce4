"""Reading Salesforce: incremental windows on SystemModstamp, deletions, reads by id or value.

A window is `SystemModstamp >= cursor.since AND SystemModstamp <= now`, ordered by
(SystemModstamp, Id) and paged through nextRecordsUrl. A long transaction commits a
record with a stamp older than records already visible, so the cursor that closes a
window claims no more than `now - lag_tolerance` (the signpost) and the next window
starts there: the tolerance is paid once. The cursor's `recent` pairs (Id,
SystemModstamp) make that stretch, read again, deliver each change once, so a window
with nothing new delivers nothing.

Deletions come from sobjects/X/deleted, asked every `deletions_every` rather than each
poll, from the cursor's `deletions_since`, which trails each check by the same tolerance.

A window is planned before it is asked (`plan`: its query, and its deletions when due),
so the connector can ask several objects' first pages and deletions in one Composite
call (salesforce.composite) and hand each window what came back (`Fetched`).

Bounds are cut to whole seconds, the dateTime form SOQL documents, and the
lower one is inclusive: Salesforce compares datetimes ignoring milliseconds,
so `>` would drop the rest of that second. Cutting the upper bound down only
defers a change to the next window (above its lower bound, not in `recent`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from leadbridge.connectors.base import Cursor, Page, Removal
from leadbridge.connectors.delivered import Delivered
from leadbridge.connectors.errors import RemoteError
from leadbridge.connectors.salesforce.client import SalesforceClient
from leadbridge.connectors.salesforce.soql import chunks_by_length, in_list, select, soql_datetime
from leadbridge.model import Change, System

_log = logging.getLogger(__name__)

_SF = System.SALESFORCE
_ALWAYS = ("Id", "SystemModstamp")
# A converted Lead cannot be written again; these say where it went, so the sync can re-key.
_LEAD_CONVERSION = (
    "IsConverted",
    "ConvertedAccountId",
    "ConvertedContactId",
    "ConvertedOpportunityId",
    "ConvertedDate",
)
_DELETED_MARK = "#deleted"  # a removal's stamp in `recent`, apart from a modification's
_RECYCLE_BIN = timedelta(days=15)  # how far back sobjects/X/deleted answers
# Salesforce refuses request URIs over about 16 KB; the query travels in one (GET ?q=).
_QUERY_URL_BUDGET = 12_000

_Record = dict[str, Any]


@dataclass(frozen=True)
class Timing:
    """The connection file's timing of reads."""

    tolerance: timedelta  # lag_tolerance: how late a change may become visible
    deletions_every: timedelta  # how often sobjects/X/deleted is asked


@dataclass(frozen=True)
class Plan:
    """What one window of one object asks, worked out from its cursor and the time alone."""

    sobject: str
    query: str  # the SOQL of its first page
    upper: datetime  # the window's end: a whole second
    # The deletions due in this window: from the cursor's deletions_since to `upper`.
    deletions: tuple[datetime, datetime] | None


@dataclass(frozen=True)
class Fetched:
    """A plan's answers that came another way (a Composite call): its first query page and
    its deletions. None where that part failed or was not asked: the window asks it itself."""

    plan: Plan
    query: dict[str, Any] | None = None
    deleted: dict[str, Any] | None = None


def fields_for(sobject: str, configured: Sequence[str]) -> list[str]:
    """The SELECT list: the configured fields plus what leadbridge itself needs, once each."""
    extra = _LEAD_CONVERSION if sobject == "Lead" else ()
    seen: set[str] = set()
    out = []
    for name in (*_ALWAYS, *configured, *extra):
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def _parse_stamp(text: str) -> datetime:
    """A REST datetime (2026-01-05T09:00:00.000+0000) as an aware datetime."""
    return datetime.fromisoformat(text.removesuffix(_DELETED_MARK))


def plan(
    sobject: str,
    fields: Sequence[str],
    cursor: Cursor | None,
    now: datetime,
    timing: Timing,
    *,
    deletions: bool,
) -> Plan:
    """The window from the cursor (everything when it is None) to `now`."""
    upper = _second(now)
    lower = _start(cursor, timing)
    where = f"SystemModstamp <= {soql_datetime(upper)}"
    if lower is not None:
        where = f"SystemModstamp >= {soql_datetime(lower)} AND {where}"
    query = select(sobject, fields, where, order_by=("SystemModstamp", "Id"))
    due = _deletions_due(cursor, upper, timing) if deletions else None
    return Plan(sobject, query, upper, due)


def _start(cursor: Cursor | None, timing: Timing) -> datetime | None:
    """Where a window starts: the cursor, or a tolerance before a legacy one's."""
    if cursor is None:
        return None
    return _second(cursor.since - timing.tolerance if cursor.legacy else cursor.since)


def _deletions_from(cursor: Cursor | None, timing: Timing, signpost: datetime) -> datetime:
    """Every deletion before this has been delivered. A backfill reads live records only, so
    after one the deletions that matter start at its signpost."""
    if cursor is None:
        return signpost
    if cursor.deletions_since is not None:
        return cursor.deletions_since
    start = _start(cursor, timing)
    assert start is not None  # a cursor always has a start
    return start


def _deletions_due(
    cursor: Cursor | None, upper: datetime, timing: Timing
) -> tuple[datetime, datetime] | None:
    """[deletions_since, upper] when a check is due: every deletions_every, never in a backfill,
    and only once the resource, which answers whole minutes, has a minute to answer."""
    if cursor is None:
        return None
    since = _deletions_from(cursor, timing, upper)
    checked = cursor.deletions_since is not None
    if checked and upper - (since + timing.tolerance) < timing.deletions_every:
        return None
    if _minute(upper) - _minute(since) < timedelta(minutes=1):
        return None  # a window under a minute is refused; a later, longer one covers it
    return since, upper


def deleted_params(plan: Plan) -> dict[str, str]:
    """The query parameters of sobjects/X/deleted for a plan whose deletions are due. The
    resource works in whole minutes, so the request starts at the minute; what it answers
    before deletions_since is cut off again (`_removals`)."""
    assert plan.deletions is not None
    since, upper = plan.deletions
    start = _minute(since)
    horizon = _minute(upper) - _RECYCLE_BIN + timedelta(minutes=1)
    if start < horizon:
        _log.warning(
            "%s deletions before %s are out of reach (the recycle bin keeps 15 days)",
            plan.sobject,
            horizon.isoformat(),
        )
        start = horizon
    return {"start": _replication_time(start), "end": _replication_time(upper)}


def window(
    client: SalesforceClient,
    sobject: str,
    fields: Sequence[str],
    cursor: Cursor | None,
    now: datetime,
    timing: Timing,
    *,
    deletions: bool,
    fetched: Fetched | None = None,
) -> Iterator[Page]:
    """Changes since the cursor (everything when it is None), one Page per SOQL page; the last
    page also carries the window's deletions (when due) and the cursor that closes the window.
    `fetched` answers what it already holds for this very plan; the rest is asked here."""
    planned = plan(sobject, fields, cursor, now, timing, deletions=deletions)
    if fetched is not None and fetched.plan != planned:
        fetched = None
    signpost = planned.upper - timing.tolerance
    recent = _Recent(cursor)
    # Unchanged until this window checks deletions: a page's cursor must not skip any.
    deletions_since = _deletions_from(cursor, timing, signpost)
    first = fetched.query if fetched is not None else None
    answer = first if first is not None else _query(client, planned.query)
    while True:
        records: list[_Record] = answer.get("records", [])
        changes = []
        for record in records:
            pair = (str(record["Id"]), str(record["SystemModstamp"]))
            if pair in recent.changes:
                continue
            moment = _parse_stamp(pair[1])
            recent.changes.add(pair, moment)
            changes.append(_change(sobject, record, moment))
        next_url = answer.get("nextRecordsUrl")
        if next_url and not answer.get("done", False):
            last = _parse_stamp(str(records[-1]["SystemModstamp"])) if records else signpost
            since = _advance(cursor, min(last, signpost))
            handed = _cursor(since, recent, deletions_since)
            yield Page(tuple(changes), cursor=handed)
            try:
                answer = _more(client, str(next_url))
            except RemoteError as exc:
                if exc.failure.code != "INVALID_QUERY_LOCATOR":
                    raise
                # The locator idled out (15 minutes) while the caller worked on a page: query
                # again from the cursor just handed out; its `recent` stops any repeat.
                yield from window(client, sobject, fields, handed, now, timing, deletions=deletions)
                return
            continue
        removals: list[Removal] = []
        if planned.deletions is not None:
            held = fetched.deleted if fetched is not None else None
            found = held if held is not None else _ask_deleted(client, planned)
            removals, covered = _removals(planned, found, recent)
            # Never behind the last check: what came before it was delivered then.
            deletions_since = max(deletions_since, min(signpost, covered))
        since = _advance(cursor, signpost)
        yield Page(tuple(changes), tuple(removals), _cursor(since, recent, deletions_since))
        return


def find(
    client: SalesforceClient,
    sobject: str,
    fields: Sequence[str],
    field: str,
    values: Sequence[str],
) -> list[Change]:
    """Live records whose `field` equals one of `values` (Id, Email, an external id)."""
    wanted = list(dict.fromkeys(values))
    fixed = select(sobject, fields, f"{field} IN ()")
    out: list[Change] = []
    for chunk in chunks_by_length(wanted, fixed, _QUERY_URL_BUDGET):
        answer = _query(client, select(sobject, fields, in_list(field, chunk)))
        while True:
            for record in answer.get("records", []):
                stamp = _parse_stamp(str(record["SystemModstamp"]))
                out.append(_change(sobject, record, stamp))
            next_url = answer.get("nextRecordsUrl")
            if not next_url or answer.get("done", True):
                break
            answer = _more(client, str(next_url))
    return out


def _query(client: SalesforceClient, query: str) -> Any:
    return client.call(lambda sf: sf.query(query))


def _more(client: SalesforceClient, url: str) -> Any:
    return client.call(lambda sf: sf.query_more(url, identifier_is_url=True))


def _ask_deleted(client: SalesforceClient, plan: Plan) -> Any:
    params = deleted_params(plan)
    path = f"sobjects/{plan.sobject}/deleted/"
    return client.call(lambda sf: sf.restful(path, params=params)) or {}


def _removals(plan: Plan, answer: Any, recent: _Recent) -> tuple[list[Removal], datetime]:
    """The deletions an answer holds that were not delivered yet, and how far it covered."""
    assert plan.deletions is not None
    since, upper = plan.deletions
    earliest = answer.get("earliestDateAvailable")
    if earliest and _parse_stamp(str(earliest)) > _minute(since):
        _log.warning(
            "%s deletions before %s were purged before we read them", plan.sobject, earliest
        )
    covered_text = answer.get("latestDateCovered")
    covered = _parse_stamp(str(covered_text)) if covered_text else _minute(upper)
    out = []
    for item in answer.get("deletedRecords", []):
        pair = (str(item["id"]), str(item["deletedDate"]) + _DELETED_MARK)
        moment = _parse_stamp(pair[1])
        if pair in recent.deletions or not since <= moment <= upper:
            continue
        recent.deletions.add(pair, moment)
        out.append(Removal(_SF, plan.sobject, pair[0], moment))
    return out, covered


def _change(sobject: str, record: _Record, modified_at: datetime) -> Change:
    fields = {key: value for key, value in record.items() if key != "attributes"}
    return Change(_SF, sobject, str(record["Id"]), fields, modified_at)


def _advance(cursor: Cursor | None, since: datetime) -> datetime:
    # A cursor never moves back, even when a page ends inside the lag tolerance.
    return since if cursor is None else max(cursor.since, since)


class _Recent:
    """A window's delivered pairs: changes and deletions, each forgotten from its own bound."""

    def __init__(self, cursor: Cursor | None) -> None:
        self.changes = Delivered[datetime]()
        self.deletions = Delivered[datetime]()
        for pair in cursor.recent if cursor else ():
            part = self.deletions if pair[1].endswith(_DELETED_MARK) else self.changes
            part.add(pair, _parse_stamp(pair[1]))

    def pairs(self) -> frozenset[tuple[str, str]]:
        return self.changes.pairs() | self.deletions.pairs()


def _cursor(since: datetime, recent: _Recent, deletions_since: datetime) -> Cursor:
    """The cursor to save, keeping only the pairs the next window can return again: changes
    from its start on, deletions from `deletions_since` on.

    Pairs dropped from the cursor are dropped from `recent` too: this window's remaining
    pages are sorted later than `since`.
    """
    recent.changes.drop_before(_second(since))
    recent.deletions.drop_before(deletions_since)
    return Cursor(since, recent.pairs(), deletions_since)


def _second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _replication_time(moment: datetime) -> str:
    # The form simple-salesforce's own SFType.deleted() sends.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
