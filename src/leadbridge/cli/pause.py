"""`leadbridge pause` and `leadbridge resume`: the switch every replica honours.

Paused, no replica reads from, decides for or writes to HubSpot and Salesforce (each
job reads the switch at its tick, daemon.pause); webhooks are still stored, and
`sync --once` and `run --max-cycles` do nothing. Resumed, the daemon polls at once from
its saved cursors and works through what was stored meanwhile.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from leadbridge.cli.options import Commands, database_option
from leadbridge.cli.state import current_store, person
from leadbridge.store import Store


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    pause = commands.add_parser(
        "pause",
        help="stop reading, deciding and writing on every replica (webhooks are still stored)",
    )
    pause.add_argument(
        "--why",
        default="no reason given",
        help="shown in /readyz, `leadbridge status`, the log and the Slack health alert",
    )
    database_option(pause)
    pause.set_defaults(run=run_pause)
    resume = commands.add_parser("resume", help="lift `leadbridge pause`: the sync catches up")
    database_option(resume)
    resume.set_defaults(run=run_resume)


def run_pause(args: argparse.Namespace) -> int:
    with current_store(args.database) as store:
        return pause(store, args.why, person(), sys.stdout)


def run_resume(args: argparse.Namespace) -> int:
    with current_store(args.database) as store:
        return resume(store, sys.stdout)


def pause(store: Store, why: str, by: str, out: TextIO) -> int:
    with store.transaction() as uow:
        was = uow.switches.paused()
        now = uow.switches.pause(" ".join(why.split()) or "no reason given", by)
    again = " (it already was; the reason is updated)" if was is not None else ""
    print(f"paused{again}: {now.line()}", file=out)
    print(
        "every replica stops reading, deciding and writing within a few seconds; webhooks "
        "are still stored. `leadbridge resume` goes on",
        file=out,
    )
    return 0


def resume(store: Store, out: TextIO) -> int:
    with store.transaction() as uow:
        lifted = uow.switches.resume()
        waiting = uow.inbox.pending_count() + uow.hints.count()
    if lifted is None:
        print("not paused: nothing to resume", file=out)
        return 0
    print(f"resumed (it was {lifted.line()})", file=out)
    print(
        f"the daemon polls at once and works through {waiting} stored changes and "
        "webhooks; `leadbridge status` shows the lag",
        file=out,
    )
    return 0
