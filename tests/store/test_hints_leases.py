"""Pushed hints and leases, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from leadbridge.model import Hint, System
from leadbridge.store import Store
from tests.store.conftest import T0, FixedClock

HS, SF = System.HUBSPOT, System.SALESFORCE
TTL = timedelta(seconds=30)


def test_a_hint_pushed_many_times_is_one_read(url: str) -> None:
    clock = FixedClock()
    with Store.open(url, clock=clock) as store:
        with store.transaction() as uow:
            uow.hints.add([Hint(HS, "contact", "101", T0)] * 3)
            uow.hints.add([Hint(HS, "contact", "101", T0 + timedelta(seconds=1))])
            uow.hints.add([Hint(SF, "Lead", "00Q1", T0)])
        with store.transaction() as uow:
            taken = uow.hints.take(10)
        assert [(h.system, h.id) for h in taken] == [(SF, "00Q1"), (HS, "101")]
        assert taken[1].received_at == T0 + timedelta(seconds=1)  # the latest push


def test_a_push_while_reading_survives_the_clear(url: str) -> None:
    with Store.open(url, clock=FixedClock()) as store:
        with store.transaction() as uow:
            uow.hints.add([Hint(HS, "contact", "101", T0), Hint(HS, "contact", "102", T0)])
        with store.transaction() as uow:
            taken = uow.hints.take(10)
        with store.transaction() as uow:
            # 101 changes again while the sync reads the first push: that read may have
            # missed it, so its hint must outlive the clear.
            uow.hints.add([Hint(HS, "contact", "101", T0 + timedelta(seconds=2))])
        with store.transaction() as uow:
            uow.hints.clear(taken)
            assert [h.id for h in uow.hints.take(10)] == ["101"]
            assert uow.hints.count() == 1


def test_one_holder_at_a_time_and_takeover_after_expiry(url: str) -> None:
    clock = FixedClock()
    with Store.open(url, clock=clock) as store:
        with store.transaction() as uow:
            assert uow.leases.acquire("poll", "a", TTL)
            assert not uow.leases.acquire("poll", "b", TTL)
        clock.advance(20)
        with store.transaction() as uow:
            assert uow.leases.acquire("poll", "a", TTL)  # renewed to T0+50s
        clock.advance(20)
        with store.transaction() as uow:
            assert not uow.leases.acquire("poll", "b", TTL)
            assert uow.leases.holder("poll") == "a"
        clock.advance(11)  # a stopped renewing: expired at T0+50s
        with store.transaction() as uow:
            assert uow.leases.holder("poll") is None
            assert uow.leases.acquire("poll", "b", TTL)
            assert not uow.leases.acquire("poll", "a", TTL)


def test_a_lease_is_judged_at_the_moment_it_was_written_for(url: str) -> None:
    """A clock that jumps past the TTL while a renewal runs (a test advancing the sandbox's
    clock) must not make the lease just renewed look expired to the renewal itself."""
    clock = FixedClock()

    class Jumping:
        def __init__(self) -> None:
            self.reads = 0

        def __call__(self) -> datetime:
            self.reads += 1
            if self.reads == 2:  # the renewal's own clock reading is the first
                clock.advance(60)
            return clock()

    with Store.open(url, clock=clock) as store, store.transaction() as uow:
        uow.leases._clock = Jumping()  # the repository's clock, read on each question
        assert uow.leases.acquire("sync", "a", TTL)
        assert uow.leases.holder("sync") is None  # asked later, it has expired


def test_release_frees_the_lease_at_once(url: str) -> None:
    with Store.open(url, clock=FixedClock()) as store, store.transaction() as uow:
        assert uow.leases.acquire("sweep", "a", TTL)
        uow.leases.release("sweep", "b")  # not b's to give
        assert uow.leases.holder("sweep") == "a"
        uow.leases.release("sweep", "a")
        assert uow.leases.acquire("sweep", "b", TTL)


def test_racing_replicas_never_both_win(url: str) -> None:
    """Many threads, each its own connection, race for a free lease: exactly one wins."""
    clock = FixedClock()
    winners: list[str] = []
    lock = threading.Lock()
    with Store.open(url, clock=clock) as store:
        start = threading.Barrier(6)

        def race(name: str) -> None:
            start.wait()
            for _ in range(10):
                try:
                    with store.transaction() as uow:
                        won = uow.leases.acquire("poll", name, TTL)
                except sa.exc.OperationalError:  # SQLite: "database is locked"; try again
                    time.sleep(0.01)
                    continue
                if won:
                    with lock:
                        winners.append(name)
                return

        threads = [threading.Thread(target=race, args=(f"r{i}",)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(set(winners)) == 1
