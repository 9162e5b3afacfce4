"""Statements both databases run alike, where SQLAlchemy's spelling differs per dialect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

_Insert = sqlite.Insert | postgresql.Insert


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
    statement = insert(connection, table).values(dict(row))
    changed = {name: statement.excluded[name] for name in row if name not in keys}
    connection.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changed))


def chunks(items: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    """Bound IN lists: SQLite allows a limited number of bound parameters per statement."""
    return [items[start : start + size] for start in range(0, len(items), size)]
