"""Reads against the simulated portal: backfill, incremental windows, search lag, the 10,000 cap."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from leadbridge.connectors import delivered
from leadbridge.connectors.base import Cursor, Page
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.sandbox.tls import TLSFiles
from tests.connectors.hubspot import support as hs

Portal = hs.Portal
TOLERANCE = timedelta(seconds=60)  # lag_tolerance's default


def _drain(connector: HubSpotConnector, cursor: Cursor | None, portal: Portal) -> list[Page]:
    return list(connector.changes("contact", cursor, now=portal.clock.now()))


def _ids(pages: list[Page]) -> list[str]:
    return [change.id for page in pages for change in page.changes]


def test_a_backfill_lists_every_contact_once_and_ends_at_its_start_minus_the_tolerance(
    portal: Portal,
) -> None:
    created = hs.people(portal, 250)
    connector = portal.connector()
    start = portal.clock.now()
    pages = list(connector.changes("contact", None, now=start))
    assert sorted(_ids(pages)) == sorted(created)
    assert connector.stats.succeeded == {"list": 3}  # 100 a page, no empty page at the end
    assert [page.cursor for page in pages[:-1]] == [None, None]  # ids are no measure of time
    last = pages[-1].cursor
    assert last is not None and last.since == start - TOLERANCE
    # Everything was made moments ago: the next poll reads it again, and delivers none of it.
    assert len(last.recent) == 250
    change = pages[0].changes[0]
    assert {"email", "lifecyclestage", "lastmodifieddate"} <= set(change.fields)
    assert change.modified_at.tzinfo is not None


def test_incremental_reads_deliver_each_change_once_per_window(portal: Portal) -> None:
    cursor = Cursor(portal.clock.now())
    first = hs.people(portal, 30)
    portal.clock.advance(5)
    connector = portal.connector()
    pages = _drain(connector, cursor, portal)
    assert sorted(_ids(pages)) == sorted(first)
    stamps = [c.modified_at for page in pages for c in page.changes]
    assert stamps == sorted(stamps)  # ascending by lastmodifieddate
    saved = pages[-1].cursor
    assert saved is not None

    portal.clock.advance(5)  # inside the tolerance: the first 30 are read again, not delivered
    for contact_id in first[:4]:
        portal.sim.state.update_contact(contact_id, {"lastname": "Moved"})
    new = hs.people(portal, 3, prefix="late")
    portal.clock.advance(1)
    pages = _drain(connector, saved, portal)
    assert sorted(_ids(pages)) == sorted(first[:4] + new)
    assert all(c.fields["lastname"] == "Moved" for c in pages[0].changes if c.id in first)
    assert connector.stats.succeeded == {"search": 2}


def test_a_change_made_just_before_a_poll_is_not_missed_under_search_lag(
    tls_files: TLSFiles,
) -> None:
    with hs.running_portal(tls_files, search_lag_seconds=20) as portal:
        careful = portal.connector()  # lag_tolerance 60 s: longer than the lag
        hasty = portal.connector(lag_tolerance=0)
        cursors = {"careful": Cursor(portal.clock.now()), "hasty": Cursor(portal.clock.now())}
        portal.clock.advance(99)
        (late,) = hs.people(portal, 1, prefix="late")
        portal.clock.advance(1)  # the poll comes one second after the change

        delivered: dict[str, list[str]] = {"careful": [], "hasty": []}
        for _ in range(3):
            now = portal.clock.now()
            for name, connector in (("careful", careful), ("hasty", hasty)):
                pages = list(connector.changes("contact", cursors[name], now=now))
                delivered[name] += _ids(pages)
                cursor = pages[-1].cursor
                assert cursor is not None
                tolerance = timedelta(seconds=connector.settings.lag_tolerance)
                assert cursor.since == now - tolerance  # the signpost, paid once
                cursors[name] = cursor
            portal.clock.advance(15)

        assert delivered["careful"] == [late]  # found once the index caught up, and only once
        assert delivered["hasty"] == []  # without a tolerance the lagging change is lost


@pytest.mark.parametrize(("lag", "read"), [(50, True), (80, False)])
def test_the_tolerance_is_paid_once_and_a_later_change_is_left_to_reconcile(
    tls_files: TLSFiles, lag: float, read: bool
) -> None:
    with hs.running_portal(tls_files, search_lag_seconds=lag) as portal:
        connector = portal.connector()  # lag_tolerance 60 s
        cursor = Cursor(portal.clock.now() - TOLERANCE)
        portal.clock.advance(30)
        (late,) = hs.people(portal, 1, prefix="late")
        delivered: list[str] = []
        for _ in range(8):
            portal.clock.advance(15)
            now = portal.clock.now()
            pages = list(connector.changes("contact", cursor, now=now))
            delivered += _ids(pages)
            found = pages[-1].cursor
            assert found is not None
            assert found.since == now - TOLERANCE  # the next poll starts here: paid once
            cursor = found
        # Findable 50 s after it was made: inside the tolerance, read once. 80 s: past it, and
        # past every poll's start by then (the reconciliation lists it).
        assert delivered == ([late] if read else [])


def test_an_idle_poll_is_one_search_and_delivers_nothing(portal: Portal) -> None:
    hs.people(portal, 150)
    portal.clock.advance(5)
    connector = portal.connector()
    cursor = _drain(connector, None, portal)[-1].cursor
    for _ in range(6):
        portal.clock.advance(15)  # inside the tolerance: the 150 are read again at first
        before = connector.stats.succeeded.copy()
        pages = _drain(connector, cursor, portal)
        assert [(p.changes, p.removals) for p in pages] == [((), ())]
        assert connector.stats.succeeded - before == Counter({"search": 1})
        cursor = pages[-1].cursor


def test_a_cursor_keeps_the_newest_pairs_and_the_next_poll_reads_the_rest_again(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulk import inside the tolerance: the cursor's `recent` stays bounded (each page used
    to copy every pair read so far), and what it forgot is delivered again, never lost."""
    monkeypatch.setattr(delivered, "LIMIT", 100)
    created = hs.people(portal, 250)
    connector = portal.connector()
    pages = _drain(connector, None, portal)
    assert all(page.cursor is None or len(page.cursor.recent) <= 100 for page in pages)
    cursor = pages[-1].cursor
    assert cursor is not None and len(cursor.recent) == 100
    portal.clock.advance(15)
    again = _ids(_drain(connector, cursor, portal))
    remembered = {record for record, _ in cursor.recent}
    assert sorted(again) == sorted(set(created) - remembered)


@pytest.mark.slow
def test_25000_changes_in_one_window_are_all_read(portal: Portal) -> None:
    cursor = Cursor(portal.clock.now())
    created = hs.people(portal, 25_000)
    portal.clock.advance(60)
    connector = portal.connector()
    now = portal.clock.now()
    seen: list[str] = []
    for page in connector.changes("contact", cursor, now=now):
        seen += [change.id for change in page.changes]
        assert page.cursor is not None and page.cursor.since <= now - TOLERANCE
    assert len(seen) == len(set(seen)) == 25_000
    assert set(seen) == set(created)
    assert connector.stats.succeeded == {"search": 125}  # 200 a page: the minimum


def test_contacts_sharing_one_stamp_are_read_by_id_ranges(portal: Portal) -> None:
    cursor = Cursor(portal.clock.now())
    before = hs.people(portal, 150, prefix="a")
    portal.clock.hold()  # a bulk import: 1,000 contacts in one millisecond
    crowd = hs.people(portal, 1000, prefix="b")
    portal.clock.release()
    after = hs.people(portal, 150, prefix="c")
    portal.clock.advance(60)
    connector = portal.connector()
    seen = _ids(_drain(connector, cursor, portal))
    assert len(seen) == len(set(seen)) == 1300
    assert set(seen) == {*before, *crowd, *after}
    assert connector.stats.succeeded["search"] <= 7 + 2  # the minimum, plus a re-read of the crowd


def test_a_contact_changed_while_pages_are_read_does_not_push_another_out(
    portal: Portal,
) -> None:
    cursor = Cursor(portal.clock.now())
    created = hs.people(portal, 450)
    portal.clock.advance(1)
    pages = portal.connector().changes("contact", cursor, now=portal.clock.now())
    seen = [change.id for change in next(pages).changes]
    # An edit moves a record read on page one past the window: offset paging would now
    # skip the record that slides into its place. Keyset paging does not.
    portal.sim.state.update_contact(seen[0], {"lastname": "Edited"})
    seen += [change.id for page in pages for change in page.changes]
    assert sorted(seen) == sorted(created)


def test_merged_contacts_are_reported_with_the_record_they_live_on_in(portal: Portal) -> None:
    first, second = hs.people(portal, 2)
    cursor = Cursor(portal.clock.now() + timedelta(seconds=31))
    portal.clock.advance(60)
    survivor = portal.sim.state.merge_contacts(first, second)["id"]
    portal.clock.advance(1)
    pages = _drain(portal.connector(), cursor, portal)
    assert _ids(pages) == [survivor]
    removals = {(r.id, r.merged_into) for page in pages for r in page.removals}
    assert removals == {(first, survivor), (second, survivor)}


def test_fetch_reports_merged_archived_and_deleted_contacts(portal: Portal) -> None:
    live, merged, other, archived = hs.people(portal, 4)
    survivor = portal.sim.state.merge_contacts(other, merged)["id"]
    portal.clock.advance(10)
    portal.sim.state.archive_contact(archived)
    archived_at = portal.clock.now()
    connector = portal.connector()

    page = connector.fetch("contact", [live, merged, archived, "404404"])
    assert [c.id for c in page.changes] == [live, survivor]
    found = {r.id: r for r in page.removals}
    assert found[merged].merged_into == survivor
    assert found[archived].merged_into is None
    assert abs(found[archived].removed_at - archived_at) < timedelta(seconds=1)
    assert found["404404"].merged_into is None  # gone for good: reported as of the read
    assert connector.stats.succeeded == {"read": 1, "archived_read": 1}
    assert [c.id for c in connector.read("contact", [live])] == [live]


def test_only_contacts_are_read(portal: Portal) -> None:
    with pytest.raises(ValueError, match="'contact' objects, not 'Lead'"):
        portal.connector().read("Lead", ["1"])
