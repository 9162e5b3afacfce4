"""The connector protocol: what the sync loop may ask of HubSpot and Salesforce alike.

A connector owns transport, auth, paging, retries and rate limits, and
nothing else: it speaks `Change`s and `RecordWrite`s (leadbridge.model) and
never decides anything. Incremental reads follow dlt: the cursor is a value
passed in and handed back with each page, and the caller saves it in the
same transaction as the page it covers, so a crash can re-read but never skip.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from leadbridge.connectors.budget import BudgetPaused, BudgetState
from leadbridge.connectors.errors import Action, Failure

# Removal lives in the model (the store and identity speak it too); connectors import it here.
from leadbridge.model import Change, RecordWrite, Removal, System

# Cursors saved since the lag tolerance is paid once say so; older ones (no "v") still load.
_CURSOR_VERSION = 2


@dataclass(frozen=True)
class Cursor:
    """How far an incremental read has got.

    Every change modified before `since` has been delivered, and the next read starts at
    `since`. A search index (HubSpot) or a commit in flight (Salesforce SystemModstamp) can
    surface a change late, so `since` trails the end of the read that made it by the
    connection's lag tolerance (singer-sdk's signpost), and the next read covers that stretch
    again: `recent` remembers the (id, stamp) pairs already delivered at or after `since`, so
    reading them again delivers none of them. The tolerance is paid once, here; a change
    surfacing later than it is the reconciliation's to find (sync.reconcile).

    `deletions_since` is the same for deletions where a system lists them apart and less
    often (Salesforce's sobjects/X/deleted): each one before it has been delivered; None when
    none were read yet. `legacy` marks a cursor saved before the tolerance was paid once (its
    JSON lacks "v"): its `since` still expects the next read to start a tolerance earlier.
    """

    since: datetime
    recent: frozenset[tuple[str, str]] = frozenset()
    deletions_since: datetime | None = None
    legacy: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "since": self.since.isoformat(),
            "recent": sorted(map(list, self.recent)),
        }
        if self.deletions_since is not None:
            data["deletions_since"] = self.deletions_since.isoformat()
        if not self.legacy:
            data["v"] = _CURSOR_VERSION
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cursor:
        recent = frozenset((str(i), str(stamp)) for i, stamp in data.get("recent", ()))
        deletions = data.get("deletions_since")
        return cls(
            datetime.fromisoformat(data["since"]),
            recent,
            datetime.fromisoformat(deletions) if deletions else None,
            legacy="v" not in data,
        )


@dataclass(frozen=True)
class Page:
    """One slice of a read, and the cursor to save together with it (None: nothing to save)."""

    changes: tuple[Change, ...]
    removals: tuple[Removal, ...] = ()
    cursor: Cursor | None = None


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one RecordWrite, in the order the writes were given."""

    write: RecordWrite
    id: str | None  # the remote id, also for a record just created
    created: bool = False
    failure: Failure | None = None
    action: Action | None = None  # what to do about the failure: PARK, or retry later

    @property
    def ok(self) -> bool:
        return self.failure is None


class ApplyPaused(BudgetPaused):
    """The daily budget ran out part-way through apply(): `results` holds the writes that were
    settled before it (landed or refused); the others were not sent, or not confirmed, and
    should wait (sending them again is safe: every write is idempotent)."""

    def __init__(self, paused: BudgetPaused, results: list[WriteResult]) -> None:
        super().__init__(paused.used, paused.allowed, paused.reason)
        self.results = results


@dataclass(frozen=True)
class FieldSchema:
    name: str
    type: str  # the remote type: "enumeration", "picklist", "string", "datetime", ...
    label: str = ""
    options: tuple[str, ...] = ()  # allowed values of a picklist / enumeration
    restricted: bool = False  # a value outside `options` is refused
    writable: bool = True


@dataclass(frozen=True)
class ObjectSchema:
    system: System
    object: str
    fields: Mapping[str, FieldSchema] = field(default_factory=dict)


@dataclass(frozen=True)
class Health:
    healthy: bool
    detail: str  # one line for /readyz and the health alert
    budget: BudgetState | None = None
    paused: bool = False  # the budget governor holds calls until its window resets


class Connector(Protocol):
    """What the sync loop needs from each system."""

    @property
    def system(self) -> System: ...

    @property
    def requests(self) -> Counter[str]:
        """Requests sent over the wire so far, by kind: every try counts (a retry is another
        request, and so is a login), answered or not. The one meaning of "call"."""
        ...

    def changes(self, object: str, cursor: Cursor | None, *, now: datetime) -> Iterator[Page]:
        """Records modified since the cursor (a backfill when it is None), page by page."""
        ...

    def read(self, object: str, ids: Sequence[str]) -> list[Change]:
        """The current state of these records; ids that no longer exist are left out."""
        ...

    def fetch(self, object: str, ids: Sequence[str]) -> Page:
        """Like `read`, plus what became of ids that are gone, where the system can tell
        (merged into which record, archived when). The page carries no cursor."""
        ...

    def apply(self, writes: Sequence[RecordWrite]) -> list[WriteResult]:
        """Writes in batches at the API's maximum; one result per write, in order. Raises
        ApplyPaused, with the results settled so far, when a daily budget runs out."""
        ...

    def describe(self, object: str) -> ObjectSchema:
        """Fields, types and picklist values, so a mapping can be checked against the org."""
        ...

    def health(self) -> Health: ...


@runtime_checkable
class Reconciles(Protocol):
    """A connector that can list records by modification date without the index its polls
    depend on (sync.reconcile). HubSpot can; Salesforce's poll needs no index."""

    def modified_since(
        self, object: str, since: datetime | None, *, now: datetime
    ) -> Iterator[Page]:
        """Records modified at or after `since` (every one when None), page by page; the last
        page carries the cursor (the next `since`) to save with it."""
        ...


@runtime_checkable
class ReadsTogether(Protocol):
    """A connector that reads several objects' changes in one call once it knows their
    cursors (Salesforce's Composite request): told them before a poll, even the first poll
    of a process costs one call."""

    def expect(self, cursors: Mapping[str, Cursor | None]) -> None:
        """The saved cursor of each object this poll will read (None: a backfill)."""
        ...


__all__ = [
    "ApplyPaused",
    "Connector",
    "Cursor",
    "FieldSchema",
    "Health",
    "ObjectSchema",
    "Page",
    "ReadsTogether",
    "Reconciles",
    "Removal",
    "WriteResult",
]
