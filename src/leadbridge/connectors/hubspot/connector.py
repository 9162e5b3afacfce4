"""HubSpotConnector: contacts through hubspot-api-client, behind the Connector protocol.

The sync loop sees `Change`s, `Removal`s, cursors and one `WriteResult` per
write; paging, search's quirks, batching, retries and the budget stay in
here (reads in .reads, writes in .writes, every call through .transport).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from leadbridge.connectors.base import Cursor, FieldSchema, Health, ObjectSchema, Page, WriteResult
from leadbridge.connectors.hubspot import properties, reads, scopes
from leadbridge.connectors.hubspot import writes as writes_
from leadbridge.connectors.hubspot.settings import HubSpotSettings
from leadbridge.connectors.hubspot.transport import Stats, Transport
from leadbridge.model import Change, RecordWrite, System

_OBJECT = reads.OBJECT
_UNHEALTHY_AFTER = 3  # calls in a row that failed for good before health says so


class HubSpotConnector:
    """Contacts of one HubSpot portal. Not thread-safe: one sync loop drives it."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._transport = Transport(settings, sleep=sleep, monotonic=monotonic)
        self._clock = clock
        self._names = settings.read_properties
        self._tolerance = timedelta(seconds=settings.lag_tolerance)

    @property
    def system(self) -> System:
        return System.HUBSPOT

    @property
    def stats(self) -> Stats:
        """Requests sent and requests that succeeded, by kind (search, list, read, update...)."""
        return self._transport.stats

    @property
    def requests(self) -> Counter[str]:
        """Requests sent over the wire so far, by kind, every try counted (a copy)."""
        return Counter(self._transport.stats.requests)

    def changes(self, object: str, cursor: Cursor | None, *, now: datetime) -> Iterator[Page]:
        """Contacts modified since the cursor, page by page, each with the cursor to save;
        a backfill through the list endpoint when there is no cursor yet."""
        _only_contacts(object)
        if cursor is None:
            return reads.backfill(self._transport, self._names, now, self._tolerance)
        return reads.incremental(self._transport, self._names, cursor, now, self._tolerance)

    def modified_since(
        self, object: str, since: datetime | None, *, now: datetime
    ) -> Iterator[Page]:
        """Contacts modified at or after `since`, through the list endpoint, which does not
        wait for search's index (sync.reconcile); the last page carries the next `since`."""
        _only_contacts(object)
        return reads.modified_since(self._transport, self._names, since, now, self._tolerance)

    def read(self, object: str, ids: Sequence[str]) -> list[Change]:
        """The current state of these contacts (a merged id answers with the survivor)."""
        return list(self.fetch(object, ids).changes)

    def fetch(self, object: str, ids: Sequence[str]) -> Page:
        """Like `read`, and also what became of the ids that are gone: merged (into which
        record), archived (when), or deleted for good. The page carries no cursor."""
        _only_contacts(object)
        return reads.fetch(self._transport, self._names, ids, self._clock)

    def apply(self, writes: Sequence[RecordWrite]) -> list[WriteResult]:
        """Updates by id and creates by upsert on email, 100 a call, steps in order, multi-step
        writes verified by reading back; one result per write. Raises ApplyPaused (a
        BudgetPaused) with the settled results when the daily budget runs out part-way."""
        return writes_.apply(self._transport, writes)

    def ensure_properties(self, wanted: Mapping[str, str]) -> list[str]:
        """Create leadbridge's own contact properties (name -> label) where missing."""
        return properties.ensure(self._transport, wanted)

    def token_info(self) -> scopes.TokenInfo:
        """The private app's granted scopes, from HubSpot's token introspection (one call)."""
        return scopes.introspect(self._transport)

    def describe(self, object: str) -> ObjectSchema:
        _only_contacts(object)
        transport = self._transport
        invoke = partial(transport.properties.get_all, "contacts", archived=False)
        answer = transport.call("describe", invoke)
        fields = {}
        for raw in (answer.body or {}).get("results") or ():
            schema = _field(raw)
            fields[schema.name] = schema
        return ObjectSchema(System.HUBSPOT, _OBJECT, fields)

    def health(self) -> Health:
        """From what the last calls said; it makes no call of its own."""
        transport = self._transport
        state = transport.governor.state()
        if state.paused:
            # The governor's reason says which limit: leadbridge's own cap or the portal's floor.
            detail = f"paused: {state.reason}; resumes when the day's allocation resets"
            return Health(False, detail, state, paused=True)
        failure = transport.last_failure
        if failure is not None and (
            transport.failing >= _UNHEALTHY_AFTER or failure.status in (401, 403)
        ):
            return Health(False, f"failing: {failure}", state)
        sent = transport.stats.requests.total()
        return Health(True, f"ok: {sent} requests sent", state)


def _only_contacts(object: str) -> None:
    if object != _OBJECT:
        raise ValueError(f"the HubSpot connector reads {_OBJECT!r} objects, not {object!r}")


def _field(raw: dict[str, Any]) -> FieldSchema:
    kind = str(raw.get("type") or "string")
    meta = raw.get("modificationMetadata") or {}
    options = tuple(
        str(option["value"])
        for option in raw.get("options") or ()
        if isinstance(option, dict) and "value" in option and not option.get("hidden")
    )
    return FieldSchema(
        name=str(raw["name"]),
        type=kind,
        label=str(raw.get("label") or ""),
        options=options,
        # HubSpot refuses an enumeration value outside its options (VALIDATION_ERROR).
        restricted=kind == "enumeration" and not raw.get("externalOptions"),
        writable=not (meta.get("readOnlyValue") or raw.get("calculated")),
    )
