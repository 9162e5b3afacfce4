"""Incremental reads on SystemModstamp against the simulated org: windows, lag tolerance, deletions,
pages of 2,000, converted leads, reads by id and value, and the configured CA bundle."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import certifi
import pytest
from pydantic import SecretStr

from leadbridge.connectors import delivered
from leadbridge.connectors.base import Cursor
from leadbridge.connectors.salesforce.connector import LoginRefused, SalesforceConnector
from leadbridge.connectors.salesforce.settings import Auth
from leadbridge.sandbox.tls import TLSFiles
from tests.connectors.salesforce.support import connector_for, drain, ids, settings_for
from tests.sandbox.salesforce_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    USERNAME,
    RunningOrg,
)


def test_backfill_then_windows_deliver_each_change_once(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    first = [org.lead(Email=f"a{n}@example.com") for n in range(3)]
    org.clock.advance(10)
    backfill = drain(salesforce, "Lead", None, org.clock.now())
    assert sorted(ids(backfill.changes)) == sorted(first)
    assert backfill.removals == []
    assert backfill.cursor is not None
    change = backfill.changes[0]
    assert str(change.fields["Email"]).endswith("@example.com")
    assert change.fields["IsConverted"] is False  # Lead always carries the conversion fields
    assert "attributes" not in change.fields

    org.clock.advance(30)
    # Nothing new: the tolerance re-reads the first leads, the cursor keeps them from repeating.
    quiet = drain(salesforce, "Lead", backfill.cursor, org.clock.now())
    assert quiet.changes == []

    org.sim.state.update("Lead", first[0], {"Title": "CFO"})
    later = org.lead(Email="new@example.com")
    org.clock.advance(30)
    window = drain(salesforce, "Lead", quiet.cursor, org.clock.now())
    assert sorted(ids(window.changes)) == sorted([first[0], later])
    assert next(c for c in window.changes if c.id == first[0]).fields["Title"] == "CFO"
    assert window.cursor is not None
    upper = org.clock.now().replace(microsecond=0)
    assert window.cursor.since == upper - salesforce.settings.lag_tolerance  # paid once


def test_a_change_committed_late_inside_the_tolerance_is_not_missed(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    backfill = drain(salesforce, "Lead", None, org.clock.now())
    # Our poll's clock runs 40 s ahead of the org's (or a transaction was still in flight):
    # the record below gets a SystemModstamp inside the window that poll already read.
    early = drain(salesforce, "Lead", backfill.cursor, org.clock.now() + timedelta(seconds=40))
    assert early.changes == []
    late = org.lead(Email="late@example.com")
    org.clock.advance(120)
    caught = drain(salesforce, "Lead", early.cursor, org.clock.now())
    assert ids(caught.changes) == [late]
    again = drain(salesforce, "Lead", caught.cursor, org.clock.now() + timedelta(seconds=1))
    assert again.changes == []


def test_deletions_arrive_as_removals_once(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    doomed = org.lead(Email="gone@example.com")
    kept = org.lead(Email="kept@example.com")
    org.clock.advance(2)  # bounds are whole seconds: a change in the current one waits a poll
    backfill = drain(salesforce, "Lead", None, org.clock.now())
    org.clock.advance(20)
    org.sim.state.delete("Lead", doomed)
    org.clock.advance(60)
    # Deletions are asked every deletions_every (5m), counted from the backfill: not yet.
    early = drain(salesforce, "Lead", backfill.cursor, org.clock.now())
    assert early.removals == [] and early.changes == []
    org.clock.advance(240)
    window = drain(salesforce, "Lead", early.cursor, org.clock.now())
    assert [(r.id, r.object) for r in window.removals] == [(doomed, "Lead")]
    assert kept not in ids(window.changes)
    org.clock.advance(300)  # the next check reads the same stretch again: nothing repeats
    again = drain(salesforce, "Lead", window.cursor, org.clock.now())
    assert again.removals == [] and again.changes == []


def test_twenty_five_thousand_changes_in_one_window_are_all_read(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    backfill = drain(salesforce, "Lead", None, org.clock.now())
    org.clock.advance(5)
    with org.sim.state.atomic():
        made = [org.lead(Email=f"bulk{n}@example.com") for n in range(25_000)]
    org.clock.advance(5)
    before = salesforce.requests.total()
    window = drain(salesforce, "Lead", backfill.cursor, org.clock.now())
    assert len(window.changes) == 25_000
    assert Counter(ids(window.changes)) == Counter(made)
    assert len(window.pages) == 13  # pages of 2,000
    # 13 query pages, the minimum: deletions are not due yet (deletions_every from the backfill).
    assert salesforce.requests.total() - before == 13
    stamps = [c.modified_at for c in window.changes]
    assert stamps == sorted(stamps)
    # Each page's cursor can be saved with it: resuming from any one misses nothing. Its
    # `recent` keeps the newest LIMIT pairs of the 12,000 delivered inside the tolerance;
    # the older ones are delivered again (the sync drops them as echoes), never lost.
    middle = window.pages[5].cursor
    assert middle is not None and len(middle.recent) == delivered.LIMIT
    resumed = set(_pairs(drain(salesforce, "Lead", middle, org.clock.now()).changes))
    delivered_before = {pair for page in window.pages[:6] for pair in _pairs(page.changes)}
    assert resumed == set(_pairs(window.changes)) - middle.recent
    assert resumed >= set(_pairs(window.changes)) - delivered_before


def test_a_session_expiring_between_pages_is_renewed_and_the_read_goes_on(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    with org.sim.state.atomic():
        made = [org.lead(Email=f"p{n}@example.com") for n in range(4500)]
    org.clock.advance(2)
    pages = salesforce.changes("Lead", None, now=org.clock.now())
    got = list(next(pages).changes)
    org.sim.expire_sessions()
    for page in pages:
        got.extend(page.changes)
    assert Counter(ids(got)) == Counter(made)
    assert salesforce.stats.logins == 2


def test_a_query_locator_that_idled_out_is_replaced_by_a_new_query(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    backfill = drain(salesforce, "Lead", None, org.clock.now())
    org.clock.advance(10)
    doomed = org.lead(Email="doomed@example.com")
    with org.sim.state.atomic():
        made = [org.lead(Email=f"i{n}@example.com") for n in range(4500)]
    org.sim.state.delete("Lead", doomed)
    org.clock.advance(300)  # deletions are due: deletions_every after the backfill
    before = salesforce.requests.total()
    pages = salesforce.changes("Lead", backfill.cursor, now=org.clock.now())
    got = list(next(pages).changes)
    org.clock.advance(16 * 60)  # the caller dwelt on the page; the org closed the locator
    removed = []
    for page in pages:
        got.extend(page.changes)
        removed.extend(r.id for r in page.removals)
    assert Counter(ids(got)) == Counter(made)
    assert removed == [doomed]
    # One Composite call (the query and the deletions due), the refused query_more, the new
    # query and its two more pages, and deleted again (the new window's own).
    assert salesforce.requests.total() - before == 6


def test_converted_lead_carries_where_it_went_and_is_followed(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    lead = org.lead(Email="won@example.com", FirstName="Ada")
    converted = org.sim.state.convert_lead(lead, amount=25_000.0)
    org.clock.advance(2)
    (change,) = salesforce.read("Lead", [lead])
    assert change.fields["IsConverted"] is True
    assert change.fields["ConvertedContactId"] == converted["contact_id"]
    assert change.fields["ConvertedOpportunityId"] == converted["opportunity_id"]
    (contact,) = salesforce.read("Contact", [converted["contact_id"]])
    assert contact.fields["Email"] == "won@example.com"
    (deal,) = salesforce.read("Opportunity", [str(converted["opportunity_id"])])
    assert deal.fields["StageName"] == "Prospecting" and deal.fields["Amount"] == 25_000.0
    (role,) = salesforce.find(
        "OpportunityContactRole", "OpportunityId", [str(converted["opportunity_id"])]
    )
    assert role.fields["ContactId"] == converted["contact_id"] and role.fields["IsPrimary"]
    (account,) = salesforce.read("Account", [converted["account_id"]])
    assert account.fields["Name"] == "Northwind Logistics Inc"


def test_opportunity_windows_follow_stage_changes(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    lead = org.lead(Email="deal@example.com")
    opportunity = str(org.sim.state.convert_lead(lead)["opportunity_id"])
    org.clock.advance(2)
    backfill = drain(salesforce, "Opportunity", None, org.clock.now())
    assert ids(backfill.changes) == [opportunity]
    org.clock.advance(10)
    org.sim.rep.close_opportunity(opportunity, True)
    org.clock.advance(10)
    window = drain(salesforce, "Opportunity", backfill.cursor, org.clock.now())
    (closed,) = window.changes
    assert closed.fields["IsWon"] is True and closed.fields["StageName"] == "Closed Won"


def test_read_by_ids_chunks_long_lists_and_leaves_out_missing_ones(
    org: RunningOrg, salesforce: SalesforceConnector
) -> None:
    with org.sim.state.atomic():
        made = [org.lead(Email=f"r{n}@example.com") for n in range(1200)]
    org.sim.state.delete("Lead", made[7])
    before = salesforce.requests.total()
    got = salesforce.read("Lead", [*made, made[3]])
    assert sorted(ids(got)) == sorted(made[:7] + made[8:])
    # 1,200 ids cannot share one URL: a few calls, not one per id.
    assert 2 <= salesforce.requests.total() - before <= 4
    assert salesforce.read("Lead", []) == []


def test_the_configured_ca_bundle_wins_over_requests_ca_bundle(
    org: RunningOrg, tls_files: TLSFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The public roots do not know the sandbox's CA: only the configured bundle can work.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    lead = org.lead(Email="tls@example.com")
    with connector_for(org, tls_files) as connector:
        assert ids(connector.read("Lead", [lead])) == [lead]


def test_an_object_left_out_of_the_file_is_refused_by_name(
    org: RunningOrg, tls_files: TLSFiles
) -> None:
    objects = settings_for(org, tls_files).objects.model_copy(update={"Account": None})
    with (
        connector_for(org, tls_files, objects=objects) as connector,
        pytest.raises(ValueError, match="Account is not among the objects"),
    ):
        connector.read("Account", ["001000000000000AAA"])


def test_the_username_password_grant_logs_in_too(org: RunningOrg, tls_files: TLSFiles) -> None:
    auth = Auth(
        grant="password",
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        username=USERNAME,
        password=SecretStr(PASSWORD),
    )
    lead = org.lead(Email="pw@example.com")
    with connector_for(org, tls_files, auth=auth) as connector:
        assert ids(connector.read("Lead", [lead])) == [lead]
    wrong = auth.model_copy(update={"password": SecretStr("nope")})
    with connector_for(org, tls_files, auth=wrong) as connector:
        with pytest.raises(LoginRefused, match="invalid_grant"):
            connector.read("Lead", [lead])
        assert "authentication failure" in connector.health().detail


def _pairs(changes: object) -> list[tuple[str, str]]:
    assert isinstance(changes, tuple | list)
    return [(c.id, str(c.fields["SystemModstamp"])) for c in changes]


def test_cursor_survives_json(org: RunningOrg, salesforce: SalesforceConnector) -> None:
    org.lead(Email="json@example.com")
    org.clock.advance(2)
    backfill = drain(salesforce, "Lead", None, org.clock.now())
    assert backfill.cursor is not None
    restored = Cursor.from_json(backfill.cursor.to_json())
    assert restored == backfill.cursor
    assert drain(salesforce, "Lead", restored, org.clock.now()).changes == []


def test_describe_reports_the_orgs_picklists(salesforce: SalesforceConnector) -> None:
    schema = salesforce.describe("Lead")
    status = schema.fields["Status"]
    assert status.type == "picklist" and status.restricted
    assert status.options[:3] == ("Open", "Working", "Qualified")
    assert schema.fields["Leadbridge_Id__c"].writable
    assert not schema.fields["IsConverted"].writable
    assert salesforce.health().healthy
