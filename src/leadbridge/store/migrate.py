"""Schema migrations, run from code: `leadbridge db upgrade` and the tests call `upgrade`.

No alembic.ini: the scripts ship inside the package (migrations/), so an
installed leadbridge can upgrade its own database from any directory.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from leadbridge.store.engine import make_engine

_MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: replicas starting together upgrade one after the other.
_LOCK_ID = 0x1EADB41D


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str | None = None, revision: str = "head") -> str:
    """Bring the database at `url` (default: state/leadbridge.db) to `revision`; safe to repeat."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_ID)))
            command.upgrade(_alembic_config(connection), revision)
            reached = current_revision(connection)
    finally:
        engine.dispose()
    if reached is None:
        raise RuntimeError(f"no migration reached {revision!r}")
    return reached


def db_upgrade(url: str | None) -> str:
    """What `leadbridge db upgrade [--url URL]` does; returns the revision the database is at."""
    return upgrade(url)


def head_revision() -> str:
    """The revision this leadbridge's migrations end at (what `db upgrade` brings to)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations are packaged")
    return head
