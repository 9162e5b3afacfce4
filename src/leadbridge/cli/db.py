"""`leadbridge db upgrade`: create or migrate the state database."""

from __future__ import annotations

import argparse

from leadbridge.cli.options import Commands


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="the state database")
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", help="create or migrate the state database to the latest schema"
    )
    upgrade.add_argument(
        "--url",
        help="SQLAlchemy URL (default: $LEADBRIDGE_DATABASE_URL, else sqlite:///state/leadbridge.db)",
    )
    upgrade.set_defaults(run=_run_upgrade)


def _run_upgrade(args: argparse.Namespace) -> int:
    from leadbridge.store.migrate import db_upgrade

    revision = db_upgrade(args.url)
    print(f"state database at revision {revision}")
    return 0
