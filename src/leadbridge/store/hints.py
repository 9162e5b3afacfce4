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
from leadbridge.store._sql import chunks, insert
from leadbridge.store.tables import hints

# The unique key; rows are written in its order (see `add`).
_KEY = ("system", "object", "record_id")


class Hints:
    def __init__(self, connection: sa.Connection, clock: Callable[[], datetime]) -> None:
        self._connection = connection
        self._clock = clock

    def add(self, pushed: Sequence[Hint]) -> None:
        """Store each record's latest push: one INSERT .. ON CONFLICT per few hundred records.

        Rows go in key order: two webhooks naming the same records in different orders
        would otherwise each lock a row the other one waits for, and PostgreSQL would
        fail one of them with a deadlock after a second's wait.
        """
        latest: dict[tuple[str, str, str], str] = {}
        for hint in pushed:
            key, at = (hint.system.value, hint.object, hint.id), codec.iso(hint.received_at)
            latest[key] = max(at, latest.get(key, at))
        rows = [
            {"system": s, "object": o, "record_id": r, "received_at": at}
            for (s, o, r), at in sorted(latest.items())
        ]
        newest = sa.func.max if self._connection.dialect.name == "sqlite" else sa.func.greatest
        for part in chunks(rows):
            statement = insert(self._connection, hints).values(list(part))
            # The latest push wins: `clear` keeps a row pushed again after it was taken.
            statement = statement.on_conflict_do_update(
                index_elements=list(_KEY),
                set_={"received_at": newest(statement.excluded.received_at, hints.c.received_at)},
            )
            self._connection.execute(statement)

    def take(self, limit: int) -> list[Hint]:
        """The oldest pushes first; they stay until `clear`ed."""
        statement = sa.select(hints).order_by(hints.c.received_at, hints.c.record_id).limit(limit)
        return [
            Hint(System(row.system), row.object, row.record_id, codec.from_iso(row.received_at))
            for row in self._connection.execute(statement)
        ]

    def clear(self, taken: Sequence[Hint]) -> None:
        """Forget what was read, unless it was pushed again since it was taken: a push only
        ever moves a row's stamp on, so a row still at the stamp taken was not.

        On PostgreSQL a row that a webhook is pushing right now is locked by it, i.e. it is
        being pushed again: it is skipped, not waited for, and read once more later. The
        sync thus never waits on a webhook, so the two cannot deadlock in any order.
        """
        stamped = (hints.c.system, hints.c.object, hints.c.record_id, hints.c.received_at)
        read = sorted({(h.system.value, h.object, h.id, codec.iso(h.received_at)) for h in taken})
        for part in chunks(read):
            unchanged = sa.tuple_(*stamped).in_(part)
            if self._connection.dialect.name == "postgresql":
                free = sa.select(*stamped[:3]).where(unchanged).with_for_update(skip_locked=True)
                unchanged = sa.tuple_(*stamped[:3]).in_(free)
            self._connection.execute(sa.delete(hints).where(unchanged))

    def count(self) -> int:
        return int(
            self._connection.execute(sa.select(sa.func.count()).select_from(hints)).scalar_one()
        )
