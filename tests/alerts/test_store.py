"""The alerts table on SQLite and PostgreSQL: recorded once, claimed by one, never lost."""

from __future__ import annotations

import threading
from datetime import timedelta

from leadbridge.store import Store
from leadbridge.store.alerts import DROPPED, FAILED, PENDING, SENT, NewAlert
from tests.alerts.conftest import DAY, MONDAY, lead, put

HOLD = timedelta(minutes=5)
NOW = MONDAY + 3 * DAY


def new(key: str, route: str = "alerts") -> NewAlert:
    return NewAlert(key, "lead", "overdue", route, f"text {key}", [{"type": "divider"}])


def test_a_key_is_recorded_once(store: Store) -> None:
    with store.transaction() as uow:
        assert uow.alerts.record([new("a"), new("b")], NOW) == ["a", "b"]
    with store.transaction() as uow:
        assert uow.alerts.record([new("b"), new("c")], NOW) == ["c"]
        assert [a.key for a in uow.alerts.listing(PENDING)] == ["a", "b", "c"]
        recorded = uow.alerts.get("a")
    assert recorded is not None
    assert (recorded.status, recorded.attempts, recorded.next_try_at) == (PENDING, 0, NOW)
    assert recorded.blocks == [{"type": "divider"}]


def test_a_claim_holds_the_alert_until_it_expires(store: Store) -> None:
    with store.transaction() as uow:
        uow.alerts.record([new("a")], NOW)
    with store.transaction() as uow:
        claimed = uow.alerts.claim(NOW, "replica-1", HOLD)
    assert claimed is not None and claimed.attempts == 1
    with store.transaction() as uow:  # replica-1 died before sending: nobody may take it yet
        assert uow.alerts.claim(NOW + HOLD - timedelta(seconds=1), "replica-2", HOLD) is None
    with store.transaction() as uow:  # ... but it is not lost
        again = uow.alerts.claim(NOW + HOLD, "replica-2", HOLD)
    assert again is not None and again.key == "a" and again.attempts == 2
    with store.transaction() as uow:
        uow.alerts.retry(again.id, "replica-1", NOW, "stale claim")  # not replica-1's any more
        uow.alerts.sent(again.id, NOW + HOLD)
        assert uow.alerts.claim(NOW + 10 * HOLD, "replica-3", HOLD) is None
        assert uow.alerts.counts() == {SENT: 1}


def test_failed_sends_wait_and_refused_ones_are_kept(store: Store) -> None:
    with store.transaction() as uow:
        uow.alerts.record([new("a"), new("b", "escalation")], NOW)
    with store.transaction() as uow:
        first = uow.alerts.claim(NOW, "r", HOLD)
        assert first is not None
        uow.alerts.retry(first.id, "r", NOW + timedelta(minutes=1), "503 service_unavailable")
        second = uow.alerts.claim(NOW, "r", HOLD)
        assert second is not None and second.key == "b"
        uow.alerts.fail(second.id, "400 invalid_blocks")
        assert uow.alerts.claim(NOW, "r", HOLD) is None  # a waits a minute
        later = uow.alerts.claim(NOW + timedelta(minutes=1), "r", HOLD, skip_routes={"alerts"})
        assert later is None  # its webhook is paused for this sweep
        assert uow.alerts.claim(NOW + timedelta(minutes=1), "r", HOLD) is not None
        refused = uow.alerts.get("b")
        assert refused is not None and refused.status == FAILED
        assert refused.last_error == "400 invalid_blocks"


def test_racing_replicas_claim_each_alert_once(store: Store, url: str) -> None:
    """Threads with their own Store (own connections) claim 40 alerts: each exactly once."""
    with store.transaction() as uow:
        uow.alerts.record([new(f"k{n:02d}") for n in range(40)], NOW)
    claims: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def replica(name: str) -> None:
        try:
            with Store.open(url) as own:
                while True:
                    with own.transaction() as uow:
                        claimed = uow.alerts.claim(NOW, name, HOLD)
                    if claimed is None:
                        return
                    with lock:
                        claims.append(claimed.key)
        except BaseException as error:  # surfaced below, in the test's own thread
            errors.append(error)

    threads = [threading.Thread(target=replica, args=(f"r{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sorted(claims) == [f"k{n:02d}" for n in range(40)]


def test_candidates_skip_young_entries_and_recorded_escalations(store: Store) -> None:
    put(
        store,
        lead("young", entered_at=NOW - timedelta(days=1)),
        lead("old", entered_at=NOW - timedelta(days=3), hubspot="77"),
        lead("escalated", entered_at=NOW - timedelta(days=9)),
        lead("no_sla", stage="lead", entered_at=NOW - timedelta(days=300)),
    )
    limits = {"mql": timedelta(days=2)}
    with store.transaction() as uow:
        uow.alerts.record(
            [
                NewAlert(
                    "e",
                    "lead",
                    "escalation",
                    "alerts",
                    "t",
                    [],
                    "escalated",
                    "mql",
                    NOW - timedelta(days=9),
                )
            ],
            NOW,
        )
        found = uow.alerts.candidates(limits, NOW)
        every = uow.alerts.candidates(limits, NOW, unescalated=False)
        [identified] = uow.alerts.with_identity(found)
    assert [c.id for c in found] == ["old"]
    assert identified.identity.hubspot == "77"
    assert [c.id for c in every] == ["escalated", "old"]


def test_a_pending_alert_goes_stale_when_the_lead_moves_on(store: Store) -> None:
    sam = lead("sam", entered_at=NOW - timedelta(days=3))
    put(store, sam)
    entry = NewAlert("s", "lead", "overdue", "alerts", "t", [], "sam", "mql", sam.stage_entered_at)
    with store.transaction() as uow:
        uow.alerts.record([entry], NOW)
        pending = uow.alerts.get("s")
        assert pending is not None and uow.alerts.stale(pending) is None
        uow.leads.save(lead("sam", stage="sql", entered_at=NOW))
        assert uow.alerts.stale(pending) == "the lead moved on (now in sql)"
        uow.alerts.drop(pending.id, "the lead moved on (now in sql)")
        assert uow.alerts.counts() == {DROPPED: 1}


def test_a_health_flip_is_recorded_by_one_replica(store: Store) -> None:
    with store.transaction() as uow:
        assert uow.alerts.first_health("hubspot", True, "ok", MONDAY)
        assert not uow.alerts.first_health("hubspot", False, "503", MONDAY)
    with store.transaction() as uow:
        assert uow.alerts.flip_health("hubspot", False, "503", MONDAY, NOW)
        # A second replica read the same old state: its flip finds nothing to move.
        assert not uow.alerts.flip_health("hubspot", False, "timeout", MONDAY, NOW)
        state = uow.alerts.health()["hubspot"]
    assert (state.healthy, state.detail, state.since) == (False, "503", NOW)
