"""The reconciliation's listing: every contact modified since a watermark, through the list
endpoint, paged, and blind to search's lag."""

from __future__ import annotations

from datetime import timedelta

from leadbridge.connectors.base import Cursor
from leadbridge.sandbox.tls import TLSFiles
from tests.connectors.hubspot import support as hs

TOLERANCE = timedelta(seconds=60)  # lag_tolerance's default


def test_the_listing_pages_through_every_contact_and_keeps_those_modified_since(
    tls_files: TLSFiles,
) -> None:
    # Search shows nothing of the last ten minutes: the listing must not depend on it.
    with hs.running_portal(tls_files, search_lag_seconds=600) as portal:
        old = hs.people(portal, 180, prefix="old")
        portal.clock.advance(3600)
        since = portal.clock.now()
        portal.clock.advance(1)
        touched = old[::3]  # spread over both pages of the list
        for contact_id in touched:
            portal.sim.state.update_contact(contact_id, {"lastname": "Edited"})
        new = hs.people(portal, 40, prefix="new")
        connector = portal.connector()
        now = portal.clock.now()

        searched = list(connector.changes("contact", Cursor(since), now=now))
        assert [c for page in searched for c in page.changes] == []  # the index lags

        pages = list(connector.modified_since("contact", since, now=now))
        assert connector.stats.succeeded["list"] == 3  # 220 contacts, 100 a page
        assert len(pages) == 3
        listed = [change.id for page in pages for change in page.changes]
        assert sorted(listed) == sorted(touched + new)  # each once, nothing older than since
        assert all(page.cursor is None for page in pages[:-1])  # ids are no measure of time
        last = pages[-1].cursor
        assert last is not None and last.since == now - TOLERANCE
        edited = next(c for page in pages for c in page.changes if c.id == touched[0])
        assert edited.fields["lastname"] == "Edited"
        assert edited.modified_at > since

        everything = list(portal.connector().modified_since("contact", None, now=now))
        assert len([c for page in everything for c in page.changes]) == 220


def test_reconcile_every_is_a_duration_nightly_by_default_and_0_turns_it_off() -> None:
    def every(**fields: object) -> float:
        return hs.settings_for("https://x.test", "", **fields).reconcile.every

    assert every() == 24 * 3600
    assert every(reconcile={"every": "6h"}) == 6 * 3600
    assert every(reconcile={"every": 0}) == 0
