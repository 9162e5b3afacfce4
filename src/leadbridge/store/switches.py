"""Switches a person flips for every replica at once: today the pause (`leadbridge pause`).

A switch that is on is a row; off is no row. Every job of every replica reads it at each
tick (one primary-key look-up), so pausing needs no message to any replica, survives a
restart, and a replica started while paused starts paused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from leadbridge.store import codec
from leadbridge.store._sql import upsert
from leadbridge.store.tables import switches

PAUSE = "pause"


@dataclass(frozen=True, slots=True)
class Pause:
    """Who paused the sync, when, and why."""

    why: str
    by: str
    at: datetime

    def line(self) -> str:
        """One line for /readyz, `leadbridge status` and a refusal."""
        return f"paused since {self.at:%Y-%m-%d %H:%M} UTC by {self.by}: {self.why}"


class Switches:
    def __init__(self, connection: sa.Connection, clock: Callable[[], datetime]) -> None:
        self._connection = connection
        self._clock = clock

    def paused(self) -> Pause | None:
        """The pause in force, or None: the sync runs."""
        row = self._connection.execute(
            sa.select(switches.c.why, switches.c.by, switches.c.at).where(switches.c.name == PAUSE)
        ).one_or_none()
        return None if row is None else Pause(row.why, row.by, codec.from_iso(row.at))

    def pause(self, why: str, by: str) -> Pause:
        """Pause (again: the latest words and time win); returns the pause in force."""
        now = self._clock()
        row = {"name": PAUSE, "why": why, "by": by, "at": codec.iso(now)}
        upsert(self._connection, switches, row, ["name"])
        return Pause(why, by, codec.from_iso(codec.iso(now)))

    def resume(self) -> Pause | None:
        """Lift the pause; returns the one lifted (None: it was not paused)."""
        lifted = self.paused()
        self._connection.execute(sa.delete(switches).where(switches.c.name == PAUSE))
        return lifted
