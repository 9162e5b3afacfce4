"""Model values to JSON columns and back, losslessly.

JSON has no dates, so a `date` or `datetime` value is tagged ({"$d": ...} or
{"$dt": ...}) and comes back as the same type; a plain string that happens to
look like a date stays a string. Stamps are UTC with microseconds at a fixed
width, so they sort as text in time order (tables.py relies on that).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from leadbridge.model import Lead, Stamp, System, Value, Values


# A first sync stamps the same few moments (the round's `now`, a lead's stage entry, its
# fields' stamps) over and over: 228,000 calls for 10,000 people, each an astimezone and an
# isoformat. Equal datetimes give the same text whatever their zone (the result is UTC), so
# a cache keyed by the datetime is exact.
@lru_cache(maxsize=4096)
def iso(moment: datetime) -> str:
    """A fixed-width UTC stamp; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _encode_value(value: Value) -> Any:
    if type(value) is str:
        return value
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    return value


def _decode_value(data: Any) -> Value:
    if type(data) is str:  # most values: checked first, a first sync decodes millions
        return data
    if isinstance(data, dict):
        if "$dt" in data:
            return datetime.fromisoformat(data["$dt"])
        if "$d" in data:
            return date.fromisoformat(data["$d"])
        raise ValueError(f"not a stored value: {data!r}")
    if data is None or isinstance(data, str | int | float | bool):
        return data
    raise ValueError(f"not a stored value: {data!r}")


# encode_values and decode_values test for a plain string inline before calling out: most
# values are strings, and a first sync of 10,000 people made 1.2 million calls to the one
# and 560,000 to the other just to hand the string back.
def encode_values(values: Values) -> dict[str, Any]:
    return {
        name: value if type(value) is str else _encode_value(value)
        for name, value in values.items()
    }


def decode_values(data: Mapping[str, Any]) -> dict[str, Value]:
    return {
        name: value if type(value) is str else _decode_value(value) for name, value in data.items()
    }


# System.value is a Python-level enum descriptor: 200,000 calls a 10,000-person sync.
_SYSTEM_TEXT: dict[System | None, str | None] = {system: system.value for system in System}
_SYSTEM_TEXT[None] = None
_SYSTEM_OF: dict[str, System] = {system.value: system for system in System}


def _system(text: str) -> System:
    """System(text), without the enum's Python-level lookup; an unknown name still raises."""
    system = _SYSTEM_OF.get(text)
    return System(text) if system is None else system


def lead_row(lead: Lead) -> dict[str, Any]:
    """The `leads` row of a lead; its identity lives in `links`, not here."""
    return {
        "id": lead.id,
        "stage": lead.stage,
        "stage_entered_at": iso(lead.stage_entered_at),
        "owner": lead.owner,
        "fields": encode_values(lead.fields),
        "stamps": {
            name: [iso(at), _SYSTEM_TEXT[system]] for name, (at, system) in lead.stamps.items()
        },
        # JSON objects only have string keys: the 4-tuple key becomes a row. In the dict's
        # own order: sorting it was half of lead_row's time, and no reader needs an order.
        "seen": [
            [
                _SYSTEM_TEXT[system],
                obj,
                record,
                name,
                value if type(value) is str else _encode_value(value),
            ]
            for (system, obj, record, name), value in lead.seen.items()
        ],
        "deals": dict(lead.deals),
        "blocked": sorted(system.value for system in lead.blocked),
    }


def lead_fields(row: Mapping[Any, Any]) -> dict[str, Any]:
    """Keyword arguments for `Lead` from a `leads` row (identity left to the caller)."""
    return {
        "id": row["id"],
        "stage": row["stage"],
        "stage_entered_at": from_iso(row["stage_entered_at"]),
        "owner": row["owner"],
        "fields": decode_values(row["fields"]),
        "stamps": {
            name: Stamp(from_iso(at), None if system is None else _system(system))
            for name, (at, system) in row["stamps"].items()
        },
        "seen": {
            (_system(system), obj, record, name): _decode_value(value)
            for system, obj, record, name, value in row["seen"]
        },
        "deals": dict(row["deals"]),
        "blocked": frozenset(_system(system) for system in row["blocked"]),
    }
