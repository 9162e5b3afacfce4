"""The one API the sync uses: a Store, and units of work that commit or roll back as one.

Everything that must be true together is written in one `transaction()`:
a page of changes with its cursor; a decision with its journal entries,
snapshots, write-log confirmations and the inbox item marked done. If the
block raises, none of it is stored. There is no global session: whoever
holds the unit of work holds the transaction.

    store = Store.open(url)
    with store.transaction() as uow:
        uow.inbox.enqueue(page.changes, page.removals)
        uow.cursors.save(System.HUBSPOT, "contact", page.cursor)

Work that PostgreSQL may fail with a deadlock while other writers run (a webhook's hints)
goes through `store.run(fn)` instead, which runs `fn` again on a fresh transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

import sqlalchemy as sa

from leadbridge.model import System
from leadbridge.store._sql import is_quiet
from leadbridge.store.actions import ActionLog
from leadbridge.store.alerts import Alerts
from leadbridge.store.engine import READ_ONLY, make_engine, resolve_url
from leadbridge.store.hints import Hints
from leadbridge.store.inbox import Inbox
from leadbridge.store.leases import Leases
from leadbridge.store.links import Links
from leadbridge.store.migrate import current_revision
from leadbridge.store.records import Journal, Parked, WriteLog
from leadbridge.store.replicas import Replicas
from leadbridge.store.retry import ATTEMPTS, backoff, is_retryable
from leadbridge.store.state import Cursors, Leads, Snapshots
from leadbridge.store.statistics import Statistics
from leadbridge.store.switches import Switches

_Clock = Callable[[], datetime]
_T = TypeVar("_T")

_log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _FirstMoment:
    """A clock that keeps answering the first moment it read."""

    def __init__(self, clock: _Clock) -> None:
        self._clock = clock
        self._moment: datetime | None = None

    def __call__(self) -> datetime:
        if self._moment is None:
            self._moment = self._clock()
        return self._moment


class UnitOfWork:
    """One transaction's view of the store; each part speaks for one table or two.

    The parts the sync asks once per record (links, leads, snapshots, the inbox's email
    lines, held leads) remember what they read, and `prefetch` loads a whole round's worth
    in a few IN-list statements. What they write (links, leads, snapshots, finished inbox
    items, planned and confirmed writes, unparked records) is buffered and sent in one
    executemany per kind at `flush`: a round of thousands of people costs a handful of
    statements, not dozens per person. `flush` runs at commit and before any other
    statement (a connection event), so every other query sees the buffered writes; and a
    statement that changes a remembered table makes its part forget what it remembered.
    """

    def __init__(self, connection: sa.Connection, clock: _Clock) -> None:
        self.connection = connection
        self.clock = clock
        # The rows a round writes by the thousand are stamped with one moment, the first
        # asked in the transaction: a new moment per row was 20,000 conversions to text a
        # 10,000-person first sync. Leases, alerts and the rest keep reading the clock, and
        # so does the write log: its unfinished writes go out in the order they were logged.
        stamp = _FirstMoment(clock)
        self.inbox = Inbox(connection, stamp)
        self.cursors = Cursors(connection, clock)
        self.links = Links(connection, stamp, self.inbox)
        self.leads = Leads(connection, stamp, self.links)
        self.snapshots = Snapshots(connection, stamp, self.links)
        self.journal = Journal(connection)
        self.writes = WriteLog(connection, clock)
        self.parked = Parked(connection)
        self.hints = Hints(connection, clock)
        self.leases = Leases(connection, clock)
        self.alerts = Alerts(connection, self.links)
        self.switches = Switches(connection, clock)
        self.actions = ActionLog(connection, clock)
        self.replicas = Replicas(connection, clock)
        self._remembering: dict[str, Links | Leads | Snapshots | Inbox | Parked] = {
            "links": self.links,
            "leads": self.leads,
            "snapshots": self.snapshots,
            "inbox": self.inbox,
            "parked": self.parked,
        }
        sa.event.listen(connection, "before_execute", self._before_execute)

    def prefetch(
        self,
        *,
        records: Iterable[tuple[System, str, str]] = (),
        emails: Iterable[str] = (),
        lead_ids: Iterable[str] = (),
        reopened: Iterable[tuple[System, str, str]] = (),
    ) -> None:
        """Load what deciding these records will ask: their links and snapshots, the links
        of their emails, the leads all of those belong to (with their links, their records'
        snapshots, whether they are held), which records wait in the emails' lines, and
        whether the records a decision may `reopen` have parked items."""
        records, emails = list(records), [email.strip().lower() for email in emails]
        self.links.prefetch(records=records, emails=emails)
        found = set(lead_ids)
        for key in records:
            found.update(self.links.leads_for(*key))
        for email in emails:
            found.update(link.lead_id for link in self.links.by_email(email))
        self.leads.prefetch(found)
        current = {self.leads.resolve(lead) for lead in found}
        self.links.prefetch(leads=current)
        linked = [
            (link.system, link.object, link.record_id)
            for lead in current
            for link in self.links.links_of(lead)
        ]
        self.snapshots.prefetch([*records, *linked])
        self.parked.prefetch(current)
        self.inbox.prefetch(emails)
        self.inbox.prefetch_parked(reopened)

    def flush(self) -> None:
        """Send every buffered write."""
        self.inbox.flush_reopened()  # before the links re-line what it puts back
        self.links.flush()
        self.leads.flush()
        self.snapshots.flush()
        self.inbox.flush()
        self.writes.flush()
        self.parked.flush()
        self.journal.flush()

    def close(self) -> None:
        """Unhook from the connection. The hook and the connection make a reference cycle
        that kept each round's caches alive until a full garbage collection found them."""
        sa.event.remove(self.connection, "before_execute", self._before_execute)

    def _before_execute(self, connection: sa.Connection, statement: Any, *_: Any) -> None:
        if is_quiet(connection):
            return
        self.flush()
        if isinstance(statement, sa.sql.dml.UpdateBase):
            changed = [self._remembering.get(str(getattr(statement.table, "name", "")))]
        elif isinstance(statement, sa.TextClause):
            changed = list(self._remembering.values())
        else:
            return
        for part in changed:
            if part is not None:
                part.forget()


class Store:
    """The state store at one URL. Opening it runs no migrations: `migrate.upgrade` does."""

    def __init__(self, engine: sa.Engine, clock: _Clock = _utc_now) -> None:
        self.engine = engine
        self.clock = clock
        self._statistics = Statistics(engine)

    @classmethod
    def open(
        cls, url: str | None = None, *, clock: _Clock = _utc_now, existing: bool = False
    ) -> Store:
        """The store at `url`; by default LEADBRIDGE_DATABASE_URL or state/leadbridge.db.
        `existing`: for commands that only read, a missing SQLite file is an error
        (store.engine.MissingDatabase), not a new empty database."""
        return cls(make_engine(resolve_url(url), existing=existing), clock)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """Commit when the block ends, roll back everything if it raises."""
        with self.engine.begin() as connection:
            uow = UnitOfWork(connection, self.clock)
            try:
                yield uow
                uow.flush()
            finally:
                uow.close()

    def run(
        self,
        work: Callable[[UnitOfWork], _T],
        *,
        attempts: int = ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> _T:
        """`work` in one transaction, committed; after a deadlock or serialisation failure
        (see retry.py) it is run again whole on a fresh transaction, up to `attempts` times.

        A function, not a `with` block, because a block cannot be run twice. Only for work
        whose every effect is in this transaction: anything it sends or changes outside
        the database would happen once per attempt.
        """
        attempt = 1
        while True:
            try:
                with self.transaction() as uow:
                    return work(uow)
            except sa.exc.DBAPIError as error:
                if attempt >= attempts or not is_retryable(error):
                    raise
                # The database already rolled the transaction back: nothing of it is stored.
                _log.info("transaction retried after %s", type(error.orig).__name__)
            sleep(backoff(attempt))
            attempt += 1

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        """A read that never waits for a writer's lock and stores nothing (always rolled back)."""
        with self.engine.execution_options(**{READ_ONLY: True}).connect() as connection:
            connection.begin()
            uow = UnitOfWork(connection, self.clock)
            try:
                yield uow
            finally:
                uow.close()
                connection.rollback()

    def refresh_statistics(self) -> tuple[str, ...]:
        """After a batch of writes: analyze the tables that outgrew the planner's statistics
        (PostgreSQL; see store.statistics). Returns the tables analyzed."""
        return self._statistics.refresh()

    def revision(self) -> str | None:
        """The schema revision the database is at (None: never upgraded)."""
        with self.engine.connect() as connection:
            return current_revision(connection)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
