"""Cursors, the canonical leads, and the last known remote values (snapshots)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from leadbridge.model import Identity, Lead, System, Value, Values
from leadbridge.store import codec
from leadbridge.store._sql import quietly, select_in, upsert, upsert_many
from leadbridge.store.links import Links
from leadbridge.store.tables import cursors, leads, snapshots

_T = TypeVar("_T")
_RecordKey = tuple[System, str, str]  # (system, object, record id)
# Folds can chain (a into b, b into c); the limit only guards against a cycle.
_MAX_FOLDS = 64
_LEAD = tuple(column.name for column in leads.columns)
_SNAPSHOT = ("record_id", "values")

# What a remembered lead holds: its identity lives in `links` and is read from there.
_NO_IDENTITY = Identity()


class CursorLike(Protocol):
    """connectors.base.Cursor, as far as the store needs it."""

    def to_json(self) -> dict[str, Any]: ...


class Cursors:
    def __init__(self, connection: sa.Connection, clock: Callable[[], datetime]) -> None:
        self._connection = connection
        self._clock = clock

    def save(self, system: System, obj: str, cursor: CursorLike) -> None:
        """Save in the transaction that stores the page it covers, never in another."""
        row = {
            "system": system.value,
            "object": obj,
            "cursor": cursor.to_json(),
            "updated_at": codec.iso(self._clock()),
        }
        upsert(self._connection, cursors, row, ("system", "object"))

    def get(self, system: System, obj: str, decode: Callable[[Mapping[str, Any]], _T]) -> _T | None:
        """The saved cursor decoded (e.g. with Cursor.from_json), or None before the first page."""
        statement = sa.select(cursors.c.cursor).where(
            cursors.c.system == system.value, cursors.c.object == obj
        )
        data = self._connection.execute(statement).scalar_one_or_none()
        return None if data is None else decode(data)


class Leads:
    """The leads table, remembered for the transaction (decoded once); saves are buffered
    and upserted in one statement at `flush`."""

    def __init__(
        self, connection: sa.Connection, clock: Callable[[], datetime], links: Links
    ) -> None:
        self._connection = connection
        self._clock = clock
        self._links = links
        # id -> (merged_into, the lead without its identity); None: no such lead
        self._known: dict[str, tuple[str | None, Lead] | None] = {}
        self._rows: dict[str, dict[str, Any]] = {}  # to upsert

    def resolve(self, lead_id: str) -> str:
        """The lead that `lead_id` is now, following folds."""
        current = lead_id
        for _ in range(_MAX_FOLDS):
            known = self._get(current)
            forward = known[0] if known is not None else None
            if forward is None:
                return current
            current = forward
        raise RuntimeError(f"lead {lead_id} folds into a cycle")

    def load(self, lead_id: str) -> Lead | None:
        """The lead (the one it was folded into, if it was), with its identity from the links."""
        current = self.resolve(lead_id)
        known = self._get(current)
        if known is None:
            return None
        return known[1].with_identity(self._links.identity(current))

    def save(self, lead: Lead) -> None:
        row = codec.lead_row(lead)
        row["updated_at"] = codec.iso(self._clock())
        self._rows[lead.id] = row
        if lead.id in self._known:  # else a fold may point it elsewhere: read it when asked
            known = self._known[lead.id]
            forward = known[0] if known is not None else None
            self._known[lead.id] = (forward, lead.with_identity(_NO_IDENTITY))

    def prefetch(self, lead_ids: Iterable[str]) -> None:
        """Load these leads and the ones they were folded into, a statement per fold level."""
        wanted = {lead for lead in lead_ids if lead not in self._known}
        while wanted:
            self.flush()
            with quietly(self._connection) as connection:
                for row in select_in(connection, leads, _LEAD, "id", sorted(wanted)):
                    fields = dict(zip(_LEAD, row, strict=True))
                    lead = Lead(**codec.lead_fields(fields))
                    self._known[fields["id"]] = (fields["merged_into"], lead)
            for lead_id in wanted:
                self._known.setdefault(lead_id, None)
            forwards = {known[0] for known in map(self._known.get, wanted) if known and known[0]}
            wanted = {lead for lead in forwards if lead not in self._known}

    def flush(self) -> None:
        if self._rows:
            rows, self._rows = list(self._rows.values()), {}
            with quietly(self._connection) as connection:
                upsert_many(connection, leads, rows, ("id",))

    def forget(self) -> None:
        self._known.clear()

    def ids(self) -> list[str]:
        """Every live lead (not folded into another), for sweeps and reports."""
        statement = sa.select(leads.c.id).where(leads.c.merged_into.is_(None)).order_by(leads.c.id)
        return list(self._connection.execute(statement).scalars())

    def _get(self, lead_id: str) -> tuple[str | None, Lead] | None:
        if lead_id not in self._known:
            self.prefetch([lead_id])
        return self._known[lead_id]


class Snapshots:
    """What each remote record showed when we last read it or wrote it.

    The planner subtracts these from the desired values, so only real
    differences are written, and a change that only repeats our own write
    (an echo) differs in nothing. Remembered for the transaction; what is put is
    buffered and upserted in one statement at `flush`.
    """

    def __init__(
        self, connection: sa.Connection, clock: Callable[[], datetime], links: Links
    ) -> None:
        self._connection = connection
        self._clock = clock
        self._links = links
        self._known: dict[_RecordKey, dict[str, Value] | None] = {}
        self._rows: dict[_RecordKey, dict[str, Any]] = {}  # to upsert

    # Snapshots are handed out as read-only mappings, not copies: none is changed in place
    # (`put` makes a new dict), and the sync asks for several per person.
    def get(self, system: System, obj: str, record_id: str) -> Mapping[str, Value] | None:
        key = (system, obj, record_id)
        if key not in self._known:
            self.prefetch([key])
        return self._known[key]

    def get_many(
        self, system: System, obj: str, record_ids: Sequence[str]
    ) -> dict[str, Mapping[str, Value]]:
        """The snapshots of these records of one object that are known, by record id."""
        keys = [(system, obj, record_id) for record_id in record_ids]
        self.prefetch(keys)
        return {key[2]: known for key in keys if (known := self._known[key]) is not None}

    def put(
        self,
        system: System,
        obj: str,
        record_id: str,
        values: Values,
        *,
        origin: str = "read",
        replace: bool = False,
    ) -> Mapping[str, Value]:
        """Merge `values` over what is known (a write covers only the fields it changed);
        `replace` forgets fields not given. Returns the values now known.

        A dict given for a record with nothing known is kept as it is, not copied (a first
        sync puts a read record's ~27 values for every person): hand over a dict nothing
        changes afterwards, as the sync does (a change's fields, a write's values)."""
        key = (system, obj, record_id)
        old = None
        if not replace:
            if key not in self._known:
                self.prefetch([key])
            old = self._known[key]
        if old:
            known = {**old, **values}
        elif type(values) is dict:
            known = values
        else:
            known = dict(values)
        self._known[key] = known
        # Encoded at flush, once: a record read and then written in one round is put twice
        # (`known` is never changed in place: every put makes a new dict).
        self._rows[key] = {
            "system": codec.SYSTEM_TEXT[system],
            "object": obj,
            "record_id": record_id,
            "values": known,
            "origin": origin,
            "updated_at": codec.iso(self._clock()),
        }
        return known

    def of_lead(self, lead_id: str) -> dict[_RecordKey, Mapping[str, Value]]:
        """Every known snapshot of the lead's linked records, keyed as the planner's `Known`."""
        keys = [
            (link.system, link.object, link.record_id) for link in self._links.links_of(lead_id)
        ]
        self.prefetch(keys)
        return {key: known for key in keys if (known := self._known[key]) is not None}

    def prefetch(self, keys: Iterable[_RecordKey]) -> None:
        """Load the snapshots of these records not known yet, an IN-list per object."""
        wanted = {key for key in keys if key not in self._known}
        if not wanted:
            return
        self.flush()
        by_object: dict[tuple[System, str], list[str]] = {}
        for system, obj, record_id in wanted:
            by_object.setdefault((system, obj), []).append(record_id)
        with quietly(self._connection) as connection:
            for (system, obj), record_ids in by_object.items():
                equal = {"system": system.value, "object": obj}
                for record_id, values in select_in(
                    connection, snapshots, _SNAPSHOT, "record_id", sorted(record_ids), equal
                ):
                    self._known[(system, obj, record_id)] = values
        for key in wanted:
            self._known.setdefault(key, None)

    def flush(self) -> None:
        if self._rows:
            rows, self._rows = list(self._rows.values()), {}
            with quietly(self._connection) as connection:
                upsert_many(connection, snapshots, rows, ("system", "object", "record_id"))

    def forget(self) -> None:
        self._known.clear()
