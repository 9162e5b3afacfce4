"""Which database, and how to connect to it: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from leadbridge.store import codec

_DEFAULT_PATH = Path("state") / "leadbridge.db"
URL_ENV = "LEADBRIDGE_DATABASE_URL"
SQLITE_CACHE_KIB = 32 * 1024  # per connection: the sync's own and each reader's
SQLITE_CHECKPOINT_PAGES = 16_384  # 64 MiB of WAL at SQLite's 4 KiB pages
# Execution option marking a connection that only reads (see Store.reading).
READ_ONLY = "leadbridge_read_only"


def default_url() -> str:
    """The URL in LEADBRIDGE_DATABASE_URL, else SQLite at state/leadbridge.db (relative to cwd)."""
    return os.environ.get(URL_ENV) or f"sqlite:///{_DEFAULT_PATH}"


def resolve_url(url: str | None) -> str:
    return url or default_url()


class MissingDatabase(Exception):
    """A command that only reads was pointed at a SQLite file that does not exist."""

    def __init__(self, path: str) -> None:
        super().__init__(f"no state database at {path}")
        self.path = path


# JSON columns through orjson, dates tagged (store.codec): a first sync encodes and decodes
# hundreds of thousands of them, and the standard library's json was a tenth of its CPU.
_JSON: dict[str, Any] = {"json_serializer": codec.dumps, "json_deserializer": codec.loads}


def make_engine(url: str | None = None, *, existing: bool = False) -> sa.Engine:
    """An engine whose transactions behave the same way on both databases. `existing`: the
    SQLite file must be there already (read-only commands create nothing, not even it)."""
    parsed = sa.make_url(resolve_url(url))
    if parsed.get_backend_name() != "sqlite":
        # A database that does not answer must not hang a shutdown or a readiness probe.
        # prepare_threshold None: psycopg would otherwise prepare a statement after its fifth
        # run, and PostgreSQL may keep a generic plan made while the tables were small (a
        # sequential scan under every IN-list of a first sync: 0.5 s a statement at 100,000).
        connect: dict[str, Any] = {"connect_timeout": 10, "prepare_threshold": None}
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect, **_JSON)
    if parsed.database and parsed.database != ":memory:":
        if existing and not Path(parsed.database).is_file():
            raise MissingDatabase(parsed.database)
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # The driver's own transaction handling starts transactions late and
    # ignores DDL; with it off, SQLAlchemy's begin() emits BEGIN itself.
    engine = sa.create_engine(
        parsed, connect_args={"isolation_level": None, "timeout": 30}, **_JSON
    )
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers (the CLI, /readyz) run while the sync writes.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # 32 MiB of pages instead of SQLite's 2 MiB: the indexes keyed by lead id, email and
        # write key take inserts all over their pages, and once a state database outgrew the
        # cache each of those inserts read its page back from the file (a first sync of
        # 100,000 people spent a third of its CPU in SQLite against a tenth at 10,000).
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        # Pages are copied from the WAL into the database once the WAL holds this many, not
        # after every commit of more than 1,000 (SQLite's default): a page the rounds of a
        # first sync change again and again (an index keyed by lead id or email) is copied
        # once per checkpoint instead of once per round. The WAL file is cut back to the
        # same size after each checkpoint.
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA journal_size_limit={SQLITE_CHECKPOINT_PAGES * 4096}")
    finally:
        cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        # A reader (the CLI listing parked records) must not wait for the sync's write lock.
        connection.exec_driver_sql("BEGIN")
        return
    # IMMEDIATE takes the write lock up front: two processes that both read
    # then write would otherwise deadlock on the upgrade and one would fail.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
