"""What clears a parked record, in plain words, from the reason the sync parked it with.

The sync parks a record for one of a few reasons (grep `park(` in sync/): two records
claim one person (core.identity.AMBIGUOUS_MATCH, sync.resolve), a deal on an Account
several leads share (sync.resolve), a merge that leaves a lead two records of one kind
(core.identity.fold), a write the CRM refused for its values (sync.write, "To fix: ..."),
a create with no key to upsert by (a person without an email), or a write that failed
and is retried on a timer. Each kind has its own action.
"""

from __future__ import annotations

from dataclasses import dataclass

from leadbridge.core.identity import AMBIGUOUS_MATCH
from leadbridge.model import System
from leadbridge.store import ParkedRecord

_TO_FIX = ". To fix: "
_WRITTEN_AGAIN = "; it is written again when the lead changes"
_NAMES = {System.HUBSPOT: "HubSpot", System.SALESFORCE: "Salesforce"}


@dataclass(frozen=True)
class Kind:
    name: str  # for --format json and scripts
    title: str  # the group's heading
    order: int  # groups a person must act on first come first


DUPLICATE = Kind("duplicate", "Two records claim one person (the lead is held meanwhile)", 0)
SHARED_ACCOUNT = Kind("shared_account", "A deal on an Account several leads share", 1)
MERGE = Kind("merge", "A merge left a lead two records of one kind", 2)
NO_KEY = Kind("no_key", "Records that cannot be created without an email", 3)
REFUSED = Kind("refused", "Writes the CRM refused for their values", 4)
RETRYING = Kind("retrying", "Writes that failed and are retried on a timer", 5)
OTHER = Kind("other", "Other reasons", 6)


def kind_of(record: ParkedRecord) -> Kind:
    reason = record.reason
    if reason.startswith(AMBIGUOUS_MATCH):
        return SHARED_ACCOUNT if " is on Account " in reason else DUPLICATE
    if " was merged into lead " in reason:
        return MERGE
    if record.record_id.startswith("(no key"):
        return NO_KEY  # sync.write._parked_key: a create with nothing to upsert by
    if _TO_FIX in reason:
        return REFUSED
    if record.next_retry_at is not None:
        return RETRYING
    return OTHER


def action(record: ParkedRecord, shown_id: str) -> str:
    """The sentence saying what clears `record`; `shown_id` is how the commands name it."""
    kind = kind_of(record)
    system = _NAMES[record.system]
    retry = f"`leadbridge parked retry {shown_id}`"
    ignore = f'`leadbridge parked ignore {shown_id} --why "..."`'
    if kind is DUPLICATE:
        return (
            f"in {system}, merge or delete the duplicate: the hold lifts by itself once one "
            f"record has the email. If they are different people, give one its own email, "
            f"then {retry}. If this record is not the person, {ignore}"
        )
    if kind is SHARED_ACCOUNT:
        return (
            f"in Salesforce, move the Opportunity to the Account of the lead it belongs to, "
            f"then {retry}"
        )
    if kind is MERGE:
        return (
            f"in {system}, merge the records the reason names too (the parked one then goes "
            f"by itself); to keep them apart, {ignore}"
        )
    if kind is NO_KEY:
        other = "Salesforce" if record.system is System.HUBSPOT else "HubSpot"
        return (
            f"give the person an email in {other} ({system} creates records only by a key to "
            f"upsert by, so that a retry cannot make a twin); the next change then writes it, "
            f"and this entry can go: {ignore}"
        )
    if kind is REFUSED:
        return f"{_fix(record.reason)}; then {retry} sends it again (a change of the lead does too)"
    if kind is RETRYING and record.next_retry_at is not None:
        return (
            f"nothing unless it keeps failing: tried again by itself at "
            f"{record.next_retry_at:%Y-%m-%d %H:%M} UTC (attempts so far: {record.attempts}); "
            f"{retry} tries at the next sync; `leadbridge doctor` checks access"
        )
    return f"read the reason and fix it in {system}, then {retry}; or {ignore}"


def _fix(reason: str) -> str:
    fix = reason.split(_TO_FIX, 1)[1]
    return fix.removesuffix(_WRITTEN_AGAIN).rstrip(". ")
