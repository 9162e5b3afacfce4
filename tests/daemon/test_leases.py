"""Leases: leased jobs run only on the holder; a lost renewal stops the work before the lease
could pass elsewhere; a transaction that outlives the lease commits nothing."""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadbridge.daemon.lease import (
    SWEEP,
    SYNC,
    FencedStore,
    LeaseKeeper,
    LeaseLost,
    dead_here,
    holder_id,
)
from leadbridge.daemon.service import Daemon
from leadbridge.model import Hint, System
from leadbridge.store import Store
from leadbridge.store.migrate import upgrade
from tests.daemon.conftest import FAST, Rig
from tests.harness import wait_until
from tests.schemas import fresh_schema
from tests.store.conftest import T0

HOUR = timedelta(hours=1)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Store:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    upgrade(url)
    return Store.open(url)


def test_holder_ids_differ_between_processes_and_calls() -> None:
    first, second = holder_id(), holder_id()
    assert first != second and first.count(":") == 3  # hostname:machine:pid:random


def test_a_lease_counts_only_until_ttl_minus_margin_after_the_last_renewal(store: Store) -> None:
    ticks = Ticks()
    keeper = LeaseKeeper(store, "a", ttl=30, renew_every=5, margin=8, monotonic=ticks)
    keeper.tick()
    assert keeper.holds(SYNC)
    ticks.now += 21.9
    assert keeper.holds(SYNC)
    ticks.now += 0.2  # 22.1 s without a renewal: 8 s before anyone else could take it
    assert not keeper.holds(SYNC)
    with pytest.raises(LeaseLost):
        keeper.check(SYNC)


def test_a_renewal_that_finds_another_holder_stops_the_work_at_once(store: Store) -> None:
    ticks = Ticks()
    keeper = LeaseKeeper(store, "a", ttl=30, renew_every=5, margin=8, monotonic=ticks)
    keeper.tick()
    with store.transaction() as uow:
        # Whatever happened (a long pause, a clock jump), the row says "b" now.
        uow.leases.release(SYNC, "a")
        assert uow.leases.acquire(SYNC, "b", timedelta(seconds=30))
    assert keeper.holds(SYNC)
    keeper.tick()
    assert not keeper.holds(SYNC)


def test_renewals_that_fail_end_the_lease_when_the_last_good_one_runs_out(
    store: Store,
) -> None:
    """A failed renewal (database down, or SQLite's write lock held by this process's own
    long round) is not another holder: the lease lasts until ttl - margin after the last
    good renewal, which is still before anyone else could take it."""
    ticks = Ticks()
    keeper = LeaseKeeper(store, "a", ttl=30, renew_every=5, margin=8, monotonic=ticks)
    keeper.tick()
    assert keeper.holds(SYNC)
    keeper.store = Store.open("postgresql+psycopg://nobody@127.0.0.1:1/none")  # refused
    ticks.now += 5
    keeper.tick()
    assert keeper.holds(SYNC)
    ticks.now += 17.1  # 22.1 s after the last good renewal
    keeper.tick()
    assert not keeper.holds(SYNC)


def test_a_transaction_that_outlives_the_lease_commits_nothing(postgres_url: str) -> None:
    with fresh_schema(postgres_url) as url:
        upgrade(url)
        store = Store.open(url)
        try:
            ticks = Ticks()
            keeper = LeaseKeeper(store, "a", ttl=30, renew_every=5, margin=8, monotonic=ticks)
            keeper.tick()
            fenced = FencedStore(store, keeper, SYNC)

            def overrun() -> None:
                with fenced.transaction() as uow:
                    uow.hints.add([Hint(System.HUBSPOT, "contact", "101", T0)])
                    ticks.now += 23  # the work ran past the lease

            with pytest.raises(LeaseLost):
                overrun()
            with store.reading() as uow:
                assert uow.hints.count() == 0
            with pytest.raises(LeaseLost), fenced.transaction():
                pass  # nor does a new one begin
        finally:
            store.close()


def test_release_hands_the_lease_over_without_waiting_for_expiry(store: Store) -> None:
    keeper = LeaseKeeper(store, "a", ttl=30, renew_every=5, margin=8)
    keeper.start()
    assert keeper.holds(SYNC)
    keeper.release()
    assert not keeper.holds(SYNC)
    with store.transaction() as uow:
        assert uow.leases.holder(SYNC) is None
        assert uow.leases.acquire(SYNC, "b", timedelta(seconds=30))


def test_jobs_are_skipped_without_the_lease_and_run_once_it_comes(rig: Rig) -> None:
    rig.people(10)
    store = rig.runtime.pipeline.store
    with store.transaction() as uow:
        assert uow.leases.acquire(SYNC, "replica-b", HOUR)
        uow.hints.add([Hint(System.HUBSPOT, "contact", "1", T0)])
    daemon = Daemon(rig.pipeline, FAST, holder="replica-a")
    daemon.start()
    try:
        wait_until(lambda: daemon.nudger.runs >= 3, 10, "three ticks of the inbox job")
        daemon.jobs.poll(System.SALESFORCE)  # a poll's tick, run by hand: skipped too
        assert not daemon.leases.holds(SYNC)
        assert rig.hubspot.calls == [] and rig.salesforce.calls == []
        with store.reading() as uow:
            assert uow.hints.count() == 1  # not read: that is the holder's job
        with store.transaction() as uow:
            uow.leases.release(SYNC, "replica-b")
        # Taken over within a renewal tick; the takeover runs the polls and the inbox at once.
        wait_until(lambda: daemon.leases.holds(SYNC), 5, "the takeover")
        wait_until(lambda: "changes" in rig.salesforce.calls, 10, "a Salesforce poll")
        wait_until(lambda: "fetch" in rig.hubspot.calls, 10, "the pushed contact read")
    finally:
        daemon.stop()


def test_the_sla_sweep_runs_only_on_the_holder_of_the_sweep_lease(rig: Rig) -> None:
    store = rig.runtime.pipeline.store
    with store.transaction() as uow:
        assert uow.leases.acquire(SWEEP, "replica-b", HOUR)
    swept: list[datetime] = []
    settings = replace(FAST, sweep_every=0.2)
    daemon = Daemon(rig.pipeline, settings, holder="replica-a", sweep=swept.append)
    daemon.start()
    try:
        wait_until(lambda: daemon.leases.holds(SYNC), 5, "the sync lease")
        wait_until(lambda: daemon.nudger.runs >= 3, 10, "a few ticks")
        assert swept == [] and not daemon.leases.holds(SWEEP)
        with store.transaction() as uow:
            uow.leases.release(SWEEP, "replica-b")
        wait_until(lambda: len(swept) >= 2, 10, "the sweep on its new holder")
    finally:
        daemon.stop()
    with store.reading() as uow:
        assert uow.leases.holder(SWEEP) is None  # given back on stop


def test_a_lease_of_a_process_gone_from_this_machine_is_known_stale() -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()  # reaped: its pid names no process any more
    here = holder_id().rsplit(":", 2)[0]  # hostname:machine of this process
    host = socket.gethostname()
    assert dead_here(f"sync-once:{here}:{finished.pid}:ab12cd34")
    assert not dead_here(f"{here}:{os.getppid()}:ab12cd34")  # alive
    assert not dead_here(f"another-host:{here.split(':')[1]}:{finished.pid}:ab12cd34")
    # The same hostname on another machine or pid namespace (a clone, a sibling container).
    assert not dead_here(f"{host}:0badb00t-1:{finished.pid}:ab12cd34")
    assert not dead_here(f"{host}:{finished.pid}:ab12cd34")  # an id without the machine
    assert not dead_here("replica-a")


def test_on_sqlite_each_fenced_transaction_renews_the_lease_it_runs_under(store: Store) -> None:
    """A round that holds SQLite's write lock longer than ttl - margin does not lose its own
    lease (the keeper's renewals would wait behind that lock): each write transaction
    renews it from inside, where no other writer can be; another holder's row still wins."""
    ticks = Ticks()
    keeper = LeaseKeeper(store, "a", ttl=30, renew_every=5, margin=8, monotonic=ticks)
    keeper.tick()
    fenced = FencedStore(store, keeper, SYNC)
    ticks.now += 25  # past ttl - margin, no renewal from the keeper's thread
    assert not keeper.holds(SYNC)
    with fenced.transaction() as uow:
        uow.hints.add([Hint(System.HUBSPOT, "contact", "1", datetime.now(UTC))])
    assert keeper.holds(SYNC)  # renewed by the transaction itself
    with store.transaction() as uow:
        uow.leases.release(SYNC, "a")
        assert uow.leases.acquire(SYNC, "b", timedelta(seconds=30))
    with pytest.raises(LeaseLost), fenced.transaction() as uow:
        uow.hints.add([Hint(System.HUBSPOT, "contact", "2", datetime.now(UTC))])
    with store.reading() as uow:
        assert [h.id for h in uow.hints.take(10)] == ["1"]  # nothing of b's time was stored
    assert not keeper.holds(SYNC)
