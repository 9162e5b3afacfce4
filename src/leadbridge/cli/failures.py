"""Known failures in the words of the person who must fix them.

A command that meets a configuration error, a refused login, a missing scope, an
unreachable host or a database without leadbridge's tables prints one plain message
naming the fix and exits 2; the traceback is for `--debug`. The daemon logs the same
facts as fields (what, system, fix) instead of a traceback string.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy.exc

from leadbridge.cli.state import SchemaBehind
from leadbridge.config import ConfigError
from leadbridge.connectors.budget import BudgetPaused
from leadbridge.connectors.errors import Failure, RemoteError
from leadbridge.connectors.salesforce.auth import LoginRefused
from leadbridge.model import System
from leadbridge.store.engine import MissingDatabase

__all__ = ["Known", "known"]

_CREDENTIALS = {
    System.HUBSPOT: "HUBSPOT_TOKEN (the private app's access token, docs/setup-hubspot.md)",
    System.SALESFORCE: (
        "SALESFORCE_URL, SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET "
        "(the connected app, docs/setup-salesforce.md)"
    ),
}
_HOSTS = {System.HUBSPOT: "HUBSPOT_URL", System.SALESFORCE: "SALESFORCE_URL"}
_NO_TABLES = ("no such table", "does not exist", "undefinedtable")


@dataclass(frozen=True)
class Known:
    """A failure a person can act on: what happened, where, and the fix."""

    what: str
    fix: str
    system: str | None = None

    def __str__(self) -> str:
        return f"{self.what}\n  fix: {self.fix}"


def known(exc: BaseException) -> Known | None:
    """The plain account of `exc`, or None for a failure nobody foresaw (a bug)."""
    if isinstance(exc, ConfigError):
        lines = "\n".join(f"  {problem}" for problem in exc.problems)
        count = len(exc.problems)
        what = f"{count} problem{'s' if count != 1 else ''} in the configuration:\n{lines}"
        return Known(what, "correct each line above; `leadbridge check` lists them all")
    if isinstance(exc, LoginRefused | RemoteError):
        return _remote(exc.failure)
    if isinstance(exc, BudgetPaused):
        return Known(str(exc), "wait for the daily allocation to reset, or raise budget.*")
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        return _database(exc)
    if isinstance(exc, MissingDatabase):
        return Known(
            f"no state database at {exc.path}",
            "check --database or $LEADBRIDGE_DATABASE_URL; a new one is made by "
            "`leadbridge db upgrade --url URL`",
        )
    if isinstance(exc, SchemaBehind):
        return Known(
            str(exc), "run `leadbridge db upgrade --url URL` (or with $LEADBRIDGE_DATABASE_URL set)"
        )
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return Known(f"no file at {exc.filename}", "check the path given (or its variable)")
    return None


def _remote(failure: Failure) -> Known:
    system = failure.system
    name = "HubSpot" if system is System.HUBSPOT else "Salesforce"
    said = f"{failure.code}: {failure.message}".strip(": ")
    if failure.status is None:
        return Known(
            f"cannot reach {name} ({said})",
            f"check {_HOSTS[system]} and this machine's network and DNS",
            system.value,
        )
    if failure.status in (400, 401) and _is_login(failure):
        return Known(
            f"{name} refused the credentials ({said})",
            f"check {_CREDENTIALS[system]}",
            system.value,
        )
    if failure.status == 403:
        return Known(
            f"{name} refused the call: a missing scope or permission ({said})",
            "grant what the message names (docs/setup-hubspot.md lists the scopes, "
            "docs/setup-salesforce.md the permission set)",
            system.value,
        )
    return Known(
        f"{name} answered {failure.status} ({said})",
        "see the message; `leadbridge doctor` checks the whole setup",
        system.value,
    )


def _is_login(failure: Failure) -> bool:
    code = failure.code.lower()
    return failure.status == 401 or "invalid_client" in code or "invalid_grant" in code


def _database(exc: sqlalchemy.exc.DBAPIError) -> Known:
    text = str(exc.orig if exc.orig is not None else exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    if any(marker in text.lower() for marker in _NO_TABLES) or "UndefinedTable" in repr(exc.orig):
        return Known(
            f"the state database has no leadbridge tables yet ({first})",
            "run `leadbridge db upgrade --url URL` (or with $LEADBRIDGE_DATABASE_URL set)",
        )
    return Known(
        f"the state database is not reachable ({first})",
        "check --database or $LEADBRIDGE_DATABASE_URL, and that the database is running",
    )
