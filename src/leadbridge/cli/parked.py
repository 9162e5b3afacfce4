"""`leadbridge parked`: records set aside, with their reasons."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from leadbridge.cli.options import Commands, database_option
from leadbridge.store import Store


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    parked_ = commands.add_parser("parked", help="records set aside, with their reasons")
    database_option(parked_)
    parked_.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with Store.open(args.database, existing=True) as store:
        return _parked(store, sys.stdout)


def _parked(store: Store, out: TextIO) -> int:
    with store.reading() as uow:
        records = uow.parked.listing()
        aside = uow.inbox.parked_count()
    if not records:
        print("nothing is parked", file=out)
    for record in records:
        retry = (
            f"next retry {record.next_retry_at:%Y-%m-%d %H:%M}"
            if record.next_retry_at is not None
            else "waits for a person"
        )
        print(
            f"{record.system.value} {record.object} {record.record_id}: {record.reason} "
            f"(since {record.first_seen:%Y-%m-%d %H:%M}, {record.attempts} attempts, {retry})",
            file=out,
        )
    if aside:
        print(
            f"{aside} changes set aside in the inbox: records no lead names yet (deals and "
            "accounts of no converted lead; a conversion brings them in) and the changes of "
            "leads held above",
            file=out,
        )
    return 0
