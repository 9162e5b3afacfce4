"""PostgreSQL's planner statistics, kept up with tables a backlog grows.

A first sync grows the inbox, links, snapshots, leads and write log from nothing to
hundreds of thousands of rows within minutes. The planner picks its plans from the
statistics of the last ANALYZE, and autovacuum analyzes a table only after a pass of its
launcher (a minute by default) and once a tenth of it changed. Until then it believes
the tables are as small as they were, and the plans it picks for small tables scan:
measured on a 30,000-person first sync, a look-up of a few records by id read every
record of their object (`record_id = ANY(...)` became a filter, not an index condition),
and each claim sorted every pending item on disk. Statements took 37.9 s of that sync;
with fresh statistics, 18.4 s. At 100,000 people the slowest look-up averaged a few
milliseconds, and the analyses themselves took about 6 s of the server's time.

So the sync asks for `refresh` after each round and each batch of pages stored: at most
once a second it reads how much each table changed since its last analyze (one query)
and analyzes those that changed by half their size or more: a table growing from empty
is analyzed at about 1,000, 2,000, 4,000... rows, a dozen times up to 1,000,000. A
table this database user may not analyze (it is not its owner) is left to autovacuum.
SQLite plans without statistics and is left alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import sqlalchemy as sa

_log = logging.getLogger(__name__)

# The tables a backlog grows and the sync looks rows up in. (The journal grows too, but a
# sync only appends to it: analyzing it would cost seconds and change no plan of the sync.)
GROWING = ("inbox", "links", "snapshots", "leads", "write_log")
LEAST_CHANGES = 1000  # below this, a plan for the smaller table costs little
EVERY_SECONDS = 1.0  # PostgreSQL publishes its table counters about once a second
PAUSE_AFTER_ERROR_SECONDS = 300.0  # a failed refresh is tried again after this

_CHANGED = sa.text(
    "SELECT s.relname FROM pg_catalog.pg_stat_user_tables AS s"
    " JOIN pg_catalog.pg_class AS c ON c.oid = s.relid"
    " WHERE s.schemaname = current_schema() AND s.relname = ANY(:tables)"
    " AND s.n_mod_since_analyze >= GREATEST(:least, s.n_live_tup / 2)"
    " AND pg_catalog.pg_has_role(c.relowner, 'USAGE')"
    " ORDER BY s.relname"
)


class Statistics:
    """Analyzes the growing tables of one PostgreSQL database when they outgrew their
    statistics (see the module's note); does nothing on SQLite."""

    def __init__(self, engine: sa.Engine, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._clock = clock
        self._checked: float | None = None

    def refresh(self) -> tuple[str, ...]:
        """Analyze the tables that changed by half their size since their last analyze;
        returns their names. Checks at most once a second."""
        if self._engine.dialect.name != "postgresql":
            return ()
        now = self._clock()
        if self._checked is not None and now - self._checked < EVERY_SECONDS:
            return ()
        self._checked = now
        try:
            return self._analyze()
        except sa.exc.DBAPIError as error:
            # Only plans' speed depends on this: the sync goes on, and autovacuum still
            # analyzes in its time. (A standby refuses ANALYZE; a restarting server fails.)
            self._checked = now + PAUSE_AFTER_ERROR_SECONDS
            _log.warning("could not refresh the planner's statistics: %s", error.orig)
            return ()

    def _analyze(self) -> tuple[str, ...]:
        # Autocommit: ANALYZE commits on its own, outside any round's transaction, and
        # SKIP_LOCKED leaves a table another replica is analyzing right now to that one.
        with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            tables = tuple(
                conn.execute(_CHANGED, {"tables": list(GROWING), "least": LEAST_CHANGES})
                .scalars()
                .all()
            )
            if tables:
                started = self._clock()
                names = ", ".join(conn.dialect.identifier_preparer.quote(t) for t in tables)
                conn.exec_driver_sql(f"ANALYZE (SKIP_LOCKED) {names}")
                _log.debug("analyzed %s in %.2f s", ", ".join(tables), self._clock() - started)
        return tables
