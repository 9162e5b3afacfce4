"""Issue 12: concurrent webhooks and the sync share the hints table without deadlocking,
and a deadlock that does happen costs a retry, not an error. SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import psycopg
import pytest
import sqlalchemy as sa

from leadbridge.model import Hint, System
from leadbridge.store import Store, UnitOfWork
from leadbridge.store.tables import hints
from tests.store.conftest import T0

HS = System.HUBSPOT
THREADS, ROUNDS, POOL, PER_PUSH = 8, 30, 40, 15


def _hammer(threads: int, body: Callable[[int], None]) -> list[BaseException]:
    """`body(n)` on `threads` threads started together; what they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def run(n: int) -> None:
        try:
            start.wait()
            body(n)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    return errors


def test_overlapping_pushes_in_any_order_with_the_sync_clearing(url: str) -> None:
    """Seven webhook threads push overlapping contacts in shuffled orders while one thread
    takes and clears as the sync does. Plain transactions, no retry: a deadlock fails it."""
    ids = [str(1000 + n) for n in range(POOL)]
    pushed: dict[str, set[datetime]] = {record: set() for record in ids}  # record -> stamps
    read: dict[str, set[datetime]] = {record: set() for record in ids}
    lock = threading.Lock()
    pushing = threading.Event()

    def push(n: int) -> None:
        rng = random.Random(n)
        for round_ in range(ROUNDS):
            at = T0 + timedelta(microseconds=round_ * THREADS + n)
            batch = rng.sample(ids, PER_PUSH)  # a random order each time
            with store.transaction() as uow:
                uow.hints.add([Hint(HS, "contact", record, at) for record in batch])
            with lock:
                for record in batch:
                    pushed[record].add(at)

    def sync() -> None:
        while pushing.is_set():
            with store.transaction() as uow:
                taken = uow.hints.take(25)
            with store.transaction() as uow:
                uow.hints.clear(taken)
            for hint in taken:
                read[hint.id].add(hint.received_at)

    def work(n: int) -> None:
        if n == 0:
            sync()
            return
        try:
            push(n)
        finally:
            with lock:
                running[0] -= 1
                if running[0] == 0:
                    pushing.clear()

    running = [THREADS - 1]
    pushing.set()
    with Store.open(url) as store:
        errors = _hammer(THREADS, work)
        assert errors == []
        with store.transaction() as uow:
            left = {h.id: h.received_at for h in uow.hints.take(POOL * 2)}
        # Nothing pushed is lost: a record's latest push was read, or still waits.
        for record in ids:
            latest = max(pushed[record])
            waiting = left.get(record)
            assert latest in read[record] or (waiting is not None and waiting >= latest), record
            assert waiting is None or waiting in pushed[record]
        # And once nobody pushes, one read clears them all.
        with store.transaction() as uow:
            uow.hints.clear(uow.hints.take(POOL * 2))
            assert uow.hints.count() == 0


def test_pushes_from_many_threads_leave_each_records_latest_stamp(url: str) -> None:
    ids = [str(2000 + n) for n in range(POOL)]
    latest: dict[str, datetime] = {}
    lock = threading.Lock()

    def push(n: int) -> None:
        rng = random.Random(100 + n)
        for _ in range(ROUNDS):
            at = T0 + timedelta(seconds=rng.randrange(10_000))
            batch = rng.sample(ids, PER_PUSH)
            with store.transaction() as uow:
                uow.hints.add([Hint(HS, "contact", record, at) for record in batch])
            with lock:
                for record in batch:
                    latest[record] = max(latest.get(record, at), at)

    with Store.open(url) as store:
        assert _hammer(THREADS, push) == []
        with store.transaction() as uow:
            stored = {h.id: h.received_at for h in uow.hints.take(POOL * 2)}
    assert stored == latest


def _deadlock() -> sa.exc.OperationalError:
    """What SQLAlchemy raises when PostgreSQL picks this transaction as a deadlock's victim."""
    return sa.exc.OperationalError(
        "INSERT INTO hints ...", {}, psycopg.errors.DeadlockDetected("deadlock detected")
    )


def test_a_deadlock_once_is_retried_on_a_fresh_transaction(store: Store) -> None:
    attempts: list[int] = []
    waits: list[float] = []

    def work(uow: UnitOfWork) -> str:
        attempts.append(len(attempts) + 1)
        uow.hints.add([Hint(HS, "contact", f"attempt-{len(attempts)}", T0)])
        if len(attempts) == 1:
            raise _deadlock()
        return "stored"

    assert store.run(work, sleep=waits.append) == "stored"
    assert attempts == [1, 2] and len(waits) == 1 and 0 <= waits[0] <= 0.2
    with store.transaction() as uow:
        # The failed attempt's write was rolled back with it.
        assert [h.id for h in uow.hints.take(10)] == ["attempt-2"]


def test_retries_give_up_after_the_last_attempt(store: Store) -> None:
    calls: list[None] = []

    def always(uow: UnitOfWork) -> None:
        calls.append(None)
        raise _deadlock()

    with pytest.raises(sa.exc.OperationalError, match="deadlock detected"):
        store.run(always, attempts=3, sleep=lambda seconds: None)
    assert len(calls) == 3


def test_other_database_errors_are_not_retried(store: Store) -> None:
    calls: list[None] = []

    def twice(uow: UnitOfWork) -> None:
        calls.append(None)
        row = {"system": "hubspot", "object": "contact", "record_id": "1", "received_at": "x"}
        uow.connection.execute(sa.insert(hints), [row, row])  # a unique violation

    with pytest.raises(sa.exc.IntegrityError):
        store.run(twice, sleep=lambda seconds: None)
    assert len(calls) == 1


def test_a_real_deadlock_is_retried(url: str) -> None:
    """Two transactions lock two rows in opposite orders: PostgreSQL fails one with 40P01
    after its deadlock_timeout, and `run` runs that one again; both end stored."""
    if not url.startswith("postgresql"):
        pytest.skip("SQLite's BEGIN IMMEDIATE lets one writer in at a time: no deadlock")
    with Store.open(url) as store:
        with store.transaction() as uow:
            uow.hints.add([Hint(HS, "contact", "a", T0), Hint(HS, "contact", "b", T0)])
        both_hold_one = threading.Barrier(2)
        attempts: list[int] = []

        def touch(uow: UnitOfWork, record: str, at: str) -> None:
            uow.connection.execute(
                sa.update(hints).where(hints.c.record_id == record).values(received_at=at)
            )

        def cross(n: int) -> None:
            first, second = ("a", "b") if n == 0 else ("b", "a")
            stamp = f"2026-01-01T00:00:0{n}.000000+00:00"

            def work(uow: UnitOfWork) -> None:
                attempts.append(n)
                touch(uow, first, stamp)
                if attempts.count(n) == 1:
                    both_hold_one.wait(10)  # only the first attempts meet here
                touch(uow, second, stamp)

            store.run(work)

        assert _hammer(2, cross) == []
        assert len(attempts) == 3  # one of the two was the victim, and ran again
        with store.transaction() as uow:
            stamps = {h.received_at for h in uow.hints.take(10)}
        assert len(stamps) == 1  # both rows carry the stamp of whoever committed last
