"""Statements both databases run alike, where SQLAlchemy's spelling differs per dialect, and
the mark a unit of work's own batched statements carry (see `quietly`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

_Insert = sqlite.Insert | postgresql.Insert
_QUIET = "leadbridge.quiet"


def insert(connection: sa.Connection, table: sa.Table) -> _Insert:
    """INSERT that understands ON CONFLICT: SQLite and PostgreSQL share the syntax."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def upsert(
    connection: sa.Connection,
    table: sa.Table,
    row: Mapping[str, Any],
    keys: Sequence[str],
) -> None:
    """Insert `row`, or overwrite every non-key column of the row with the same keys."""
    upsert_many(connection, table, [row], keys)


def upsert_many(
    connection: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
) -> None:
    """Insert `rows` (all with the same columns) or overwrite the non-key columns of rows with
    the same keys, as one executemany: one statement compiled once, whatever the count."""
    if not rows:
        return
    statement = insert(connection, table)
    columns = [name for name in rows[0] if name not in keys]
    changed = {name: statement.excluded[name] for name in columns}
    upserting = statement.on_conflict_do_update(index_elements=list(keys), set_=changed)
    connection.execute(upserting, [dict(row) for row in rows])


def chunks(items: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    """Bound IN lists: SQLite allows a limited number of bound parameters per statement."""
    return [items[start : start + size] for start in range(0, len(items), size)]


@contextmanager
def quietly(connection: sa.Connection) -> Iterator[sa.Connection]:
    """Statements a repository runs for its own cache (a prefetch, a read on a miss, the flush
    of its buffered writes): the unit of work must not flush or forget for them."""
    before = connection.info.get(_QUIET, False)
    connection.info[_QUIET] = True
    try:
        yield connection
    finally:
        connection.info[_QUIET] = before


def is_quiet(connection: sa.Connection) -> bool:
    return bool(connection.info.get(_QUIET, False))
