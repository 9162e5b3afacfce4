"""Reading Salesforce: incremental windows on SystemModstamp, deletions, reads by id or value.

A window is `SystemModstamp >= since - look_back AND SystemModstamp <= now`,
ordered by (SystemModstamp, Id) and paged through nextRecordsUrl. The
look-back re-reads the last stretch because a long transaction commits a
record with a stamp older than records already visible; the cursor's
`recent` pairs (Id, SystemModstamp) make that re-read deliver each change
once. `since` never runs ahead of `now - look_back` (the signpost), so a
change that becomes visible late still falls inside the next window.

Bounds are cut to whole seconds, the dateTime form SOQL documents, and the
lower one is inclusive: Salesforce compares datetimes ignoring milliseconds,
so `>` would drop the rest of that second. Cutting the upper bound down only
defers a change to the next window (above its lower bound, not in `recent`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from leadbridge.connectors.base import Cursor, Page, Removal
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


def window(
    client: SalesforceClient,
    sobject: str,
    fields: Sequence[str],
    cursor: Cursor | None,
    now: datetime,
    *,
    look_back: timedelta,
    deletions: bool,
    deletions_from: datetime | None = None,
) -> Iterator[Page]:
    """Changes since the cursor (everything when it is None), one Page per SOQL page; the last
    page also carries the window's deletions and the cursor that closes the window."""
    upper = _second(now)
    signpost = upper - look_back
    recent = {pair: _parse_stamp(pair[1]) for pair in cursor.recent} if cursor else {}
    lower = _second(cursor.since - look_back) if cursor else None
    deletions_from = deletions_from or lower
    where = f"SystemModstamp <= {soql_datetime(upper)}"
    if lower is not None:
        where = f"SystemModstamp >= {soql_datetime(lower)} AND {where}"
    query = select(sobject, fields, where, order_by=("SystemModstamp", "Id"))
    answer = _query(client, query)
    while True:
        records: list[_Record] = answer.get("records", [])
        changes = []
        for record in records:
            pair = (str(record["Id"]), str(record["SystemModstamp"]))
            if pair in recent:
                continue
            moment = _parse_stamp(pair[1])
            recent[pair] = moment
            changes.append(_change(sobject, record, moment))
        next_url = answer.get("nextRecordsUrl")
        if next_url and not answer.get("done", False):
            last = _parse_stamp(str(records[-1]["SystemModstamp"])) if records else signpost
            since = _advance(cursor, min(last, signpost))
            handed = _cursor(since, recent, look_back)
            yield Page(tuple(changes), cursor=handed)
            try:
                answer = _more(client, str(next_url))
            except RemoteError as exc:
                if exc.failure.code != "INVALID_QUERY_LOCATOR":
                    raise
                # The locator idled out (15 minutes) while the caller worked on a page: query
                # again from the cursor just handed out; its `recent` stops any repeat.
                yield from window(
                    client,
                    sobject,
                    fields,
                    handed,
                    now,
                    look_back=look_back,
                    deletions=deletions and deletions_from is not None,
                    deletions_from=deletions_from,
                )
                return
            continue
        removals: list[Removal] = []
        if deletions_from is not None and deletions:
            removals = _deleted(client, sobject, deletions_from, upper, recent)
        since = _advance(cursor, signpost)
        yield Page(tuple(changes), tuple(removals), _cursor(since, recent, look_back))
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


def _deleted(
    client: SalesforceClient,
    sobject: str,
    lower: datetime,
    upper: datetime,
    recent: dict[tuple[str, str], datetime],
) -> list[Removal]:
    """Deletions in [lower, upper] not delivered yet. The resource works in whole minutes, so
    the request starts at lower's minute and the answer is cut back to the window."""
    start = _minute(lower)
    horizon = _minute(upper) - _RECYCLE_BIN + timedelta(minutes=1)
    if start < horizon:
        _log.warning(
            "%s deletions before %s are out of reach (the recycle bin keeps 15 days)",
            sobject,
            horizon.isoformat(),
        )
        start = horizon
    if _minute(upper) - start < timedelta(minutes=1):
        return []  # a window under a minute is refused; the next, longer one covers it
    params = {"start": _replication_time(start), "end": _replication_time(upper)}
    answer = client.call(lambda sf: sf.restful(f"sobjects/{sobject}/deleted/", params=params)) or {}
    earliest = answer.get("earliestDateAvailable")
    if earliest and _parse_stamp(str(earliest)) > start:
        _log.warning("%s deletions before %s were purged before we read them", sobject, earliest)
    out = []
    for item in answer.get("deletedRecords", []):
        pair = (str(item["id"]), str(item["deletedDate"]) + _DELETED_MARK)
        moment = _parse_stamp(pair[1])
        if pair in recent or not lower <= moment <= upper:
            continue
        recent[pair] = moment
        out.append(Removal(_SF, sobject, pair[0], moment))
    return out


def _change(sobject: str, record: _Record, modified_at: datetime) -> Change:
    fields = {key: value for key, value in record.items() if key != "attributes"}
    return Change(_SF, sobject, str(record["Id"]), fields, modified_at)


def _advance(cursor: Cursor | None, since: datetime) -> datetime:
    # A cursor never moves back, even when a page ends inside the re-read look-back.
    return since if cursor is None else max(cursor.since, since)


def _cursor(
    since: datetime, recent: dict[tuple[str, str], datetime], look_back: timedelta
) -> Cursor:
    """The cursor to save, keeping only the pairs the next window can return again.

    Pairs below the next window's lower bound are dropped from `recent` in
    place too: this window's remaining pages are sorted later than `since`.
    """
    next_lower = _second(since - look_back)
    for pair in [p for p, moment in recent.items() if moment < next_lower]:
        del recent[pair]
    return Cursor(since, frozenset(recent))


def _second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _replication_time(moment: datetime) -> str:
    # The form simple-salesforce's own SFType.deleted() sends.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
