"""With faults on (10% 5xx, REQUEST_LIMIT bursts, sessions expiring, answers lost), every change
is read exactly once and every write applied once; at the daily share the connector pauses."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from leadbridge.connectors.base import Cursor
from leadbridge.connectors.budget import BudgetPaused
from leadbridge.connectors.salesforce.connector import ApplyPaused
from leadbridge.connectors.salesforce.settings import Budget
from leadbridge.sandbox.faults import Fault, FaultSpec
from leadbridge.sandbox.tls import TLSFiles
from tests.connectors.salesforce.support import (
    by_external_id,
    connector_for,
    drain,
    lead_create,
    lead_update,
)
from tests.sandbox.salesforce_fixtures import RunningOrg, running_org

FAULTS = FaultSpec(
    error_rate=0.10,
    error_statuses=(500, 502, 503),
    rate_limit_rate=0.02,
    rate_limit_burst=3,
    session_expiry_rate=0.03,
    drop_rate=0.03,
)

FORCED = {
    1: (Fault.SERVER_ERROR, 2),
    2: (Fault.RATE_LIMIT, 4),
    4: (Fault.SESSION_EXPIRED, 1),
    6: (Fault.DROP_AFTER, 1),
}


def _stamp(org: RunningOrg, lead: str) -> tuple[str, str]:
    record = org.sim.state.get("Lead", lead)
    assert record is not None
    return lead, str(record["SystemModstamp"])


def test_every_change_is_read_exactly_once_through_faults(
    org: RunningOrg, tls_files: TLSFiles
) -> None:
    rng = random.Random(11)
    with org.sim.state.atomic():
        leads = [org.lead(Email=f"f{n}@example.com") for n in range(3000)]
    expected = {_stamp(org, lead) for lead in leads}
    deleted: list[str] = []
    org.clock.advance(2)
    org.sim.faults.configure(FAULTS)
    delivered: list[tuple[str, str]] = []
    removed: list[str] = []
    cursor: Cursor | None = None
    with connector_for(org, tls_files) as salesforce:
        for poll in range(8):
            # Besides the random faults, each kind for sure, somewhere in the run.
            if poll in FORCED:
                fault, count = FORCED[poll]
                org.sim.faults.inject_next(fault, count=count)
            window = drain(salesforce, "Lead", cursor, org.clock.now())
            delivered.extend(window.pairs())
            removed.extend(r.id for r in window.removals)
            cursor = window.cursor
            # Between polls: a rep edits some leads, adds some, deletes some (each record once).
            live = [lead for lead in leads if lead not in deleted]
            touched = rng.sample(live, 40)
            for lead in touched[:30]:
                org.sim.state.update("Lead", lead, {"Title": f"T{rng.random():.6f}"})
                expected.add(_stamp(org, lead))
            for lead in touched[30:]:
                org.sim.state.delete("Lead", lead)
                deleted.append(lead)
            for n in range(20):
                new = org.lead(Email=f"new{len(leads)}-{n}@example.com")
                leads.append(new)
                expected.add(_stamp(org, new))
            org.clock.advance(rng.uniform(20, 50))
        org.clock.advance(600)  # past every look-back: the last changes and deletions land
        final = drain(salesforce, "Lead", cursor, org.clock.now())
        delivered.extend(final.pairs())
        removed.extend(r.id for r in final.removals)
        stats, sent = salesforce.stats, salesforce.requests
    injected = org.sim.faults.injected
    assert {"server_error", "rate_limit", "session_expired"} <= set(injected), injected
    assert stats.retries > 0 and stats.logins > 1
    # Every try and every login the connector counts, the org served: the same figure.
    assert sent.total() == org.sim.served.count()
    assert sent["login"] == org.sim.served.count("POST", "/services/oauth2/token")
    assert sent["login"] >= stats.logins  # a token request that failed is retried
    repeated = [pair for pair, n in Counter(delivered).items() if n > 1]
    assert repeated == []
    assert set(delivered) == expected
    assert Counter(removed) == Counter(deleted)


def test_every_write_lands_once_through_faults(org: RunningOrg, tls_files: TLSFiles) -> None:
    org.sim.faults.configure(FAULTS)
    with connector_for(org, tls_files) as salesforce:
        creates = [
            lead_create(f"lb-{n}", LastName=f"L{n}", Company="Acme", Rating="Cold")
            for n in range(4000)
        ]
        org.sim.faults.inject_next(Fault.RATE_LIMIT, count=4)
        created = salesforce.apply(creates)
        assert all(r.ok for r in created), [r.failure for r in created if not r.ok][:3]
        updates = [lead_update(str(r.id), Rating="Hot") for r in created[::2]]
        org.sim.faults.inject_next(Fault.DROP_AFTER)  # an update collection lands, its answer not
        updated = salesforce.apply(updates)
        assert all(r.ok for r in updated)
        assert salesforce.stats.retries > 0
    assert by_external_id(org) == {f"lb-{n}": 1 for n in range(4000)}
    ratings = Counter(r["Rating"] for r in org.sim.state.records("Lead"))
    assert ratings == {"Hot": 2000, "Cold": 2000}
    injected = org.sim.faults.injected
    assert {"rate_limit", "drop_after"} <= set(injected), injected


def test_at_the_daily_share_it_pauses_and_fails_no_record(tls_files: TLSFiles) -> None:
    with running_org(tls_files, daily_api_limit=40) as org:
        budget = Budget(daily_limit=1000, daily_share=0.5)  # the org's header (40) wins
        with connector_for(org, tls_files, budget=budget) as salesforce:
            assert salesforce.health().healthy
            writes = [lead_create(f"lb-{n}", LastName="L", Company="C") for n in range(6000)]
            with pytest.raises(ApplyPaused) as paused:
                salesforce.apply(writes)
            settled = paused.value.results
            assert len(settled) == 20 * 200  # 20 calls: half of the org's 40
            assert all(r.ok for r in settled)
            assert len(org.sim.state.records("Lead")) == 4000
            health = salesforce.health()
            assert not health.healthy and health.paused
            assert "20 of the 20 daily API calls" in health.detail
            with pytest.raises(BudgetPaused):
                salesforce.read("Lead", [str(settled[0].id)])
            assert org.sim.usage.used == 20  # paused before the call, not refused by the org


def test_an_org_whose_allocation_others_spent_pauses_without_retrying(
    tls_files: TLSFiles,
) -> None:
    with (
        running_org(tls_files, daily_api_limit=10) as org,
        connector_for(org, tls_files) as salesforce,
    ):
        lead = org.lead(Email="x@example.com")
        assert len(salesforce.read("Lead", [lead])) == 1
        while org.sim.usage.spend().allowed:  # every other integration of the org
            pass
        with pytest.raises(BudgetPaused):
            salesforce.read("Lead", [lead])
        assert salesforce.stats.retries == 0
        assert salesforce.health().paused
