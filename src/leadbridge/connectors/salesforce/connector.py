"""The Salesforce connector: base.Connector for Lead, Contact, Account, Opportunity and
OpportunityContactRole, on simple-salesforce.

    settings = load_salesforce_settings(Path("connectors/salesforce.yaml"))
    with SalesforceConnector(settings) as salesforce:
        for page in salesforce.changes("Lead", cursor, now=now):
            store(page.changes, page.removals, page.cursor)   # in one transaction
        results = salesforce.apply(writes)

Transport, login, paging, retries and the API budget stay inside; the sync
sees Changes, Removals, WriteResults, a schema and a health line. The work
is split by job: .auth (session, token), .client (one
governed, retried call), .reads, .composite, .writes, .soql.

A poll reads each object in turn, but the org counts calls: the first object's read
asks, in one Composite call, the first page of every object this connector read last
time (from the cursor it handed out, or the one the sync said it saved: `expect`) and
the deletions due. Each object's read then
takes its answer, if its cursor is still the one it was asked for, so a poll with
nothing new costs one call however many objects it reads.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from leadbridge.connectors.base import (
    Cursor,
    FieldSchema,
    Health,
    ObjectSchema,
    Page,
    WriteResult,
)
from leadbridge.connectors.budget import Governor
from leadbridge.connectors.errors import RemoteError
from leadbridge.connectors.salesforce import composite
from leadbridge.connectors.salesforce import reads as salesforce_reads
from leadbridge.connectors.salesforce import writes as salesforce_writes
from leadbridge.connectors.salesforce.auth import LoginRefused
from leadbridge.connectors.salesforce.client import CallStats, RetryTuning, SalesforceClient
from leadbridge.connectors.salesforce.settings import ObjectSettings, SalesforceSettings
from leadbridge.connectors.salesforce.soql import identifier
from leadbridge.connectors.salesforce.writes import ApplyPaused
from leadbridge.model import Change, RecordWrite, System

__all__ = ["ApplyPaused", "LoginRefused", "RetryTuning", "SalesforceConnector"]

_log = logging.getLogger(__name__)


def governor_for(settings: SalesforceSettings) -> Governor:
    """The budget as configured. Salesforce has no per-10-second request window (only a daily
    allocation and a concurrency cap the retry policy absorbs), so it paces by the day alone:
    leadbridge's own calls against its cap, the org's remaining calls against the floor."""
    budget = settings.budget
    # daily_share (older files) is a share of the org's allocation for leadbridge's own calls.
    own_share = budget.daily_share if budget.max_own_calls_per_day is None else None
    return Governor(
        window_limit=None,
        daily_limit=budget.daily_limit,
        own_daily_cap=budget.max_own_calls_per_day,
        own_daily_share=own_share,
        org_floor=budget.min_org_calls_left,
    )


class SalesforceConnector:
    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        governor: Governor | None = None,
        tuning: RetryTuning | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` (epoch seconds) dates JWT bearer assertions: the org's clock in a test."""
        self.settings = settings
        self.governor = governor or governor_for(settings)
        self.client = SalesforceClient(settings, self.governor, tuning or RetryTuning(), clock)
        self._healthy: bool | None = None
        self._timing = salesforce_reads.Timing(settings.lag_tolerance, settings.deletions_every)
        # The cursor each object's last read handed out: what its next read most likely is.
        self._handed: dict[str, Cursor | None] = {}
        # One poll's answers from its Composite call, by object; the poll is its `now`.
        self._fetched: dict[str, salesforce_reads.Fetched] = {}
        self._fetched_for: datetime | None = None

    @property
    def system(self) -> System:
        return System.SALESFORCE

    @property
    def stats(self) -> CallStats:
        """Retries and logins (the requests they cost are in `requests`)."""
        return self.client.stats

    @property
    def requests(self) -> Counter[str]:
        """Requests sent over the wire so far, by kind (login, query, read, write), every try
        counted (a copy)."""
        return self.client.sent

    def expect(self, cursors: Mapping[str, Cursor | None]) -> None:
        """The saved cursors of the objects the coming poll reads (base.ReadsTogether): its
        first read asks for all of them in one Composite call, also in a new process."""
        for object, cursor in cursors.items():
            # The saved cursor wins over the one handed out: a page may not have been saved
            # (a dry run rolls back, a transaction failed), and the read starts from it.
            if self.settings.objects.get(object) is not None:
                self._handed[object] = cursor

    def changes(self, object: str, cursor: Cursor | None, *, now: datetime) -> Iterator[Page]:
        """Records modified since the cursor (a backfill when it is None), one Page per SOQL
        page of up to 2,000; save each page's cursor with what it carries. The first object
        of a poll (a new `now`) also asks for the others' first pages, in the same call."""
        configured = self._configured(object)
        fields = salesforce_reads.fields_for(object, configured.fields)
        return self._changes(object, fields, configured.deletions, cursor, now)

    def _changes(
        self, object: str, fields: list[str], deletions: bool, cursor: Cursor | None, now: datetime
    ) -> Iterator[Page]:
        fetched = self._prefetched(object, cursor, now)
        pages = salesforce_reads.window(
            self.client,
            object,
            fields,
            cursor,
            now,
            self._timing,
            deletions=deletions,
            fetched=fetched,
        )
        for page in pages:
            if page.cursor is not None:
                self._handed[object] = page.cursor
            yield page

    def _prefetched(
        self, object: str, cursor: Cursor | None, now: datetime
    ) -> salesforce_reads.Fetched | None:
        """What this poll's Composite call answered for this read, asking it first when the
        poll is new. An answer made for another cursor (another replica moved it, a page was
        not saved) is the wrong window: the read then asks for itself."""
        if self._fetched_for != now:
            self._fetched, self._fetched_for = {}, now
            self._fetched = self._fetch(object, cursor, now)
        return self._fetched.pop(object, None)  # the window checks it is for its own plan

    def _fetch(
        self, object: str, cursor: Cursor | None, now: datetime
    ) -> dict[str, salesforce_reads.Fetched]:
        """One Composite call for this read and every other object read before, or nothing
        when this read alone would be one call anyway."""
        plans = [self._plan(object, cursor, now)]
        for other, handed in self._handed.items():
            if other != object and self.settings.objects.get(other) is not None:
                plans.append(self._plan(other, handed, now))
        if composite.subrequests(plans) < 2:
            return {}
        try:
            return composite.fetch(self.client, plans, self.settings.api_version)
        except RemoteError as exc:
            if exc.failure.status not in (400, 404, 405):
                raise
            # The org refused the Composite call itself: each read asks for itself instead.
            _log.warning("salesforce composite refused (%s); reading object by object", exc)
            return {}

    def _plan(self, object: str, cursor: Cursor | None, now: datetime) -> salesforce_reads.Plan:
        configured = self._configured(object)
        fields = salesforce_reads.fields_for(object, configured.fields)
        return salesforce_reads.plan(
            object, fields, cursor, now, self._timing, deletions=configured.deletions
        )

    def read(self, object: str, ids: Sequence[str]) -> list[Change]:
        """The current state of these records; deleted and unknown ids are left out. A converted
        Lead's Change carries ConvertedContactId and ConvertedOpportunityId to follow."""
        return self.find(object, "Id", ids)

    def fetch(self, object: str, ids: Sequence[str]) -> Page:
        """The records as `read` finds them. A deleted id is simply missing: the deletion
        arrives from a poll's deleted-records check (every deletions_every), which says when."""
        return Page(tuple(self.read(object, ids)))

    def find(self, object: str, field: str, values: Sequence[str]) -> list[Change]:
        """Live records whose `field` equals any of `values` (e.g. Email), every value escaped."""
        configured = self._configured(object)
        if not values:
            return []
        fields = salesforce_reads.fields_for(object, configured.fields)
        return salesforce_reads.find(self.client, object, fields, identifier(field), values)

    def apply(self, writes: Sequence[RecordWrite]) -> list[WriteResult]:
        """Updates and creates (upsert by external id) at 200 a call; one result per write, in
        order. Raises ApplyPaused (a BudgetPaused) with the settled results at the daily cap."""
        return salesforce_writes.apply(self.client, writes)

    def describe(self, object: str) -> ObjectSchema:
        path = f"sobjects/{identifier(object)}/describe"
        answer: Any = self.client.call(lambda sf: sf.restful(path)) or {}
        fields = {}
        for item in answer.get("fields", []):
            picklist = item.get("picklistValues") or []
            fields[item["name"]] = FieldSchema(
                name=item["name"],
                type=item.get("type", ""),
                label=item.get("label", ""),
                options=tuple(v["value"] for v in picklist if v.get("active", True)),
                restricted=bool(item.get("restrictedPicklist", False)),
                writable=bool(item.get("updateable") or item.get("createable")),
            )
        return ObjectSchema(System.SALESFORCE, str(answer.get("name", object)), fields)

    def health(self) -> Health:
        """From what the last calls saw; costs no API call."""
        state = self.governor.state()
        failure = self.client.last_failure
        if state.paused:
            health = Health(
                False,
                f"paused: {state.reason}; waiting for the allocation to roll",
                state,
                paused=True,
            )
        elif failure is not None:
            health = Health(False, f"the last call failed: {failure}", state)
        else:
            allowed = f" of {state.daily_allowed} allowed" if state.daily_allowed else ""
            org = ""
            if state.org_used is not None and state.org_limit is not None:
                org = f"; the org has {state.org_limit - state.org_used} left today"
            detail = f"ok: leadbridge made {state.daily_used} API calls today{allowed}{org}"
            health = Health(True, detail, state)
        if health.healthy != self._healthy:
            # Log when health changes, not on every probe (Home Assistant's rule).
            _log.log(
                logging.INFO if health.healthy else logging.WARNING, "salesforce %s", health.detail
            )
            self._healthy = health.healthy
        return health

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> SalesforceConnector:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _configured(self, object: str) -> ObjectSettings:
        found = self.settings.objects.get(object)
        if found is None:
            raise ValueError(
                f"{object} is not among the objects in the Salesforce connection file; "
                f"add it under objects: with the fields to read"
            )
        return found
