"""The planner's statistics follow a table a backlog grows (PostgreSQL; SQLite is left alone)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from leadbridge.model import System
from leadbridge.store import Store
from leadbridge.store.migrate import upgrade
from leadbridge.store.statistics import LEAST_CHANGES, Statistics
from tests.schemas import fresh_schema

from .conftest import change

_LOOKUP = (
    "SELECT record_id, id, status FROM inbox"
    " WHERE system = 'hubspot' AND object = 'contact' AND record_id = ANY(ARRAY['r7', 'r9'])"
)


class StepClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[Store]:
    """These are PostgreSQL's own statistics: a store there only."""
    with fresh_schema(postgres_url) as url:
        upgrade(url)
        opened = Store.open(url)
        try:
            yield opened
        finally:
            opened.close()


def _fill(store: Store, count: int) -> None:
    with store.transaction() as uow:
        uow.inbox.enqueue([change(f"r{n}", n % 50, email=f"p{n}@x.test") for n in range(count)])


def _refreshed(statistics: Statistics, clock: StepClock, within: float = 15.0) -> tuple[str, ...]:
    """PostgreSQL publishes a session's table counters about once a second: ask until it
    has (each ask a second later on the statistics' clock), or give up after `within`."""
    deadline = time.monotonic() + within
    while True:
        clock.now += 1.5
        analyzed = statistics.refresh()
        if analyzed or time.monotonic() > deadline:
            return analyzed
        time.sleep(0.2)


def _plan(store: Store) -> str:
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN " + _LOOKUP).scalars()
        return "\n".join(rows)


@dataclass
class Grown:
    """A PostgreSQL store whose inbox grew by thousands of items, analyzed since."""

    store: Store
    statistics: Statistics
    clock: StepClock


@pytest.fixture
def grown(pg_store: Store) -> Grown:
    clock = StepClock()
    statistics = Statistics(pg_store.engine, clock=clock)
    _fill(pg_store, 3 * LEAST_CHANGES)
    assert "inbox" in _refreshed(statistics, clock)
    return Grown(pg_store, statistics, clock)


def test_a_grown_table_is_analyzed_and_its_lookups_use_the_record_key(grown: Grown) -> None:
    with grown.store.engine.connect() as connection:
        known = connection.exec_driver_sql(
            "SELECT reltuples FROM pg_class"
            " WHERE relname = 'inbox' AND relnamespace = current_schema()::regnamespace"
        ).scalar_one()
    assert known == 3 * LEAST_CHANGES
    # What the statistics are for: the record ids are part of the index condition, so a
    # look-up reads those records' index entries, not every record of the object.
    plan = _plan(grown.store).splitlines()
    index_condition = next(line for line in plan if "Index Cond" in line)
    assert "record_id" in index_condition
    # Nothing changed since: nothing to analyze.
    grown.clock.now += 5
    assert grown.statistics.refresh() == ()


def test_a_table_that_changed_little_is_not_analyzed(grown: Grown) -> None:
    with grown.store.transaction() as uow:
        uow.inbox.enqueue([change(f"late{n}", system=System.HUBSPOT) for n in range(20)])
    time.sleep(1.2)  # the counters are published
    grown.clock.now += 5
    assert "inbox" not in grown.statistics.refresh()


def test_it_asks_the_database_at_most_once_a_second(store: Store, statements: list[str]) -> None:
    clock = StepClock()
    statistics = Statistics(store.engine, clock=clock)
    statistics.refresh()
    asked = len(statements)
    clock.now += 0.5
    assert statistics.refresh() == ()
    assert len(statements) == asked
    if store.dialect == "sqlite":
        assert asked == 0  # SQLite plans without statistics: never asked


def test_the_store_keeps_the_statistics_of_what_it_grew(store: Store) -> None:
    if store.dialect != "postgresql":
        assert store.refresh_statistics() == ()
        return
    _fill(store, 2 * LEAST_CHANGES)
    deadline = time.monotonic() + 15
    analyzed: tuple[str, ...] = ()
    while "inbox" not in analyzed and time.monotonic() < deadline:
        time.sleep(1.1)  # its own clock: one look a second
        analyzed = store.refresh_statistics()
    assert "inbox" in analyzed


def test_a_failed_analyze_is_logged_and_tried_again_later(
    pg_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """ANALYZE cut short (here by a 1 ms statement timeout; a standby refuses it outright):
    the sync goes on, and the next try waits out a pause."""
    _fill(pg_store, 2 * LEAST_CHANGES)
    url = pg_store.engine.url
    hurried = sa.create_engine(
        url, connect_args={"options": f"{_options(url)} -c statement_timeout=1"}
    )
    clock = StepClock()
    statistics = Statistics(hurried, clock=clock)
    try:
        with caplog.at_level("WARNING", logger="leadbridge.store.statistics"):
            assert _refreshed(statistics, clock, within=5) == ()
        assert "could not refresh the planner's statistics" in caplog.text
        assert "statement timeout" in caplog.text
        warned = len(caplog.records)
        clock.now += 60  # within the pause: not even asked
        assert statistics.refresh() == ()
        assert len(caplog.records) == warned
    finally:
        hurried.dispose()
    # A later refresh on a writable connection analyzes what the refused one could not.
    assert "inbox" in _refreshed(Statistics(pg_store.engine, clock=clock), clock)


def _options(url: sa.URL) -> str:
    """The test schema's search_path travels in the URL's `options` (tests.schemas)."""
    value = url.query.get("options", "")
    return value if isinstance(value, str) else " ".join(value)
