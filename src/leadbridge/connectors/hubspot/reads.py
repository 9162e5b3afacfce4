"""Reading contacts: changes since a cursor (search), a backfill and a reconciliation (the
list), and by id (batch read).

Incremental reads page through search by keyset, not by `after`: each query
asks for stamps after the last one read (plus the ids already read at that
very stamp), sorted ascending by lastmodifieddate. So no query ever reaches
search's 10,000-result cap, however many changes a window holds, and a
record modified while the read is under way cannot shift an offset and make
the next page skip a neighbour. When more records share one millisecond than
a NOT_IN filter can list, that stamp is drained by hs_object_id ranges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from leadbridge.connectors.base import Cursor, Page, Removal
from leadbridge.connectors.delivered import Delivered
from leadbridge.connectors.hubspot.transport import Transport
from leadbridge.model import Change, System

_HS = System.HUBSPOT
OBJECT = "contact"
_SEARCH_PAGE = 200  # search's maximum
_LIST_PAGE = 100  # the list endpoint's maximum
BATCH = 100  # batch endpoints' maximum
_NOT_IN_MAX = 100  # values one IN / NOT_IN filter may carry
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def _millis(moment: datetime) -> int:
    # Integer arithmetic: timestamp() * 1000 rounds .123 down to .122 now and then.
    return (moment - _EPOCH) // _MS


def _from_millis(ms: int) -> datetime:
    return _EPOCH + ms * _MS


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class _Contact:
    """One contact of an answer, parsed once: the Change, its stamp, and its merge trail."""

    __slots__ = ("change", "merged", "ms", "stamp")

    def __init__(self, raw: dict[str, Any]) -> None:
        props: dict[str, Any] = raw.get("properties") or {}
        self.stamp = str(props.get("lastmodifieddate") or raw["updatedAt"])
        moment = _parse_time(self.stamp)
        self.ms = _millis(moment)
        self.change = Change(_HS, OBJECT, str(raw["id"]), props, moment)
        trail = props.get("hs_merged_object_ids")
        self.merged = tuple(part for part in trail.split(";") if part) if trail else ()

    @property
    def id(self) -> str:
        return self.change.id

    def removals(self) -> list[Removal]:
        """The ids merged into this record. HubSpot keeps the trail on the survivor for good,
        so a later change to it reports them again: a Removal is a fact, safe to repeat."""
        at = self.change.modified_at
        return [Removal(_HS, OBJECT, old, at, merged_into=self.id) for old in self.merged]


def incremental(
    transport: Transport,
    names: Sequence[str],
    cursor: Cursor,
    now: datetime,
    tolerance: timedelta,
) -> Iterator[Page]:
    """Changes in [cursor.since, now], once per (id, lastmodifieddate).

    Each page carries a cursor to save with it. Search may surface a change up
    to `tolerance` late, so a cursor never claims more than `now - tolerance`
    (the signpost), and the next read starts there: the tolerance is paid once.
    The pairs already delivered from that point on ride along in `recent`, so
    reading them again delivers nothing (an idle poll: one search, no change).
    """
    signpost = max(cursor.since, now - tolerance)
    until = _millis(now)
    start = cursor.since - tolerance if cursor.legacy else cursor.since
    # Keyset queries ask for stamps after `position`: one millisecond before the start.
    position = max(_millis(start), 0) - 1
    seen: set[str] = set()  # ids read at exactly `position`
    drain_after: int | None = None  # reading `position` by id ranges, after this id
    delivered = Delivered[int]()
    for pair in cursor.recent:
        delivered.add(pair, _millis(_parse_time(pair[1])))
    while True:
        body = _search_body(names, position, until, seen, drain_after)
        found, more = _search(transport, body)
        changes, removals = _undelivered(found, delivered)
        position, seen, drain_after = _advance(found, position, seen, drain_after)
        drain_after, seen, more = _next_mode(drain_after, seen, more)
        done = not more
        since = signpost if done else max(cursor.since, min(_from_millis(position), signpost))
        delivered.drop_before(_millis(since))
        yield Page(tuple(changes), tuple(removals), Cursor(since, delivered.pairs()))
        if done:
            return


def _search(transport: Transport, body: dict[str, Any]) -> tuple[list[_Contact], bool]:
    """One search page: its contacts, and whether search says more follow."""
    answer = transport.call("search", partial(transport.search.do_search, body), search=True)
    found = [_Contact(raw) for raw in (answer.body or {}).get("results") or ()]
    more = bool(found) and bool((answer.body or {}).get("paging"))
    return found, more


def _undelivered(
    found: list[_Contact], delivered: Delivered[int]
) -> tuple[list[Change], list[Removal]]:
    """What of `found` was not delivered before; it is entered in `delivered` as it goes,
    so a pair met twice (the tolerance read again, a page read again) is delivered once."""
    changes: list[Change] = []
    removals: list[Removal] = []
    for contact in found:
        pair = (contact.id, contact.stamp)
        if pair not in delivered:
            delivered.add(pair, contact.ms)
            changes.append(contact.change)
            removals.extend(contact.removals())
    return changes, removals


def _advance(
    found: list[_Contact], position: int, seen: set[str], drain_after: int | None
) -> tuple[int, set[str], int | None]:
    """The keyset after reading `found`: the last id when draining a stamp (sorted by id),
    else the newest stamp and the ids read at exactly it (sorted by stamp)."""
    for contact in found:
        if drain_after is not None:
            drain_after = int(contact.id)
        elif contact.ms > position:
            position, seen = contact.ms, {contact.id}
        else:
            seen.add(contact.id)
    return position, seen, drain_after


def _next_mode(
    drain_after: int | None, seen: set[str], more: bool
) -> tuple[int | None, set[str], bool]:
    """Switches between reading by stamp and draining one stamp by id ranges."""
    if drain_after is not None and not more:
        # The crowded stamp is read to its end; carry on after it.
        return None, set(), True
    if drain_after is None and more and len(seen) > _NOT_IN_MAX:
        # More ids share `position` than a NOT_IN filter can list.
        return 0, seen, more
    return drain_after, seen, more


def backfill(
    transport: Transport, names: Sequence[str], now: datetime, tolerance: timedelta
) -> Iterator[Page]:
    """Every live contact through the list endpoint, in id order, 100 a page.

    Only the last page carries a cursor: ids are no measure of time, so a
    backfill cut short starts again. That cursor is the backfill's start minus
    the tolerance; anything changed since is read again by the next poll
    (and the pairs this backfill already delivered there are in `recent`).
    """
    since = now - tolerance
    bound = _millis(since)
    recent = Delivered[int]()
    for found, last in _list(transport, names):
        for contact in found:
            if contact.ms >= bound:
                recent.add((contact.id, contact.stamp), contact.ms)
        changes = tuple(c.change for c in found)
        removals = tuple(r for c in found for r in c.removals())
        yield Page(changes, removals, Cursor(since, recent.pairs()) if last else None)


def modified_since(
    transport: Transport,
    names: Sequence[str],
    since: datetime | None,
    now: datetime,
    tolerance: timedelta,
) -> Iterator[Page]:
    """Contacts whose lastmodifieddate is at or after `since` (every one when None), read
    through the list endpoint: it answers from the records, not from the search index, so
    a change search has yet to show (or showed too late for the cursor) is here.

    The list cannot filter, so this pages through every live contact, 100 a call, and keeps
    what is recent enough. Only the last page carries a cursor (ids are no measure of time):
    `now - tolerance`, so a change made while the pages were read is read again next time.
    """
    bound = None if since is None else _millis(since)
    for found, last in _list(transport, names):
        kept = [c for c in found if bound is None or c.ms >= bound]
        changes = tuple(c.change for c in kept)
        removals = tuple(r for c in kept for r in c.removals())
        yield Page(changes, removals, Cursor(now - tolerance) if last else None)


def _list(transport: Transport, names: Sequence[str]) -> Iterator[tuple[list[_Contact], bool]]:
    """Every live contact through the list endpoint, in id order, a page at a time, each
    with whether it is the last."""
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": _LIST_PAGE, "properties": list(names), "archived": False}
        if after is not None:
            params["after"] = after
        answer = transport.call("list", partial(transport.basic.get_page, **params))
        body = answer.body or {}
        found = [_Contact(raw) for raw in body.get("results") or ()]
        after = ((body.get("paging") or {}).get("next") or {}).get("after")
        last = not (after and found)
        yield found, last
        if last:
            return


def fetch(
    transport: Transport,
    names: Sequence[str],
    ids: Sequence[str],
    clock: Callable[[], datetime],
) -> Page:
    """The current state of these contacts, and what became of the ones that are gone.

    A merged-away id answers with the record it was merged into (a Change
    under the new id, and a Removal naming it); an archived one is confirmed
    by reading the archive (a Removal at its archivedAt); an id known to
    neither is reported removed as of now (deleted for good, e.g. by GDPR).
    """
    wanted = list(dict.fromkeys(str(i) for i in ids))
    changes: dict[str, Change] = {}
    removals: list[Removal] = []
    missing: list[str] = []
    for chunk in _chunks(wanted, BATCH):
        asked = set(chunk)
        found: set[str] = set()
        for contact in _batch_read(transport, names, chunk, archived=False):
            changes.setdefault(contact.id, contact.change)
            found.add(contact.id)
            for old in contact.merged:
                if old in asked and old != contact.id:
                    found.add(old)
                    removals.append(
                        Removal(_HS, OBJECT, old, contact.change.modified_at, contact.id)
                    )
        missing.extend(i for i in chunk if i not in found)
    archived: set[str] = set()
    for chunk in _chunks(missing, BATCH):
        for raw in _batch_read_raw(transport, names, chunk, archived=True):
            at = raw.get("archivedAt") or raw.get("updatedAt")
            moment = _parse_time(str(at)) if at else clock()
            removals.append(Removal(_HS, OBJECT, str(raw["id"]), moment))
            archived.add(str(raw["id"]))
    now = clock()
    removals.extend(Removal(_HS, OBJECT, i, now) for i in missing if i not in archived)
    return Page(tuple(changes.values()), tuple(removals))


def read_values(
    transport: Transport, names: Sequence[str], ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """id -> properties, for verifying writes (ids that are gone are left out)."""
    values: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(list(dict.fromkeys(ids)), BATCH):
        for raw in _batch_read_raw(transport, names, chunk, archived=False, kind="verify"):
            values[str(raw["id"])] = raw.get("properties") or {}
    return values


def _batch_read(
    transport: Transport, names: Sequence[str], ids: list[str], *, archived: bool
) -> list[_Contact]:
    return [_Contact(raw) for raw in _batch_read_raw(transport, names, ids, archived=archived)]


def _batch_read_raw(
    transport: Transport,
    names: Sequence[str],
    ids: list[str],
    *,
    archived: bool,
    kind: str = "read",
) -> list[dict[str, Any]]:
    body = {"inputs": [{"id": i} for i in ids], "properties": list(names)}
    invoke = partial(transport.batch.read, body, archived=archived)
    answer = transport.call("archived_read" if archived else kind, invoke)
    results: list[dict[str, Any]] = (answer.body or {}).get("results") or []
    return results


def _search_body(
    names: Sequence[str], position: int, until: int, seen: set[str], drain_after: int | None
) -> dict[str, Any]:
    """The next keyset query: after `position` up to `until` (and the ids at `position` not
    yet `seen`), by stamp; or, draining a crowded stamp, its ids after `drain_after`."""
    if drain_after is not None:
        groups = [[_f("lastmodifieddate", "EQ", position), _f("hs_object_id", "GT", drain_after)]]
        sort = "hs_object_id"
    else:
        groups = [[_f("lastmodifieddate", "GT", position), _f("lastmodifieddate", "LTE", until)]]
        if seen:
            at_position = _f("lastmodifieddate", "EQ", position)
            groups.insert(0, [at_position, _not_in("hs_object_id", seen)])
        sort = "lastmodifieddate"
    return {
        "filterGroups": [{"filters": group} for group in groups],
        "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
        "properties": list(names),
        "limit": _SEARCH_PAGE,
    }


def _f(name: str, operator: str, value: int) -> dict[str, Any]:
    return {"propertyName": name, "operator": operator, "value": str(value)}


def _not_in(name: str, ids: set[str]) -> dict[str, Any]:
    return {"propertyName": name, "operator": "NOT_IN", "values": sorted(ids, key=int)}


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
