"""Records a system pushed to us, still to be read by id (see model.Hint).

A webhook's answer waits for `add` to commit, so a push that was acknowledged is
never lost; the sync `take`s a batch, reads those records, enqueues what it read
and `clear`s them in the transaction that enqueues. A record pushed again while
it was being read keeps its row (its stamp moved on), so that change is read too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa

from leadbridge.model import Hint, System
from leadbridge.store import codec
from leadbridge.store._sql import insert
from leadbridge.store.tables import hints


class Hints:
    def __init__(self, connection: sa.Connection, clock: Callable[[], datetime]) -> None:
        self._connection = connection
        self._clock = clock

    def add(self, pushed: Sequence[Hint]) -> None:
        rows = {(h.system.value, h.object, h.id): codec.iso(h.received_at) for h in pushed}
        if not rows:
            return
        statement = insert(self._connection, hints)
        # The latest push wins: `clear` keeps a row pushed again after it was taken.
        statement = statement.on_conflict_do_update(
            index_elements=["system", "object", "record_id"],
            set_={"received_at": sa.func.max(statement.excluded.received_at, hints.c.received_at)}
            if self._connection.dialect.name == "sqlite"
            else {
                "received_at": sa.func.greatest(statement.excluded.received_at, hints.c.received_at)
            },
        )
        self._connection.execute(
            statement,
            [
                {"system": s, "object": o, "record_id": r, "received_at": at}
                for (s, o, r), at in rows.items()
            ],
        )

    def take(self, limit: int) -> list[Hint]:
        """The oldest pushes first; they stay until `clear`ed."""
        statement = sa.select(hints).order_by(hints.c.received_at, hints.c.record_id).limit(limit)
        return [
            Hint(System(row.system), row.object, row.record_id, codec.from_iso(row.received_at))
            for row in self._connection.execute(statement)
        ]

    def clear(self, taken: Sequence[Hint]) -> None:
        """Forget what was read, unless it was pushed again since it was taken."""
        for hint in taken:
            self._connection.execute(
                sa.delete(hints).where(
                    hints.c.system == hint.system.value,
                    hints.c.object == hint.object,
                    hints.c.record_id == hint.id,
                    hints.c.received_at <= codec.iso(hint.received_at),
                )
            )

    def count(self) -> int:
        return int(
            self._connection.execute(sa.select(sa.func.count()).select_from(hints)).scalar_one()
        )
