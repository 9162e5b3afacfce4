"""Every reason the sync parks with maps to a kind and a plain action naming the command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadbridge.cli.parked_advice import action, kind_of
from leadbridge.model import System
from leadbridge.store import ParkedRecord

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def parked(
    reason: str,
    record: str = "00Q1",
    retry: datetime | None = None,
    system: System = System.SALESFORCE,
) -> ParkedRecord:
    return ParkedRecord(system, "Lead", record, "L1", reason, T0, T0, 2, retry)


@pytest.mark.parametrize(
    ("record", "kind", "says"),
    [
        (
            parked("ambiguous match: 2 Salesforce leads share kim@orbit.io"),
            "duplicate",
            "in Salesforce, merge or delete the duplicate",
        ),
        (
            parked(
                "ambiguous match: Opportunity 006A is on Account 001A, which 2 leads share (a, b)"
            ),
            "shared_account",
            "move the Opportunity to the Account of the lead it belongs to",
        ),
        (
            parked(
                "lead L2 was merged into lead L1, which cannot also hold Salesforce lead 00Q2 "
                "(it keeps Salesforce lead 00Q1): merge those records too"
            ),
            "merge",
            "in Salesforce, merge the records the reason names too",
        ),
        (
            parked(
                "salesforce 200 STRING_TOO_LONG: FirstName too long. To fix: shorten the value "
                "of FirstName; it is written again when the lead changes"
            ),
            "refused",
            "shorten the value of FirstName; then `leadbridge parked retry 00Q1` sends it again",
        ),
        (
            parked("hubspot no answer UNSUPPORTED_WRITE", "(no key, lead L1)", T0, System.HUBSPOT),
            "no_key",
            "give the person an email in Salesforce",
        ),
        (
            parked("salesforce 503 : Service Unavailable", retry=T0 + timedelta(minutes=5)),
            "retrying",
            "tried again by itself at 2026-03-02 09:05 UTC (attempts so far: 2)",
        ),
        (parked("something new"), "other", "read the reason and fix it in Salesforce"),
    ],
)
def test_each_reason_has_its_action(record: ParkedRecord, kind: str, says: str) -> None:
    assert kind_of(record).name == kind
    assert says in action(record, record.record_id)
