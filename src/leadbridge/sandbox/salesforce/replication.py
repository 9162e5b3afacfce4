"""The replication resources `sobjects/X/updated` and `sobjects/X/deleted`.

Salesforce works in whole minutes here: both ends are cut to the minute,
the window must be at least a minute long, and `latestDateCovered` is never
later than the current minute, so a client that starts its next window there
misses nothing. `updated` reaches 30 days back, `deleted` 15 (the recycle bin).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from leadbridge.sandbox.clock import sf_datetime
from leadbridge.sandbox.salesforce.errors import SfError
from leadbridge.sandbox.salesforce.schema import SObject
from leadbridge.sandbox.salesforce.store import RecordStore

UPDATED_DAYS = 30
DELETED_DAYS = 15


def updated(store: RecordStore, obj: SObject, start: str | None, end: str | None) -> dict[str, Any]:
    low, covered = _window(store, start, end, UPDATED_DAYS)
    ids = [r["Id"] for r in store.records(obj.name) if low <= _parse(r["SystemModstamp"]) < covered]
    return {"ids": ids, "latestDateCovered": sf_datetime(covered)}


def deleted(store: RecordStore, obj: SObject, start: str | None, end: str | None) -> dict[str, Any]:
    low, covered = _window(store, start, end, DELETED_DAYS)
    now = store.clock.now()
    horizon = now - timedelta(days=DELETED_DAYS)
    rows = [r for r in store.records(obj.name, include_deleted=True) if r["IsDeleted"]]
    # Rows older than the recycle bin's reach are purged: gone from this answer for good.
    purged = [_parse(r["SystemModstamp"]) for r in rows if _parse(r["SystemModstamp"]) < horizon]
    found = [
        {"id": r["Id"], "deletedDate": r["SystemModstamp"]}
        for r in rows
        if low <= _parse(r["SystemModstamp"]) < covered
    ]
    earliest = max(purged) if purged else _minute(horizon)
    return {
        "deletedRecords": found,
        "earliestDateAvailable": sf_datetime(earliest),
        "latestDateCovered": sf_datetime(covered),
    }


def _window(
    store: RecordStore, start: str | None, end: str | None, days: int
) -> tuple[datetime, datetime]:
    """[start, latestDateCovered) of a request, both on the minute."""
    low = _minute(_param("start", start))
    high = _minute(_param("end", end))
    if high - low < timedelta(minutes=1):
        # Salesforce's own wording, inverted as it is.
        raise SfError(
            "INVALID_REPLICATION_DATE", "startDate must be at least one minute greater than endDate"
        )
    now = store.clock.now()
    if low < _minute(now) - timedelta(days=days):
        raise SfError("INVALID_REPLICATION_DATE", f"startDate cannot be more than {days} days ago")
    return low, min(high, _minute(now))


def _param(name: str, raw: str | None) -> datetime:
    if not raw:
        raise SfError("MISSING_ARGUMENT", f"Missing required parameter: {name}")
    try:
        moment = datetime.fromisoformat(raw.strip().replace(" ", "+").replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise SfError("INVALID_REPLICATION_DATE", f"Unable to parse {name}: {raw}") from None


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z")
