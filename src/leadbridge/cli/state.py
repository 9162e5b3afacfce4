"""Opening the state database for the commands that operate the daemon (pause, resume,
status, parked): it must exist and be at this leadbridge's schema, or the command says
which `db upgrade` to run instead of failing on a missing table."""

from __future__ import annotations

import getpass
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from leadbridge.store import Store
from leadbridge.store.migrate import head_revision


class SchemaBehind(Exception):
    """The database is older than this leadbridge (or has no tables yet)."""


@contextmanager
def current_store(url: str | None) -> Iterator[Store]:
    """The store at `url`, checked to be at the latest schema; raises SchemaBehind (a known
    failure: cli.failures words it) or MissingDatabase."""
    with Store.open(url, existing=True) as store:
        found, wanted = store.revision(), head_revision()
        if found is None:
            raise SchemaBehind("the state database has no leadbridge tables yet")
        if found != wanted:
            raise SchemaBehind(
                f"the state database is at schema {found}; this leadbridge needs {wanted}"
            )
        yield store


def person() -> str:
    """Who runs this command, for the record: user@host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
