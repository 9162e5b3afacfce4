"""Each running daemon's last word about itself, for `leadbridge status` in another process.

What only the daemon knows (its connectors' API budget, whether each CRM answered, when
its last sync cycle ended and what it did) lives in its memory; a row per replica,
rewritten every few seconds, lets a command on any machine show it. Rows of replicas
silent for longer than STALE are deleted by the next report, so a replica replaced
long ago does not linger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from leadbridge.store import codec
from leadbridge.store._sql import upsert
from leadbridge.store.tables import replicas

STALE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ReplicaReport:
    holder: str
    seen_at: datetime
    status: Mapping[str, Any]  # JSON: what the daemon reported (daemon.report)


class Replicas:
    def __init__(self, connection: sa.Connection, clock: Callable[[], datetime]) -> None:
        self._connection = connection
        self._clock = clock

    def report(self, holder: str, status: Mapping[str, Any]) -> None:
        now = self._clock()
        row = {"holder": holder, "seen_at": codec.iso(now), "status": dict(status)}
        upsert(self._connection, replicas, row, ["holder"])
        self._connection.execute(
            sa.delete(replicas).where(replicas.c.seen_at < codec.iso(now - STALE))
        )

    def gone(self, holder: str) -> None:
        """A replica that stopped cleanly says so."""
        self._connection.execute(sa.delete(replicas).where(replicas.c.holder == holder))

    def listing(self) -> list[ReplicaReport]:
        """Every replica heard from within STALE, the most recently heard first."""
        statement = sa.select(replicas).order_by(replicas.c.seen_at.desc(), replicas.c.holder)
        return [
            ReplicaReport(row["holder"], codec.from_iso(row["seen_at"]), row["status"])
            for row in self._connection.execute(statement).mappings()
        ]
