"""`leadbridge explain`: a lead's story, each transition with its rule, cause and writes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from leadbridge.cli.options import Commands, database_option
from leadbridge.model import System
from leadbridge.store import Store, UnitOfWork


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    explain_ = commands.add_parser(
        "explain", help="a lead's story: each transition, its rule and cause, what was written"
    )
    explain_.add_argument("key", metavar="EMAIL_OR_ID", help="an email, lead id or record id")
    database_option(explain_)
    explain_.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with Store.open(args.database, existing=True) as store:
        return _explain(store, args.key, sys.stdout)


# Where a bare record id may live, so `explain 00Q...` finds its lead without saying which.
_RECORD_KINDS = (
    (System.HUBSPOT, "contact"),
    (System.SALESFORCE, "Lead"),
    (System.SALESFORCE, "Contact"),
    (System.SALESFORCE, "Opportunity"),
)


def _find_lead(uow: UnitOfWork, key: str) -> str | None:
    """The lead an email, a lead id or a record id of either system names."""
    if "@" in key:
        found = {link.lead_id for link in uow.links.by_email(key)}
        return uow.leads.resolve(sorted(found)[0]) if found else None
    if uow.leads.load(key) is not None:
        return uow.leads.resolve(key)
    for system, obj in _RECORD_KINDS:
        leads = uow.links.leads_for(system, obj, key)
        if leads:
            return uow.leads.resolve(leads[0])
    return None


def _explain(store: Store, key: str, out: TextIO) -> int:
    with store.reading() as uow:
        lead_id = _find_lead(uow, key)
        lead = uow.leads.load(lead_id) if lead_id is not None else None
        if lead is None:
            print(f"no lead is known by {key}", file=out)
            return 1
        entries = uow.journal.entries(lead.id)
    ids = lead.identity
    print(
        f"lead {lead.id}: {lead.stage} since {lead.stage_entered_at:%Y-%m-%d %H:%M} UTC", file=out
    )
    print(
        f"  records: hubspot contact {ids.hubspot or '-'}, salesforce Lead "
        f"{ids.salesforce_lead or '-'}, Contact {ids.salesforce_contact or '-'}",
        file=out,
    )
    for entry in entries:
        t = entry.transition
        print(
            f"{t.at:%Y-%m-%d %H:%M} {t.from_stage} -> {t.to_stage}: rule {t.rule}, "
            f"reason {t.reason}; caused by {t.cause.system.value} {t.cause.object} "
            f"{t.cause.id} (modified {t.cause.modified_at:%Y-%m-%d %H:%M})",
            file=out,
        )
        for line in _describe_writes(entry.writes):
            print(f"    wrote {line}", file=out)
    if not entries:
        print("  no transitions yet", file=out)
    return 0


def _describe_writes(writes: Sequence[dict[str, Any]]) -> list[str]:
    """One line per record a transition wrote (store.records._write_json's shape)."""
    lines = []
    for write in writes:
        where = write.get("id") or "new ({})".format("=".join(map(str, write.get("key") or ())))
        fields: dict[str, Any] = {}
        for step in write.get("steps") or ():
            fields.update(step)
        shown = ", ".join(f"{name}={value!r}" for name, value in fields.items())
        lines.append(f"{write.get('system')} {write.get('object')} {where}: {shown}")
    return lines
