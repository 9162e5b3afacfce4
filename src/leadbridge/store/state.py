"""Cursors, the canonical leads, and the last known remote values (snapshots)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from leadbridge.model import Lead, System, Value, Values
from leadbridge.store import codec
from leadbridge.store._sql import chunks, upsert
from leadbridge.store.links import Links
from leadbridge.store.tables import cursors, leads, links, snapshots

_T = TypeVar("_T")
_RecordKey = tuple[System, str, str]  # (system, object, record id)
# Folds can chain (a into b, b into c); the limit only guards against a cycle.
_MAX_FOLDS = 64


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
    def __init__(
        self, connection: sa.Connection, clock: Callable[[], datetime], links: Links
    ) -> None:
        self._connection = connection
        self._clock = clock
        self._links = links

    def resolve(self, lead_id: str) -> str:
        """The lead that `lead_id` is now, following folds."""
        current = lead_id
        for _ in range(_MAX_FOLDS):
            statement = sa.select(leads.c.merged_into).where(leads.c.id == current)
            forward = self._connection.execute(statement).scalar_one_or_none()
            if forward is None:
                return current
            current = forward
        raise RuntimeError(f"lead {lead_id} folds into a cycle")

    def load(self, lead_id: str) -> Lead | None:
        """The lead (the one it was folded into, if it was), with its identity from the links."""
        current = self.resolve(lead_id)
        statement = sa.select(leads).where(leads.c.id == current)
        row = self._connection.execute(statement).mappings().one_or_none()
        if row is None:
            return None
        return Lead(identity=self._links.identity(current), **codec.lead_fields(row))

    def save(self, lead: Lead) -> None:
        row = codec.lead_row(lead)
        row["updated_at"] = codec.iso(self._clock())
        upsert(self._connection, leads, row, ("id",))

    def ids(self) -> list[str]:
        """Every live lead (not folded into another), for sweeps and reports."""
        statement = sa.select(leads.c.id).where(leads.c.merged_into.is_(None)).order_by(leads.c.id)
        return list(self._connection.execute(statement).scalars())


class Snapshots:
    """What each remote record showed when we last read it or wrote it.

    The planner subtracts these from the desired values, so only real
    differences are written, and a change that only repeats our own write
    (an echo) differs in nothing.
    """

    def __init__(self, connection: sa.Connection, clock: Callable[[], datetime]) -> None:
        self._connection = connection
        self._clock = clock

    def get(self, system: System, obj: str, record_id: str) -> dict[str, Value] | None:
        statement = sa.select(snapshots.c["values"]).where(
            snapshots.c.system == system.value,
            snapshots.c.object == obj,
            snapshots.c.record_id == record_id,
        )
        data = self._connection.execute(statement).scalar_one_or_none()
        return None if data is None else codec.decode_values(data)

    def get_many(
        self, system: System, obj: str, record_ids: Sequence[str]
    ) -> dict[str, dict[str, Value]]:
        """The snapshots of these records of one object that are known, by record id."""
        found: dict[str, dict[str, Value]] = {}
        for part in chunks(sorted(set(record_ids))):
            statement = sa.select(snapshots.c.record_id, snapshots.c["values"]).where(
                snapshots.c.system == system.value,
                snapshots.c.object == obj,
                snapshots.c.record_id.in_(part),
            )
            for record_id, values in self._connection.execute(statement):
                found[record_id] = codec.decode_values(values)
        return found

    def put(
        self,
        system: System,
        obj: str,
        record_id: str,
        values: Values,
        *,
        origin: str = "read",
        replace: bool = False,
    ) -> dict[str, Value]:
        """Merge `values` over what is known (a write covers only the fields it changed);
        `replace` forgets fields not given. Returns the values now known."""
        known = {} if replace else (self.get(system, obj, record_id) or {})
        known.update(values)
        row = {
            "system": system.value,
            "object": obj,
            "record_id": record_id,
            "values": codec.encode_values(known),
            "origin": origin,
            "updated_at": codec.iso(self._clock()),
        }
        upsert(self._connection, snapshots, row, ("system", "object", "record_id"))
        return known

    def of_lead(self, lead_id: str) -> dict[_RecordKey, dict[str, Value]]:
        """Every known snapshot of the lead's linked records, keyed as the planner's `Known`."""
        statement = (
            sa.select(snapshots)
            .join(
                links,
                sa.and_(
                    links.c.system == snapshots.c.system,
                    links.c.object == snapshots.c.object,
                    links.c.record_id == snapshots.c.record_id,
                ),
            )
            .where(links.c.lead_id == lead_id)
        )
        return {
            (System(row["system"]), row["object"], row["record_id"]): codec.decode_values(
                row["values"]
            )
            for row in self._connection.execute(statement).mappings()
        }

    def put_all(self, known: Mapping[_RecordKey, Values], *, origin: str = "write") -> None:
        """Store whole snapshots (e.g. planner.remember's result), replacing what was known."""
        for (system, obj, record_id), values in known.items():
            self.put(system, obj, record_id, values, origin=origin, replace=True)
