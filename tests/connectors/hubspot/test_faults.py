"""Faults, limits and the budget: retried where that helps, paced, paused, never a record lost."""

from __future__ import annotations

from collections import Counter

import pytest

from leadbridge.connectors.base import ApplyPaused, Cursor
from leadbridge.connectors.budget import BudgetPaused
from leadbridge.connectors.errors import Action, RemoteError
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.model import RecordWrite, System
from leadbridge.sandbox.faults import Fault
from leadbridge.sandbox.tls import TLSFiles
from tests.connectors.hubspot import support as hs

Portal = hs.Portal


def _write(contact_id: str, **values: str) -> RecordWrite:
    return RecordWrite(System.HUBSPOT, "contact", contact_id, (values,))


def test_under_5xx_429_bursts_and_lost_answers_every_change_is_read_once_and_every_write_lands_once(
    portal: Portal,
) -> None:
    cursor = Cursor(portal.clock.now())
    ids = hs.people(portal, 2000)
    portal.clock.advance(1)
    writes: Counter[tuple[str, str | None]] = Counter()
    portal.sim.state.listeners.append(
        lambda batch: writes.update(
            (str(c.object_id), c.value) for c in batch if c.name == "lastname"
        )
    )
    portal.sim.faults.configure(error_rate=0.1, rate_limit_rate=0.03, rate_limit_burst=3)
    connector = portal.connector()

    seen = [
        c.id
        for page in connector.changes("contact", cursor, now=portal.clock.now())
        for c in page.changes
    ]
    assert sorted(seen) == sorted(ids)  # each once
    # Two answers lost after HubSpot wrote the batch: the retries replay a done write.
    portal.sim.faults.inject_next(Fault.DROP_AFTER, 2)
    results = connector.apply([_write(i, lastname=f"L-{i}") for i in ids])
    assert all(r.ok for r in results)

    assert writes == Counter({(i, f"L-{i}"): 1 for i in ids})  # a replay changed nothing
    assert connector.stats.succeeded == {"search": 10, "update": 20}  # the minimum, answered
    injected = sum(portal.sim.faults.injected.values())
    assert portal.sim.faults.injected["drop_after"] == 2
    assert portal.sim.faults.injected["server_error"] > 0
    assert portal.sim.faults.injected["rate_limit"] > 0
    assert connector.stats.requests.total() == 30 + injected
    # Every try the connector counts, the portal served: one meaning of "call", both ends.
    assert connector.requests.total() == portal.sim.served.count()
    assert connector.requests["update"] == portal.sim.served.count(
        "POST", "/crm/v3/objects/contacts/batch/update"
    )
    assert connector.health().healthy


def test_the_ten_second_window_is_paced_not_tripped(tls_files: TLSFiles) -> None:
    with hs.running_portal(tls_files, ten_second_limit=20, search_per_second=2) as portal:
        ids = hs.people(portal, 3000)
        cursor = Cursor(portal.clock.now())
        portal.clock.advance(1)
        # The governor waits on the simulator's clock, so ten seconds pass at once.
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            portal.clock.sleep(seconds)

        connector = HubSpotConnector(
            portal.settings(budget={"ten_second_limit": 20, "search_per_second": 2}),
            clock=portal.clock.now,
            monotonic=portal.clock.time,
            sleep=sleep,
        )
        results = connector.apply([_write(i, lastname="Paced") for i in ids])
        pages = list(connector.changes("contact", cursor, now=portal.clock.now()))
        assert all(r.ok for r in results) and sum(len(p.changes) for p in pages) == 3000
        assert connector.stats.requests == connector.stats.succeeded  # not one 429
        assert connector.stats.succeeded == {"update": 30, "search": 15}
        # 45 calls at 18 per 10 s (headroom 0.9: the portal counts a call on arrival, a
        # moment after the governor did): two windows waited out, no more.
        # Counted as the waits themselves: the clock also runs with the machine, and a loaded
        # machine's own seconds once pushed the difference of two readings past 31.
        assert 20 <= sum(slept) < 31, slept


def test_a_429_waits_out_the_interval_hubspot_names(tls_files: TLSFiles) -> None:
    with hs.running_portal(tls_files, ten_second_limit=2) as portal:
        ids = hs.people(portal, 300)
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            portal.clock.advance(seconds)

        # This connector does not know the portal's limit: HubSpot's 429 must teach it.
        # (errors.retrying waits at most 4 x the back-off cap, even when HubSpot asks longer.)
        settings = portal.settings(retry={"cap": 5})
        connector = HubSpotConnector(settings, clock=portal.clock.now, sleep=sleep)
        results = connector.apply([_write(i, lastname="Late") for i in ids])
        assert all(r.ok for r in results)
        assert connector.stats.succeeded == {"update": 3}
        assert connector.stats.requests == {"update": 4}
        assert slept == [10.0]


def test_at_its_own_daily_cap_it_pauses_reports_unhealthy_and_fails_no_record(
    tls_files: TLSFiles,
) -> None:
    with hs.running_portal(tls_files, daily_limit=1000) as portal:
        ids = hs.people(portal, 1000)
        connector = portal.connector(budget={"daily_limit": 1000, "max_own_calls_per_day": 5})
        writes = [_write(i, lastname="Budget") for i in ids]
        with pytest.raises(ApplyPaused, match="own daily cap") as paused:
            connector.apply(writes)
        assert connector.stats.succeeded == {"update": 5}
        landed = [portal.contact(i)["properties"].get("lastname") for i in ids]
        assert landed == ["Budget"] * 500 + [None] * 500  # paused between batches, nothing lost
        # What landed before the pause is answered, so the sync settles it and sends it
        # never again; the other 500 were not sent.
        assert [r.write for r in paused.value.results] == writes[:500]
        assert all(r.ok and r.id == r.write.id for r in paused.value.results)
        health = connector.health()
        assert not health.healthy and health.paused
        assert "it made 5 of the 5 daily API calls it may make" in health.detail

        with pytest.raises(BudgetPaused):  # reads pause the same way, before any call
            list(connector.changes("contact", None, now=portal.clock.now()))
        assert connector.stats.requests == {"update": 5}


def test_a_busy_portal_does_not_pause_leadbridge_above_the_floor(tls_files: TLSFiles) -> None:
    with hs.running_portal(tls_files, daily_limit=1000) as portal:
        (contact,) = hs.people(portal, 1)
        for _ in range(900):  # the portal's other apps, before leadbridge starts
            assert portal.sim.limits.daily is not None and portal.sim.limits.daily.hit().allowed
        budget = {"daily_limit": 1000, "max_own_calls_per_day": 500, "min_portal_calls_left": 50}
        connector = portal.connector(budget=budget)
        for _ in range(10):  # each answer says 90% or more of the portal's day is used
            assert len(connector.read("contact", [contact])) == 1
        health = connector.health()
        assert health.healthy and not health.paused, health.detail
        state = health.budget
        assert state is not None
        assert (state.daily_used, state.daily_allowed, state.org_used) == (10, 500, 910)


def test_below_the_portals_floor_leadbridge_pauses_and_says_why(tls_files: TLSFiles) -> None:
    with hs.running_portal(tls_files, daily_limit=1000) as portal:
        (contact,) = hs.people(portal, 1)
        budget = {"daily_limit": 1000, "max_own_calls_per_day": 500, "min_portal_calls_left": 50}
        connector = portal.connector(budget=budget)
        connector.read("contact", [contact])
        daily = portal.sim.limits.daily
        assert daily is not None
        for _ in range(954):  # another app's nightly job
            daily.hit()
        connector.read("contact", [contact])  # its answer says 956 of 1000 are used: 44 left
        with pytest.raises(BudgetPaused) as paused:
            connector.read("contact", [contact])
        assert str(paused.value) == (
            "the portal's daily API headroom is below the floor: 44 of its 1000 calls left, "
            "fewer than budget.min_portal_calls_left (50); leadbridge itself made 2 of them"
        )
        health = connector.health()
        assert health.paused and health.budget is not None
        assert health.budget.reason == str(paused.value)
        assert daily.used == 956  # paused before the third call, not refused by HubSpot


def test_daily_share_in_an_older_file_caps_leadbridges_own_calls(tls_files: TLSFiles) -> None:
    with hs.running_portal(tls_files, daily_limit=1000) as portal:
        (contact,) = hs.people(portal, 1)
        for _ in range(900):  # once "900 of 5 calls allowed to leadbridge": paused at once
            assert portal.sim.limits.daily is not None and portal.sim.limits.daily.hit().allowed
        # 0.5% of HubSpot's 1,000 a day (its header replaces our guess): 5 calls of our own.
        connector = portal.connector(budget={"daily_limit": 10**6, "daily_share": 0.005})
        for _ in range(5):
            assert len(connector.read("contact", [contact])) == 1
        with pytest.raises(BudgetPaused, match="5 of the 5 daily API calls"):
            connector.read("contact", [contact])
        assert connector.stats.requests == {"read": 5}


def test_when_the_portal_says_its_day_is_spent_the_connector_pauses(tls_files: TLSFiles) -> None:
    with hs.running_portal(tls_files, daily_limit=2) as portal:
        (contact,) = hs.people(portal, 1)
        connector = portal.connector(budget={"daily_limit": 100})
        portal.connector().read("contact", [contact])  # other apps spend the portal's day
        portal.connector().read("contact", [contact])
        with pytest.raises(BudgetPaused):
            connector.read("contact", [contact])
        assert connector.stats.requests == {"read": 1}  # no retry can help before the reset
        assert connector.health().paused


def test_no_answer_is_retried_then_raised_as_a_failure_without_status(portal: Portal) -> None:
    connector = portal.connector(retry={"attempts": 3})
    portal.server.stop()
    with pytest.raises(RemoteError) as caught:
        connector.read("contact", ["1"])
    failure = caught.value.failure
    assert (failure.status, failure.code) == (None, "NewConnectionError")
    assert caught.value.action is Action.RETRY
    assert connector.stats.requests == {"read": 3}
    for _ in range(2):
        with pytest.raises(RemoteError):
            connector.read("contact", ["1"])
    health = connector.health()
    assert not health.healthy and health.detail.startswith("failing: hubspot no answer")


def test_a_refused_token_fails_the_run_at_once(portal: Portal) -> None:
    connector = portal.connector(token="pat-na1-wrong")
    with pytest.raises(RemoteError) as caught:
        connector.read("contact", ["1"])
    failure = caught.value.failure
    assert (failure.status, failure.code, caught.value.action) == (
        401,
        "INVALID_AUTHENTICATION",
        Action.FAIL,
    )
    assert connector.stats.requests == {"read": 1}
    assert not connector.health().healthy


def test_describe_lists_properties_with_their_options(portal: Portal) -> None:
    schema = portal.connector().describe("contact")
    stage = schema.fields["lifecyclestage"]
    assert stage.type == "enumeration" and stage.restricted
    assert stage.options[:3] == ("subscriber", "lead", "marketingqualifiedlead")
    assert not schema.fields["hubspotscore"].writable
    assert schema.fields["firstname"].writable and not schema.fields["firstname"].restricted
