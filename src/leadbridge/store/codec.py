"""Model values to JSON columns and back, losslessly.

JSON has no dates, so a `date` or `datetime` value is tagged ({"$d": ...} or
{"$dt": ...}) and comes back as the same type; a plain string that happens to
look like a date stays a string. The tagging is the engine's JSON serializer
(`dumps`, `loads`), so a repository hands its values over as they are: a first
sync stores a million values, and walking each dict in Python to tag the few
dates was a tenth of its CPU. Stamps are UTC with microseconds at a fixed width,
so they sort as text in time order (tables.py relies on that).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import orjson

from leadbridge.model import Lead, Stamp, System, Value

# orjson hands dates and datetimes to `_tag` instead of writing them as plain text.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME
_MARK, _MARK_BYTES = '"$d', b'"$d'  # in any text holding a tag ("$d" or "$dt")


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


def _tag(value: Any) -> dict[str, str]:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not stored as JSON")


def dumps(value: Any) -> str:
    """A JSON column's text, dates tagged. A value orjson refuses (an integer beyond 64
    bits) goes through the standard library's json, which takes any size."""
    try:
        return orjson.dumps(value, default=_tag, option=_OPTIONS).decode()
    except TypeError:
        return json.dumps(value, default=_tag)


def sorted_json(value: Any) -> bytes:
    """JSON with sorted keys, dates tagged: the same bytes for equal values (to hash)."""
    try:
        return orjson.dumps(value, default=_tag, option=_OPTIONS | orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(value, default=_tag, sort_keys=True).encode()


def loads(text: str | bytes | bytearray | memoryview) -> Any:
    """A JSON column's value, tags back to dates; the walk runs only when a tag is there."""
    if isinstance(text, str):
        value, tagged = orjson.loads(text), _MARK in text
    else:
        data = bytes(text)
        value, tagged = orjson.loads(data), _MARK_BYTES in data
    return _untag(value) if tagged else value


def _untag(data: Any) -> Any:
    if type(data) is dict:
        if len(data) == 1:
            if type(text := data.get("$dt")) is str:
                return datetime.fromisoformat(text)
            if type(text := data.get("$d")) is str:
                return date.fromisoformat(text)
        return {name: _untag(value) for name, value in data.items()}
    if type(data) is list:
        return [_untag(value) for value in data]
    return data


# System.value is a Python-level enum descriptor: 200,000 calls a 10,000-person sync.
SYSTEM_TEXT: dict[System, str] = {system: system.value for system in System}
_STAMP_SYSTEM: dict[System | None, str | None] = {None: None, **{s: s.value for s in System}}
_SYSTEM_OF: dict[str, System] = {system.value: system for system in System}


def system_of(text: str) -> System:
    """System(text), without the enum's Python-level lookup; an unknown name still raises."""
    system = _SYSTEM_OF.get(text)
    return System(text) if system is None else system


def lead_row(lead: Lead) -> dict[str, Any]:
    """The `leads` row of a lead; its identity lives in `links`, not here.

    Stamps are stored grouped, as seen values are kept: a lead's fields mostly share a few
    stamps, so each stamp and record is written once instead of once per field (a lead row
    was 4 KB, most of it those repeats)."""
    stamps: dict[Stamp, list[str]] = {}
    for name, stamp in lead.stamps.items():
        names = stamps.get(stamp)
        if names is None:
            stamps[stamp] = [name]
        else:
            names.append(name)
    return {
        "id": lead.id,
        "stage": lead.stage,
        "stage_entered_at": iso(lead.stage_entered_at),
        "owner": lead.owner,
        "fields": lead.fields if type(lead.fields) is dict else dict(lead.fields),
        "stamps": [
            [iso(at), _STAMP_SYSTEM[system], names] for (at, system), names in stamps.items()
        ],
        "seen": [
            [SYSTEM_TEXT[system], obj, record, values if type(values) is dict else dict(values)]
            for (system, obj, record), values in lead.seen.items()
        ],
        "deals": dict(lead.deals),
        "blocked": sorted(system.value for system in lead.blocked),
    }


def lead_fields(row: Mapping[Any, Any]) -> dict[str, Any]:
    """Keyword arguments for `Lead` from a `leads` row (identity left to the caller). Rows
    written before stamps and seen values were grouped are read too."""
    return {
        "id": row["id"],
        "stage": row["stage"],
        "stage_entered_at": from_iso(row["stage_entered_at"]),
        "owner": row["owner"],
        "fields": row["fields"],
        "stamps": _stamps(row["stamps"]),
        "seen": _seen(row["seen"]),
        "deals": dict(row["deals"]),
        "blocked": frozenset(system_of(system) for system in row["blocked"]),
    }


def _stamps(stored: Any) -> dict[str, Stamp]:
    if isinstance(stored, dict):  # {name: [at, system]}, as written before grouping
        return {
            name: Stamp(from_iso(at), None if system is None else system_of(system))
            for name, (at, system) in stored.items()
        }
    stamps: dict[str, Stamp] = {}
    for at, system, names in stored:
        stamp = Stamp(from_iso(at), None if system is None else system_of(system))
        for name in names:
            stamps[name] = stamp
    return stamps


def _seen(stored: Any) -> dict[tuple[System, str, str], dict[str, Value]]:
    seen: dict[tuple[System, str, str], dict[str, Value]] = {}
    for entry in stored:
        if len(entry) == 5:  # [system, object, record, name, value], before grouping
            system, obj, record, name, value = entry
            seen.setdefault((system_of(system), obj, record), {})[name] = value
            continue
        system, obj, record, values = entry
        key = (system_of(system), obj, record)
        known = seen.get(key)
        if known is None:
            seen[key] = values  # decoded for this lead alone: kept, not copied
        else:
            known.update(values)
    return seen
