"""The inbox's claim indexes hold pending items only (migration 0007), and the inbox's
queries are served by them.

Why it matters: a finished item used to move to a "done" part of both indexes at a random
place (its line's key is an email's hash), and on a 100,000-person first sync each round
wrote those pages again. A partial index serves a query only when the planner can tell the
query's status matches its condition: SQLite and PostgreSQL both plan with the bound
values, and the plans below show the indexes in use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from leadbridge.model import System
from leadbridge.store import Store
from leadbridge.store.migrate import upgrade

from .conftest import change


def _definitions(store: Store) -> dict[str, str]:
    with store.engine.connect() as connection:
        if store.dialect == "sqlite":
            rows = connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'inbox'"
            )
        else:
            rows = connection.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'inbox'"
            )
        return {str(name): str(sql) for name, sql in rows if sql is not None}


def test_the_claim_indexes_hold_pending_items_and_the_parked_index_parked_ones(
    store: Store,
) -> None:
    found = _definitions(store)
    for name in ("ix_inbox_claim", "ix_inbox_order"):
        assert "pending" in found[name].split("WHERE", 1)[1], found[name]
    assert "parked" in found["ix_inbox_parked"].split("WHERE", 1)[1]
    with store.engine.connect() as connection:
        names = {index["name"] for index in sa.inspect(connection).get_indexes("journal")}
    assert "ix_journal_lead" not in names  # uq_journal_cause starts with lead_id


@contextmanager
def _statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """Each statement sent, with its parameters: the conftest's `statements` keeps the text
    only, and a plan of these queries needs the values they were bound with."""
    seen: list[tuple[str, Any]] = []

    def grab(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", grab)


def _plan(store: Store, statement: str, parameters: Any) -> str:
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return " | ".join(str(row[-1]) for row in rows)


def test_claims_and_email_lines_are_read_through_the_partial_indexes(tmp_path: Path) -> None:
    """On SQLite, whose plans follow fixed rules (PostgreSQL's follow its statistics)."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    upgrade(url)
    with Store.open(url) as store:
        with store.transaction() as uow:
            uow.inbox.enqueue([change(str(n), email=f"p{n}@example.com") for n in range(5)])
        with _statements(store) as seen, store.transaction() as uow:
            assert len(uow.inbox.claim(10)) == 5
            uow.inbox.prefetch(["p1@example.com"])
            assert uow.inbox.pending_with_email(System.HUBSPOT, "p1@example.com")
            assert uow.inbox.pending_count() == 5
        claim, line, count = (plain for plain in seen if plain[0].startswith("SELECT"))
        assert "ix_inbox_order" in _plan(store, *claim)
        assert "ix_inbox_claim" in _plan(store, *claim)  # the older item of the same line
        assert "ix_inbox_claim" in _plan(store, *line)
        assert "ix_inbox_order" in _plan(store, *count)


def test_a_finished_item_leaves_the_pending_index(store: Store, database_url: str) -> None:
    with store.transaction() as uow:
        uow.inbox.enqueue([change(str(n)) for n in range(3)])
    with store.transaction() as uow:
        first, *_ = uow.inbox.claim(10)
        uow.inbox.done([first.id])
    with store.engine.connect() as connection:
        if database_url.startswith("sqlite"):
            # INDEXED BY reads the partial index itself: what it holds, not what the table has.
            indexed = connection.exec_driver_sql(
                "SELECT count(*) FROM inbox INDEXED BY ix_inbox_order WHERE status = 'pending'"
            ).scalar()
            assert indexed == 2
        pending = connection.exec_driver_sql(
            "SELECT count(*) FROM inbox WHERE status = 'pending'"
        ).scalar()
        assert pending == 2
