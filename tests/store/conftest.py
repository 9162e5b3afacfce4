"""Store fixtures: a fresh, empty database per test on SQLite and on PostgreSQL.

On PostgreSQL each test gets its own schema, chosen through the URL's
search_path, so tests never see each other's tables and the store code runs
unchanged (it never names a schema).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadbridge.model import Change, System
from leadbridge.store import Store
from leadbridge.store.migrate import upgrade
from tests.schemas import fresh_schema

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FixedClock:
    """A clock the test moves; the store stamps rows with it."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def empty_url(database_url: str) -> Iterator[str]:
    """A database with no leadbridge tables in it, dropped again after the test."""
    if not database_url.startswith("postgresql"):
        yield database_url
        return
    with fresh_schema(database_url) as url:
        yield url


@pytest.fixture
def url(empty_url: str) -> str:
    """A database upgraded to the latest schema."""
    upgrade(empty_url)
    return empty_url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store(url: str, clock: FixedClock) -> Iterator[Store]:
    opened = Store.open(url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL text of every statement the store's engine sends from now on."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", note)
    yield seen
    sa.event.remove(store.engine, "before_cursor_execute", note)


def change(
    record: str,
    minutes: int = 0,
    *,
    system: System = System.HUBSPOT,
    obj: str = "contact",
    **fields: str,
) -> Change:
    return Change(system, obj, record, dict(fields), T0 + timedelta(minutes=minutes))
