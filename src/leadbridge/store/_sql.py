"""Statements both databases run alike, where SQLAlchemy's spelling differs per dialect, and
the mark a unit of work's own batched statements carry (see `quietly`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

from leadbridge.store import codec

_Insert = sqlite.Insert | postgresql.Insert
_QUIET = "leadbridge.quiet"


def insert(connection: sa.Connection, table: sa.Table) -> _Insert:
    """INSERT that understands ON CONFLICT: SQLite and PostgreSQL share the syntax."""
    return _insert(connection.dialect.name, table)


def _insert(dialect: str, table: sa.Table) -> _Insert:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


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
    statement = _upserting(connection.dialect.name, table, tuple(rows[0]), tuple(keys))
    execute_many(connection, statement, rows)


@lru_cache(maxsize=64)
def _upserting(
    dialect: str, table: sa.Table, names: tuple[str, ...], keys: tuple[str, ...]
) -> _Insert:
    """The upsert of rows of these columns, one object per shape: `execute_many` then finds
    it compiled (repositories flush their buffers several times a round)."""
    statement = _insert(dialect, table)
    changed = {name: statement.excluded[name] for name in names if name not in keys}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=changed)


@lru_cache(maxsize=32)
def insert_new(dialect: str, table: sa.Table, keys: tuple[str, ...]) -> _Insert:
    """INSERT ... ON CONFLICT (keys) DO NOTHING, one object per table (see `_upserting`)."""
    statement = _insert(dialect, table)
    return statement.on_conflict_do_nothing(index_elements=list(keys))


class _Prepared(NamedTuple):
    """A statement compiled for executemany, and how a row becomes its parameters."""

    sql: str
    names: list[str]  # the bind names in the SQL's order
    fixed: dict[str, Any]  # values the statement carries itself (an update's `done_at=now`)
    processors: list[tuple[int, Callable[[Any], Any]]]
    keys: list[str] | None  # for a driver taking named parameters: each name as bound
    elements: str | None  # PostgreSQL: the statement taking its rows as one JSON text


def execute_many(
    connection: sa.Connection, statement: UpdateBase, rows: Sequence[Mapping[str, Any]]
) -> int:
    """`connection.execute(statement, rows)` for a repository's buffered writes (`quietly`):
    compiled once, and each row handed to the driver's executemany as the plain values the
    compiled SQL binds, through the columns' own bind processors (JSON to text, say).

    Why: SQLAlchemy builds every row of an executemany through `construct_params` and its
    execution context, about as much CPU again as the statement itself in SQLite; a first
    sync of 10,000 people spent 2 of its 16 profiled seconds there. Rows must all name the
    same columns. The statement still passes the engine's events once (`before_execute` with
    the SQL text, `before_cursor_execute` per executemany), so counting statements still
    works. Outside a quiet block (where the unit of work must see the statement object to
    know which cache to forget) and for anything this does not handle, plain `execute`.
    On PostgreSQL the rows go as one JSON text (`_elements_insert`, `_elements_where`).

    What compiling found is kept for the statement object (the last 64): pass the same
    object again, as `upsert_many` and the repositories' fixed statements do, and it is not
    compiled again (compiling was 1.6% of a first sync's CPU). Returns the rows changed."""
    if not rows:
        return 0
    prepared = (
        _prepare(statement, connection.dialect, tuple(rows[0])) if is_quiet(connection) else None
    )
    if prepared is None:
        return connection.execute(statement, [dict(row) for row in rows]).rowcount
    names, fixed = prepared.names, prepared.fixed
    if fixed:
        rows = [{**fixed, **row} for row in rows]
    # The rows' values in the SQL's order, then column by column through the processors:
    # itemgetter, map and zip run in C, so a row costs no Python-level loop of its own.
    take = itemgetter(*names)
    values: list[Any] = list(map(take, rows)) if len(names) > 1 else list(zip(map(take, rows)))
    if prepared.processors:
        columns: list[Iterable[Any]] = list(zip(*values, strict=True))
        for index, process in prepared.processors:
            columns[index] = map(process, columns[index])
        values = list(zip(*columns, strict=True))
    if prepared.elements is not None:
        return _with_json(connection, prepared.elements, values)
    params: list[Any] = values
    if prepared.keys is not None:
        keys = prepared.keys
        params = [dict(zip(keys, row, strict=True)) for row in values]
    return connection.exec_driver_sql(prepared.sql, params).rowcount


@lru_cache(maxsize=64)
def _prepare(
    statement: UpdateBase, dialect: sa.Dialect, given: tuple[str, ...]
) -> _Prepared | None:
    """`statement` compiled for rows naming `given`; None: not one to run plainly."""
    compiled = statement.compile(dialect=dialect, column_keys=list(given), for_executemany=True)
    plan = _row_plan(compiled, given)
    if plan is None:
        return None
    names, fixed = plan
    elements = None
    if dialect.name == "postgresql":
        elements = (
            _elements_insert(statement, compiled.string, names, dialect)
            if isinstance(statement, sa.Insert)
            else _elements_where(compiled.string, names)
        )
    # Rows going as JSON text carry each JSON column's own text, cast back in SQL (psycopg's
    # processor would wrap it for the driver instead). SQLite's JSON processor makes that
    # same text, through a call of its own per value.
    as_text = elements is not None or dialect.name == "sqlite"
    processors = _processors(compiled, names, json_as_text=as_text)
    keys = None
    if not compiled.positional:
        escaped = compiled.escaped_bind_names
        keys = [escaped.get(name, name) for name in names]
    return _Prepared(compiled.string, names, fixed, processors, keys, elements)


# PostgreSQL: many rows go as one JSON array of rows, taken apart by one short statement
# (`INSERT ... SELECT (_r->>0)::type, ... FROM json_array_elements(%s::json) AS _r`, and
# `UPDATE ... FROM json_array_elements(...)`). psycopg sends an executemany row by row
# through its pipeline (a third of a first sync's CPU there), a multi-row VALUES makes it
# parse thousands of marks, and one array per column made it dump every cell in Python
# (a tenth of a first sync's CPU): one JSON text is written by orjson in C. Cells keep
# the values the bind processors made (a JSON column's text), each cast in SQL to its
# column's type, so what is stored is what a plain INSERT would store. Every buffer that
# flushes this way holds one row per key.
_ROWS_PER_STATEMENT = 2000
_VALUES = re.compile(r"VALUES (\((?:%\(\w+\)s|[^()])*\))")  # marks are %(name)s
_BIND = re.compile(r"%\((\w+)\)s")


def _element(index: int, cast: str) -> str:
    return f"(_r->>{index})::{cast}"


def _elements_insert(
    statement: sa.Insert, sql: str, names: Sequence[str], dialect: sa.Dialect
) -> str | None:
    """The INSERT as `INSERT ... SELECT (_r->>i)::type, ... FROM json_array_elements(%s)`,
    where i is the value's place in `names`. None: not an INSERT of one VALUES row of
    columns named as `names`."""
    found = _VALUES.search(sql)
    if found is None or _BIND.search(sql[found.end() :]):
        return None
    bound = _BIND.findall(found.group(1))
    table = statement.table
    if not bound or any(name not in names or name not in table.c for name in bound):
        return None
    cells = ", ".join(
        _element(names.index(name), table.c[name].type.compile(dialect=dialect)) for name in bound
    )
    # Only the compiled statement and type names from the metadata: every value is bound.
    rows = "FROM json_array_elements(%s::json) AS _r"
    return f"{sql[: found.start()]}SELECT {cells} {rows}{sql[found.end() :]}"


_CAST_BIND = re.compile(r"%\((\w+)\)s::(\w+)")


def _elements_where(sql: str, names: Sequence[str]) -> str | None:
    """An UPDATE or DELETE run once per row as one statement joined to the rows
    (`UPDATE t SET c = (_r->>1)::type FROM json_array_elements(%s) AS _r WHERE t.k =
    (_r->>0)::type`). None: a statement of another form, or a mark without a cast."""
    head, where, tail = sql.partition(" WHERE ")
    if not where or not sql.startswith(("UPDATE ", "DELETE FROM ")) or " RETURNING " in sql:
        return None
    marks, casts = _BIND.findall(sql), _CAST_BIND.findall(sql)
    if not casts or len(marks) != len(casts) or any(name not in names for name, _ in casts):
        return None
    text = _CAST_BIND.sub(lambda bound: _element(names.index(bound[1]), bound[2]), sql)
    head, where, tail = text.partition(" WHERE ")
    joined = "FROM" if sql.startswith("UPDATE ") else "USING"
    return f"{head} {joined} json_array_elements(%s::json) AS _r{where}{tail}"


def _with_json(connection: sa.Connection, sql: str, values: Sequence[Sequence[Any]]) -> int:
    count = 0
    for start in range(0, len(values), _ROWS_PER_STATEMENT):
        rows = codec.dumps(values[start : start + _ROWS_PER_STATEMENT])
        count += connection.exec_driver_sql(sql, (rows,)).rowcount
    return count


def _row_plan(
    compiled: sa.engine.Compiled, first: Collection[str]
) -> tuple[list[str], dict[str, Any]] | None:
    """The bind names in the order the SQL takes them, and the values of those the rows do
    not give (the statement's own). None: a statement this cannot run plainly."""
    assert isinstance(compiled, SQLCompiler)
    if compiled.literal_execute_params or compiled.post_compile_params:
        return None
    names = compiled.positiontup if compiled.positional else list(compiled.binds)
    if not names:
        return None
    fixed: dict[str, Any] = {}
    for name in names:
        bind = compiled.binds[name]
        if name in first:
            continue
        if bind.required or bind.callable is not None:
            return None
        fixed[name] = bind.effective_value
    return list(names), fixed


def _processors(
    compiled: sa.engine.Compiled, names: Sequence[str], *, json_as_text: bool = False
) -> list[tuple[int, Callable[[Any], Any]]]:
    """Each bound position whose type converts values for the driver, with its converter;
    with `json_as_text`, a JSON column's converter is the engine's serializer itself (the
    text SQLite's JSON processor makes too: None is "null", not SQL NULL)."""
    assert isinstance(compiled, SQLCompiler)
    dialect = compiled.dialect
    found: list[tuple[int, Callable[[Any], Any]]] = []
    for index, name in enumerate(names):
        kind = compiled.binds[name].type
        if json_as_text and isinstance(kind, sa.JSON):
            found.append((index, codec.dumps))
            continue
        process = kind.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            found.append((index, process))
    return found


def select_in(
    connection: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    key: str,
    values: Sequence[Any],
    equal: Mapping[str, Any] | None = None,
) -> Iterator[tuple[Any, ...]]:
    """The `columns` of the rows of `table` whose `key` is one of `values` and whose `equal`
    columns have those values, as tuples (JSON columns decoded), in chunks of 500 values.

    Plain SQL through the driver: the sync's look-ups ask this thousands of times a round,
    and building, caching and expanding a SQLAlchemy select each time was most of their CPU
    (the database's own work was the smaller part). The text is made once per shape; on
    PostgreSQL the values go as one JSON text made an array (`= ANY`), on SQLite as one `?`
    each."""
    if not values:
        return
    equal = equal or {}
    postgres = connection.dialect.name == "postgresql"
    json = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, sa.JSON)]
    decode = [] if postgres else json  # psycopg decodes JSON itself (the engine's loads)
    for part in chunks(values):
        shape = (connection.dialect.name, table.name, tuple(columns), key, tuple(equal), len(part))
        sql = _SELECTS.get(shape)
        if sql is None:
            sql = _SELECTS[shape] = _select_text(connection.dialect, table, shape)
        params = [*equal.values(), codec.dumps(part)] if postgres else [*equal.values(), *part]
        # Fetched in one call: iterating the result fetched row by row, each a Python-level
        # call in psycopg (5% of a first sync's CPU on PostgreSQL).
        rows = connection.exec_driver_sql(sql, tuple(params)).fetchall()
        if not decode:
            yield from rows
            continue
        for row in rows:
            cells = list(row)
            for index in decode:
                if isinstance(cells[index], str):
                    cells[index] = codec.loads(cells[index])
            yield tuple(cells)


_SELECTS: dict[tuple[Any, ...], str] = {}


def _select_text(dialect: sa.Dialect, table: sa.Table, shape: tuple[Any, ...]) -> str:
    _, _, columns, key, equal, count = shape
    quote = dialect.identifier_preparer.quote
    mark = "%s" if dialect.name == "postgresql" else "?"
    tests = [f"{quote(name)} = {mark}" for name in equal]
    if dialect.name == "postgresql":
        # The values as one JSON text (psycopg dumps a list's items one by one in Python),
        # made an array once (an InitPlan), so the key's index still serves `= ANY`.
        cast = table.c[key].type.compile(dialect=dialect)
        values = f"SELECT _v::{cast} FROM json_array_elements_text(%s::json) AS _v"  # noqa: S608
        tests.append(f"{quote(key)} = ANY(ARRAY({values}))")
    else:
        tests.append(f"{quote(key)} IN ({', '.join([mark] * count)})")
    listed = ", ".join(quote(name) for name in columns)
    # Only names from the table's metadata, quoted by the dialect, go into the text; every
    # value is bound.
    return f"SELECT {listed} FROM {quote(table.name)} WHERE {' AND '.join(tests)}"  # noqa: S608


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
