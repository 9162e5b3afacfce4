"""Connections: SQLite with WAL and foreign keys on, PostgreSQL by URL, a default path."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from leadbridge.store import Store
from leadbridge.store.engine import (
    SQLITE_CHECKPOINT_PAGES,
    URL_ENV,
    default_url,
    make_engine,
)

from .conftest import change


def test_connections_are_set_up_for_the_store(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                # Checkpoints once the WAL holds 64 MiB, and cut it back to that size after.
                pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
                assert pages == SQLITE_CHECKPOINT_PAGES == 16_384
                limit = connection.exec_driver_sql("PRAGMA journal_size_limit").scalar()
                assert limit == 64 * 1024 * 1024
            else:
                assert engine.dialect.name == "postgresql"
                path = connection.execute(sa.text("SHOW search_path")).scalar()
                assert str(path).startswith("t_")  # the test's own schema
    finally:
        engine.dispose()


def test_default_is_sqlite_under_state(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_url() == "sqlite:///state/leadbridge.db"
    engine = make_engine(None)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()
    assert (tmp_path / "state" / "leadbridge.db").exists()
    monkeypatch.setenv(URL_ENV, database_url)
    assert default_url() == database_url


def test_a_reader_does_not_wait_for_a_writer(url: str) -> None:
    writer, reader = Store.open(url), Store.open(url)
    try:
        with writer.transaction() as uow:
            uow.inbox.enqueue([change("c1")])
        with writer.transaction() as writing:
            writing.inbox.enqueue([change("c2")])
            # On SQLite a second BEGIN IMMEDIATE would block here for the busy timeout.
            with reader.reading() as reading:
                assert reading.inbox.pending_count() == 1  # the uncommitted c2 is not seen
        with reader.reading() as reading:
            assert reading.inbox.pending_count() == 2
            reading.inbox.enqueue([change("c3")])  # rolled back: a read stores nothing
        with reader.reading() as reading:
            assert reading.inbox.pending_count() == 2
    finally:
        writer.close()
        reader.close()
