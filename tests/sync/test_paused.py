"""A daily API allocation that runs out in the middle of a batch of writes, on the sandbox's own
limit: what landed is settled and never sent again, the rest waits in the write log, and once
the service's day turns it goes out exactly once. No fake connector: the real connectors, the
real sandbox, its daily allocation spent by "the org's other integrations" up front."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from leadbridge.connectors.budget import Governor
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.model import System
from leadbridge.sandbox.served import RequestCounts
from leadbridge.sync.pipeline import Pipeline, cycle
from leadbridge.sync.runtime import build
from tests.sync.conftest import DAY, ROOT, World, started_world

HS, SF = System.HUBSPOT, System.SALESFORCE
LIMIT = 1000  # each service's daily allocation in these tests
SF_UPSERT = "/services/data/v59.0/composite/sobjects/Lead/Leadbridge_Id__c"
HS_UPSERT = "/crm/v3/objects/contacts/batch/upsert"


@contextmanager
def pipeline_for(world: World) -> Iterator[Pipeline]:
    """The shipped runtime, its connectors pacing by the sandbox's clock (so the service's
    next day is the governor's too) and pausing only when the service's own allocation is
    spent: no share kept back for other apps, no floor left to the org's other integrations."""
    clock = world.sandbox.clock
    env = dict(os.environ)
    runtime = build(ROOT / "mappings", ROOT / "connectors", world.database, env, clock=clock.now)
    hubspot_settings = runtime.hubspot.settings
    unlimited = {"daily_share": 1.0, "max_own_calls_per_day": None, "min_portal_calls_left": None}
    budget = hubspot_settings.budget.model_copy(update=unlimited)
    hubspot = HubSpotConnector(
        hubspot_settings.model_copy(update={"budget": budget}),
        clock=clock.now,
        monotonic=clock.time,
    )
    governor = Governor(window_limit=None, daily_limit=LIMIT, clock=clock.time)
    salesforce = SalesforceConnector(runtime.salesforce.settings, governor=governor)
    pipeline = runtime.pipeline
    pipeline.connectors = {HS: hubspot, SF: salesforce}
    try:
        yield pipeline
    finally:
        salesforce.close()
        runtime.close()


def spend_all_but(pipeline: Pipeline, used: Callable[[], int], spend: Callable[[], object]) -> int:
    """Leaves the service just enough of its day for the cycle's reads and one write request:
    the reads are measured by the same cycle, dry (it reads what the real one will, and rolls
    back). Answers the reads."""
    before = used()
    cycle(pipeline, dry_run=True)
    reads = used() - before
    while used() < LIMIT - reads - 1:
        spend()
    return reads


def unfinished(pipeline: Pipeline, system: System) -> list[str]:
    with pipeline.store.reading() as uow:
        return [w.key for w in uow.writes.unfinished() if w.write.system is system]


def settled(pipeline: Pipeline, system: System, obj: str, record: str) -> bool:
    """The created record is linked to its lead and its written values remembered."""
    with pipeline.store.reading() as uow:
        linked = uow.links.lead_for(system, obj, record) is not None
        return linked and uow.snapshots.get(system, obj, record) is not None


def assert_waits_until_the_day_turns(
    world: World, pipeline: Pipeline, served: RequestCounts
) -> None:
    """Later the same day the cycle pauses again at once, sending nothing to that service."""
    before = served.count()
    world.later(60)
    again = cycle(pipeline)
    assert again.paused is not None
    assert served.count() == before


def test_an_org_allocation_spent_mid_batch_settles_what_landed_and_sends_the_rest_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = 450  # MQLs in HubSpot: 450 Lead creates, upserts of 200 a call
    with started_world(tmp_path, monkeypatch, salesforce_daily_limit=LIMIT) as world:
        marketer = world.sandbox.hubspot.marketer
        for n in range(people):
            email = f"p{n}@lumen{n % 7}.com"
            name = f"Ito{n}"
            marketer.new_contact(
                email, "Sam", name, company=f"Lumen {n}", industry="RETAIL", numemployees=300
            )
            marketer.set_score(email, 80)
        world.later(60)
        org = world.sandbox.salesforce
        with pipeline_for(world) as pipeline:
            spend_all_but(pipeline, lambda: org.usage.used, org.usage.spend)

            paused = cycle(pipeline)
            assert paused.paused is not None and "allocation is spent" in paused.paused
            # The first collection landed; its answer showed the allocation spent, so the
            # connector held the next one: paused in the middle of the batch of 400.
            assert org.served.count("PATCH", SF_UPSERT) == 1
            assert org.usage.used == LIMIT
            landed = {r["Leadbridge_Id__c"]: r["Id"] for r in org.state.records("Lead")}
            assert len(landed) == 200
            assert all(settled(pipeline, SF, "Lead", record) for record in landed.values())
            waiting = unfinished(pipeline, SF)
            assert len(waiting) == people - 200
            stamps = {r["Id"]: r["SystemModstamp"] for r in org.state.records("Lead")}

            assert_waits_until_the_day_turns(world, pipeline, org.served)

            world.later(DAY)  # the org's allocation renews; so does the governor's view of it
            resumed = cycle(pipeline)
            assert resumed.paused is None
            assert resumed.written[SF] == people - 200
            # 250 creates: two upserts at the wire, as the summary counted them.
            assert org.served.count("PATCH", SF_UPSERT, 200) == 1 + 2
            assert resumed.write_calls[SF] == 2
            assert unfinished(pipeline, SF) == []

    leads = org.state.records("Lead")
    keys = [r["Leadbridge_Id__c"] for r in leads]
    assert len(keys) == people and len(set(keys)) == people  # no Lead twice
    # The 200 that landed before the pause were not sent again: untouched since.
    assert {r["Id"]: r["SystemModstamp"] for r in leads if r["Id"] in stamps} == stamps


def test_a_portal_day_spent_mid_batch_settles_what_landed_and_sends_the_rest_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = 250  # leads a rep entered in Salesforce: 250 contact creates, upserts of 100
    with started_world(tmp_path, monkeypatch, hubspot_daily_limit=LIMIT) as world:
        rep = world.sandbox.salesforce.rep
        for n in range(people):
            rep.create_lead(last_name=f"Ito{n}", company=f"Lumen {n}", email=f"r{n}@lumen.com")
        world.later(60)
        portal = world.sandbox.hubspot
        daily = portal.limits.daily
        assert daily is not None
        with pipeline_for(world) as pipeline:
            spend_all_but(pipeline, lambda: daily.used, daily.hit)

            paused = cycle(pipeline)
            assert paused.paused is not None
            assert portal.served.count("POST", HS_UPSERT) == 1  # then the day was spent
            contacts = {c["properties"]["email"]: c["id"] for c in portal.state.all_contacts()}
            assert len(contacts) == 100
            assert all(settled(pipeline, HS, "contact", c) for c in contacts.values())
            assert len(unfinished(pipeline, HS)) == people - 100

            assert_waits_until_the_day_turns(world, pipeline, portal.served)

            world.later(DAY)
            resumed = cycle(pipeline)
            assert resumed.paused is None
            assert resumed.written[HS] >= people - 100
            assert portal.served.count("POST", HS_UPSERT, 200) == 1 + 2  # 150 more: two calls
            assert unfinished(pipeline, HS) == []

    emails = [c["properties"]["email"] for c in portal.state.all_contacts()]
    assert len(emails) == people and len(set(emails)) == people
    assert all(
        portal.state.find_by_email(email)["id"] == contact for email, contact in contacts.items()
    )
