"""Leases: work only one replica may do at a time, held by renewing before expiry.

One row per lease. `acquire` is a single INSERT .. ON CONFLICT DO UPDATE whose
WHERE lets the holder renew and anyone take an expired lease; both databases
run it atomically, so two replicas racing for a free lease cannot both win.
A replica that dies simply stops renewing: the next `acquire` after expiry by
another replica succeeds. Time is the caller's clock, so replicas need clocks
roughly in step (NTP); the TTL should dwarf their skew.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from leadbridge.store import codec
from leadbridge.store._sql import insert
from leadbridge.store.tables import leases


class Leases:
    def __init__(self, connection: sa.Connection, clock: Callable[[], datetime]) -> None:
        self._connection = connection
        self._clock = clock

    def acquire(self, name: str, holder: str, ttl: timedelta) -> bool:
        """Take or renew `name` for `ttl`; True when `holder` holds it afterwards."""
        now = self._clock()
        statement = insert(self._connection, leases).values(
            name=name,
            holder=holder,
            acquired_at=codec.iso(now),
            expires_at=codec.iso(now + ttl),
        )
        mine = leases.c.holder == statement.excluded.holder
        statement = statement.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "holder": statement.excluded.holder,
                "acquired_at": sa.case(
                    (mine, leases.c.acquired_at), else_=statement.excluded.acquired_at
                ),
                "expires_at": statement.excluded.expires_at,
            },
            where=mine | (leases.c.expires_at <= codec.iso(now)),
        )
        self._connection.execute(statement)
        # Judged at the moment the lease was written for, not at a second reading of the
        # clock: a clock that moved past the TTL in between (the sandbox's clock jumps when
        # a test advances it) made a lease just renewed look expired, and its work stop.
        return self._holder_at(name, now) == holder

    def release(self, name: str, holder: str) -> None:
        """Give the lease up at once (a clean shutdown), so another replica need not wait."""
        self._connection.execute(
            sa.delete(leases).where(leases.c.name == name, leases.c.holder == holder)
        )

    def holder(self, name: str) -> str | None:
        """Who holds `name` now (None: nobody, or the lease expired)."""
        return self._holder_at(name, self._clock())

    def _holder_at(self, name: str, now: datetime) -> str | None:
        row = self._connection.execute(
            sa.select(leases.c.holder, leases.c.expires_at).where(leases.c.name == name)
        ).one_or_none()
        if row is None or row.expires_at <= codec.iso(now):
            return None
        return str(row.holder)

    def listing(self) -> dict[str, tuple[str, datetime]]:
        """Each lease held now: its holder and when that holder's hold expires."""
        now = codec.iso(self._clock())
        statement = sa.select(leases.c.name, leases.c.holder, leases.c.expires_at).where(
            leases.c.expires_at > now
        )
        return {
            str(name): (str(holder), codec.from_iso(expires))
            for name, holder, expires in self._connection.execute(statement)
        }
