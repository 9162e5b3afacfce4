"""`leadbridge parked`: records set aside, by person and reason, with what clears each;
`parked retry ID|--all` and `parked ignore ID --why TEXT` act on them (store.actions).

ID is what the listing shows: a record id, the full `system:object:id`, or a person's
email (all their parked records). Every retry and ignore is logged for good with who
did it and why (`parked --history` shows the log): nothing is dropped silently.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from leadbridge.cli.options import Commands, database_option
from leadbridge.cli.parked_advice import action, kind_of
from leadbridge.cli.state import current_store, person
from leadbridge.core.identity import AMBIGUOUS_MATCH
from leadbridge.store import ParkedRecord, Store, UnitOfWork
from leadbridge.store import actions as acts


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    parked_ = commands.add_parser(
        "parked", help="records set aside, with what clears each; retry or ignore them"
    )
    parked_.add_argument("--format", choices=("text", "json"), default="text")
    parked_.add_argument(
        "--history", action="store_true", help="what people retried and ignored, latest first"
    )
    database_option(parked_)
    parked_.set_defaults(run=run)
    verbs = parked_.add_subparsers(dest="parked_command", metavar="ACTION")
    retry = verbs.add_parser("retry", help="try a parked record again at the next sync")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="a record id, system:object:id, or an email")
    which.add_argument("--all", action="store_true", help="every parked record")
    database_option(retry, default=argparse.SUPPRESS)
    retry.set_defaults(run=run_retry)
    ignore = verbs.add_parser("ignore", help="let a parked record go, with the reason why")
    ignore.add_argument("id", help="a record id, system:object:id, or an email")
    ignore.add_argument("--why", required=True, help="kept with the record's log entry")
    database_option(ignore, default=argparse.SUPPRESS)
    ignore.set_defaults(run=run_ignore)


def run(args: argparse.Namespace) -> int:
    with current_store(args.database) as store:
        if args.history:
            return _history(store, args.format, sys.stdout)
        return listing(store, args.format, sys.stdout)


def run_retry(args: argparse.Namespace) -> int:
    with current_store(args.database) as store:
        return retry(store, None if args.all else args.id, person(), sys.stdout)


def run_ignore(args: argparse.Namespace) -> int:
    with current_store(args.database) as store:
        return ignore(store, args.id, args.why, person(), sys.stdout)


def shown_id(record: ParkedRecord, records: Sequence[ParkedRecord]) -> str:
    """The record id, or its full id when another parked record has the same one."""
    twins = sum(1 for other in records if other.record_id == record.record_id)
    plain = twins == 1 and " " not in record.record_id
    return record.record_id if plain else f"'{acts.key_of(record)}'"


def described(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every parked record with its person's email, its kind and its action."""
    records = uow.parked.listing()
    emails = acts.emails_of(uow, records)
    return [
        {
            "id": acts.key_of(record),
            "system": record.system.value,
            "object": record.object,
            "record_id": record.record_id,
            "email": emails.get((record.system.value, record.object, record.record_id)),
            "lead_id": record.lead_id,
            "kind": kind_of(record).name,
            "reason": record.reason,
            "action": action(record, shown_id(record, records)),
            "since": record.first_seen.isoformat(),
            "last_seen": record.last_seen.isoformat(),
            "attempts": record.attempts,
            "next_retry_at": _iso(record.next_retry_at),
            "_order": kind_of(record).order,
            "_title": kind_of(record).title,
        }
        for record in records
    ]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def listing(store: Store, form: str, out: TextIO) -> int:
    with store.reading() as uow:
        rows = described(uow)
        aside = uow.inbox.parked_count()
        ignored = uow.actions.count(acts.IGNORE)
    if form == "json":
        shown = [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]
        body = {"parked": shown, "set_aside_in_inbox": aside, "ignored_before": ignored}
        print(json.dumps(body, indent=2), file=out)
        return 0
    if not rows:
        print("nothing is parked", file=out)
    else:
        _groups(rows, out)
    if aside:
        print(
            f"\n{aside} changes set aside in the inbox: those of the records above, and of "
            "records no lead names yet (deals and accounts of no converted lead: nothing to "
            "do, a conversion brings them in)",
            file=out,
        )
    if ignored:
        print(f"{ignored} records were ignored before: `leadbridge parked --history`", file=out)
    return 0


def _groups(rows: list[dict[str, Any]], out: TextIO) -> None:
    count = len(rows)
    print(f"{count} record{'s' if count != 1 else ''} parked, by reason:", file=out)
    for title in sorted({(r["_order"], r["_title"]) for r in rows}):
        group = [r for r in rows if (r["_order"], r["_title"]) == title]
        print(f"\n{title[1]} ({len(group)})", file=out)
        for row in group:
            attempts = f"{row['attempts']} attempt{'s' if row['attempts'] != 1 else ''}"
            print(
                f"  {row['email'] or '(no email known)'}  {row['system']} {row['object']} "
                f"{row['record_id']}  since {row['since'][:16].replace('T', ' ')}, {attempts}",
                file=out,
            )
            print(f"    why: {row['reason']}", file=out)
            print(f"    to clear: {row['action']}", file=out)


def retry(store: Store, wanted: str | None, by: str, out: TextIO) -> int:
    with store.transaction() as uow:
        records = uow.parked.listing()
        chosen = records if wanted is None else acts.find(uow, wanted, records)
        if not _one_or_more(wanted, chosen, records, out):
            return 1
        done = [acts.retry(uow, record, by=by, hold=AMBIGUOUS_MATCH) for record in chosen]
    for acted in done:
        print(
            f"retry {acts.key_of(acted.record)} ({acted.email or 'no email known'}): "
            f"{acted.items} changes back in line, {acted.writes} writes to send again",
            file=out,
        )
    print(
        f"{len(done)} record{'s' if len(done) != 1 else ''} go again at the next sync; what "
        "still fails is parked again with its reason",
        file=out,
    )
    return 0


def ignore(store: Store, wanted: str, why: str, by: str, out: TextIO) -> int:
    why = " ".join(why.split())
    if not why:
        print("parked ignore: --why needs a few words (kept in the log)", file=out)
        return 2
    with store.transaction() as uow:
        records = uow.parked.listing()
        chosen = acts.find(uow, wanted, records)
        if not _one_or_more(wanted, chosen, records, out):
            return 1
        done = [acts.ignore(uow, r, why=why, by=by, hold=AMBIGUOUS_MATCH) for r in chosen]
    for acted in done:
        print(
            f"ignored {acts.key_of(acted.record)} ({acted.email or 'no email known'}): "
            f"{acted.items} waiting changes settled, {acted.writes} unsent writes given up",
            file=out,
        )
        for twin in acted.released:
            print(f"  and {acts.key_of(twin)}, its one duplicate left, goes again", file=out)
    print(
        "logged with your reason (`leadbridge parked --history`); a new change of the record "
        "is decided afresh",
        file=out,
    )
    return 0


def _one_or_more(
    wanted: str | None, chosen: Sequence[ParkedRecord], records: Sequence[ParkedRecord], out: TextIO
) -> bool:
    if chosen:
        return True
    if wanted is None:
        print("nothing is parked", file=out)
    else:
        print(f"no parked record is {wanted!r}: `leadbridge parked` lists them", file=out)
    return False


def _history(store: Store, form: str, out: TextIO) -> int:
    with store.reading() as uow:
        logged = uow.actions.listing()
    if form == "json":
        rows = [
            {
                "action": a.action,
                "id": f"{a.system.value}:{a.object}:{a.record_id}",
                "email": a.email,
                "reason": a.reason,
                "why": a.why,
                "by": a.by,
                "at": a.at.isoformat(),
            }
            for a in logged
        ]
        print(json.dumps(rows, indent=2), file=out)
        return 0
    if not logged:
        print("nobody has retried or ignored a parked record yet", file=out)
    for a in logged:
        why = f", why: {a.why}" if a.why else ""
        print(
            f"{a.at:%Y-%m-%d %H:%M} {a.action} {a.system.value} {a.object} {a.record_id} "
            f"({a.email or 'no email known'}) by {a.by}{why}; parked for: {a.reason}",
            file=out,
        )
    return 0
