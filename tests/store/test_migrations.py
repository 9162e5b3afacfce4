"""Migrations: from empty to head, again without harm, and in step with tables.py."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from leadbridge.store import Store
from leadbridge.store.engine import make_engine
from leadbridge.store.migrate import db_upgrade, upgrade
from leadbridge.store.tables import metadata

HEAD = "0007"


def test_upgrade_from_empty_creates_every_table(empty_url: str) -> None:
    before = Store.open(empty_url)
    try:
        assert before.revision() is None  # opening a store runs no migration
    finally:
        before.close()
    assert upgrade(empty_url) == HEAD
    engine = make_engine(empty_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(metadata.tables) <= names
    assert "alembic_version" in names


def test_upgrade_twice_changes_nothing(empty_url: str) -> None:
    assert db_upgrade(empty_url) == HEAD
    assert db_upgrade(empty_url) == HEAD
    store = Store.open(empty_url)
    try:
        assert store.revision() == HEAD
    finally:
        store.close()


def test_migrations_match_the_tables(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
    assert differences == []
