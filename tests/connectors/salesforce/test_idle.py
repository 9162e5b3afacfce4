"""A poll with nothing new is one call and delivers nothing; the lag tolerance is paid once;
deletions arrive on their own schedule, inside that one call. Calls are the connector's own
count of requests sent (each retry counts)."""

from __future__ import annotations

from datetime import datetime, timedelta

from leadbridge.connectors.base import Cursor
from leadbridge.connectors.salesforce import composite
from leadbridge.connectors.salesforce import reads as salesforce_reads
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.model import Change, Removal
from tests.connectors.salesforce.support import drain, ids
from tests.sandbox.salesforce_fixtures import RunningOrg

OBJECTS = ("Contact", "Lead", "Opportunity")  # what the shipped mappings read, in poll order


class Poller:
    """Polls OBJECTS as the sync does (each with its saved cursor, one `now`), counting calls."""

    def __init__(self, connector: SalesforceConnector) -> None:
        self.connector = connector
        self.cursors: dict[str, Cursor | None] = dict.fromkeys(OBJECTS)

    def poll(self, now: datetime) -> tuple[int, list[Change], list[Removal]]:
        before = self.calls()
        changes: list[Change] = []
        removals: list[Removal] = []
        for obj in OBJECTS:
            drained = drain(self.connector, obj, self.cursors[obj], now)
            self.cursors[obj] = drained.cursor
            changes += drained.changes
            removals += drained.removals
        return self.calls() - before, changes, removals

    def calls(self) -> int:
        """API calls, as the org's allocation counts them: every request but the login."""
        sent = self.connector.requests
        return sent.total() - sent["login"]


def _world(org: RunningOrg) -> list[str]:
    """Leads, one converted (a Contact and an Opportunity), all a little while ago."""
    leads = [org.lead(Email=f"l{n}@example.com") for n in range(5)]
    org.sim.state.convert_lead(leads[0], amount=1000.0)
    org.clock.advance(30)
    return leads


def test_an_idle_poll_is_one_call_and_delivers_nothing(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    _world(org)
    poller = Poller(salesforce)
    calls, changes, _ = poller.poll(org.clock.now())
    assert calls == 3  # a backfill per object: nothing known to ask together yet
    assert {c.object for c in changes} == set(OBJECTS)
    # Ten minutes of polls with nothing new, across two deletion checks: the records within
    # the tolerance are read again and not delivered; every poll is one Composite call.
    for _ in range(10):
        org.clock.advance(60)
        assert poller.poll(org.clock.now()) == (1, [], [])


def test_deletions_arrive_on_their_schedule_inside_the_one_call(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    leads = _world(org)
    poller = Poller(salesforce)
    poller.poll(org.clock.now())
    org.clock.advance(60)
    poller.poll(org.clock.now())
    org.sim.state.delete("Lead", leads[3])
    found: list[tuple[int, Removal]] = []
    for minute in range(1, 12):
        org.clock.advance(60)
        calls, changes, removals = poller.poll(org.clock.now())
        assert (calls, changes) == (1, [])
        found += [(minute, removal) for removal in removals]
    # Asked every deletions_every (5m): found within that, and only once.
    ((minute, removal),) = found
    assert (removal.id, removal.object) == (leads[3], "Lead")
    assert minute <= 6


def test_the_tolerance_is_paid_once(org: RunningOrg, salesforce: SalesforceConnector) -> None:
    tolerance = salesforce.settings.lag_tolerance
    # A fifth into a second: the org's clock runs on with the wall, and the records below
    # must be stamped in the second they are meant for.
    org.clock.advance(1.2 - org.clock.now().microsecond / 1e6)
    start = org.clock.now().replace(microsecond=0)
    cursor = Cursor(start - timedelta(hours=1))
    # This poll's clock runs a tolerance ahead of the org's: what the org stamps next (a
    # long transaction committing late) is as old, to the poll, as the tolerance allows.
    first = drain(salesforce, "Lead", cursor, start + tolerance + timedelta(seconds=1))
    assert first.cursor is not None
    assert first.cursor.since == start + timedelta(seconds=1)  # the read's end minus the setting
    too_old = org.lead(Email="too-old@example.com")  # stamped `start`: older than the tolerance
    org.clock.advance(1)
    late = org.lead(Email="late@example.com")  # stamped exactly the tolerance before that end
    second = drain(salesforce, "Lead", first.cursor, start + tolerance + timedelta(seconds=61))
    assert ids(second.changes) == [late]  # and `too_old` is the reconciliation's to find
    assert too_old not in ids(second.changes)
    assert second.cursor is not None
    assert second.cursor.since == start + timedelta(seconds=61)
    again = drain(salesforce, "Lead", second.cursor, start + tolerance + timedelta(seconds=121))
    assert again.changes == []  # still inside the window, already delivered


def test_a_cursor_that_is_not_the_one_handed_out_is_read_for_itself(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    leads = _world(org)
    poller = Poller(salesforce)
    poller.poll(org.clock.now())
    older = poller.cursors["Lead"]
    org.clock.advance(60)
    poller.poll(org.clock.now())
    org.sim.state.update("Lead", leads[1], {"Title": "CTO"})
    org.clock.advance(60)
    # Another replica (or a page never saved) left Lead's cursor where it was a poll ago:
    # the Composite answer was asked for another cursor, so the read asks for itself.
    poller.cursors["Lead"] = older
    calls, changes, _ = poller.poll(org.clock.now())
    assert calls == 2
    assert ids(changes) == [leads[1]]


def test_a_subrequest_the_org_refuses_is_left_for_the_read_to_ask(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    org.lead(Email="one@example.com")
    org.clock.advance(2)
    timing = salesforce_reads.Timing(timedelta(minutes=10), timedelta(minutes=5))
    now = org.clock.now()
    good = salesforce_reads.plan(
        "Lead", ["Id", "SystemModstamp"], None, now, timing, deletions=True
    )
    bad = salesforce_reads.plan(
        "Contact", ["Id", "SystemModstamp", "Nope__c"], None, now, timing, deletions=True
    )
    before = salesforce.requests["query"]
    fetched = composite.fetch(salesforce.client, [good, bad], "59.0")
    assert salesforce.requests["query"] - before == 1  # one Composite request of queries
    assert fetched["Lead"].query is not None and fetched["Lead"].query["totalSize"] == 1
    assert fetched["Contact"].query is None  # INVALID_FIELD: the read asks and reports it


def test_old_cursors_still_load_and_read_a_tolerance_back(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    start = org.clock.now()
    old = org.lead(Email="old@example.com")
    # Saved before the tolerance was paid once ({"since", "recent"}, no "v"), by a poll whose
    # look_back (5m) was still to be paid again before `since`: it owes `old`.
    saved = {"since": (start + timedelta(minutes=4)).isoformat(), "recent": []}
    cursor = Cursor.from_json(saved)
    assert cursor.legacy and cursor.deletions_since is None
    now = start + timedelta(minutes=9)
    drained = drain(salesforce, "Lead", cursor, now)
    assert ids(drained.changes) == [old]
    assert drained.cursor is not None and not drained.cursor.legacy
    assert Cursor.from_json(drained.cursor.to_json()) == drained.cursor
    # Read as a cursor of today's kind, the same `since` starts after `old`.
    assert drain(salesforce, "Lead", Cursor(cursor.since), now).changes == []
