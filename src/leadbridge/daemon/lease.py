"""Leases held by one replica at a time, and the fence that stops leased work once one is lost.

A `LeaseKeeper` thread takes or renews each lease every RENEW_EVERY seconds
(FOLLOW_EVERY while another replica holds it, so a dead holder's work is taken
over within a second of its lease expiring). The replica counts a lease as its
own only until `ttl - margin` after the start of its last successful renewal,
measured on its own monotonic clock: a renewal that finds another holder ends
it at once, and a replica whose renewals fail (it stops hearing from the
database) stops `margin` seconds before any other replica could take it over
(the margin covers clock skew between replicas and the commit in flight).

`FencedStore` is the store the leased jobs run on: every transaction checks the
lease when it begins and again just before it commits, and raises `LeaseLost`
instead, rolling back. The sync opens a transaction right before each batch of
writes leaves (to mark it sent), so a replica that lost its lease sends
nothing more; what it had decided stays in the write log for the new holder.
On SQLite the check before commit is left out: a transaction there holds the
database's one write lock from BEGIN IMMEDIATE on, so no other process can
take the lease, let alone decide, until it commits; and the renewal waits
for that same lock, so a long round would otherwise fail its own commit.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import structlog

from leadbridge.store import Store, UnitOfWork
from leadbridge.sync.pipeline import Pipeline

SYNC = "sync"  # polls, deciding and writing
SWEEP = "sweep"  # the SLA sweep
TTL = 30.0
RENEW_EVERY = 5.0
FOLLOW_EVERY = 1.0
MARGIN = 8.0

_log = structlog.get_logger(__name__)


class LeaseLost(Exception):
    """Leased work stopped: this replica no longer holds (or is giving up) the lease."""


def holder_id() -> str:
    """hostname:machine:pid:random, so two processes, even in one container, never share an
    id, and `dead_here` can tell a process of this very machine and pid namespace."""
    return f"{socket.gethostname()}:{_machine()}:{os.getpid()}:{secrets.token_hex(4)}"


def _machine() -> str:
    """This boot of this kernel and this pid namespace: a hostname alone is not unique
    (cloned VMs, containers given one hostname), and a pid means nothing outside both."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return "unknown"
    return f"{boot}-{namespace}"


def dead_here(holder: str) -> bool:
    """Whether `holder` (…hostname:machine:pid:random) was a process of this machine and pid
    namespace that is gone: its lease is stale, and waiting out the TTL would only delay a
    restart after a crash. Anything else (another machine, a live process, an unknown
    machine, an id of another shape) is never judged dead."""
    parts = holder.split(":")
    if len(parts) < 4 or not parts[-2].isdigit():
        return False
    host, machine, pid = parts[-4], parts[-3], int(parts[-2])
    if host != socket.gethostname() or machine != _machine() or machine == "unknown":
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class LeaseKeeper:
    def __init__(
        self,
        store: Store,
        holder: str,
        names: Sequence[str] = (SYNC, SWEEP),
        *,
        ttl: float = TTL,
        renew_every: float = RENEW_EVERY,
        follow_every: float = FOLLOW_EVERY,
        margin: float = MARGIN,
        on_gained: Callable[[str], None] = lambda name: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < margin < ttl or renew_every >= ttl - margin:
            raise ValueError("need 0 < margin < ttl and renew_every < ttl - margin")
        self.store = store
        self.holder = holder
        self.names = tuple(names)
        self.ttl = ttl
        self.renew_every = renew_every
        self.follow_every = follow_every
        self.margin = margin
        self._on_gained = on_gained
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._until: dict[str, float] = dict.fromkeys(self.names, 0.0)
        self._closed = False  # giving up: nothing counts as held any more
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def holds(self, name: str) -> bool:
        with self._lock:
            return not self._closed and self._monotonic() < self._until.get(name, 0.0)

    def check(self, name: str) -> None:
        if not self.holds(name):
            raise LeaseLost(f"this replica does not hold the {name} lease")

    def renew_within(self, uow: UnitOfWork, name: str) -> None:
        """Renew `name` inside a transaction that excludes every other writer (SQLite's), or
        raise LeaseLost: given up, or the row names another holder. If the transaction
        rolls back, so does the renewal; the next one checks the row again."""
        with self._lock:
            if self._closed:
                raise LeaseLost(f"giving up the {name} lease")
        started = self._monotonic()
        if not uow.leases.acquire(name, self.holder, timedelta(seconds=self.ttl)):
            with self._lock:
                self._until[name] = 0.0
            raise LeaseLost(f"this replica does not hold the {name} lease")
        with self._lock:
            self._until[name] = max(self._until[name], started + self.ttl - self.margin)

    def tick(self) -> None:
        """Take or renew every lease once (the thread's step; tests call it directly)."""
        for name in self.names:
            if self._stop.is_set():
                return
            self._renew(name)

    def _renew(self, name: str) -> None:
        started = self._monotonic()
        error: str | None = None
        try:
            with self.store.transaction() as uow:
                mine = uow.leases.acquire(name, self.holder, timedelta(seconds=self.ttl))
        except Exception as exc:  # a database that is down: the lease cannot be trusted
            mine, error = False, f"{type(exc).__name__}: {exc}"
        with self._lock:
            had = self._until[name] > started
            if mine:
                self._until[name] = started + self.ttl - self.margin
            elif error is None:
                self._until[name] = 0.0  # another holder: stop at once
            # A renewal that failed (the database down, or on SQLite its write lock held by
            # this very process's long round) leaves the lease as held until its last good
            # renewal runs out: still `margin` before anyone else could take it over.
        # Logged when it changes hands, not on every renewal.
        if mine and not had:
            _log.info("lease gained", lease=name, holder=self.holder)
            try:
                self._on_gained(name)
            except Exception:  # the renewals must go on whatever a listener does
                _log.exception("acting on a gained lease failed", lease=name)
        elif had and not mine and error is None:
            _log.warning("lease lost", lease=name, holder=self.holder)
        elif error is not None:
            _log.debug("lease not renewed", lease=name, error=error)

    def start(self) -> None:
        self.tick()
        self._thread = threading.Thread(target=self._run, name="leases", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            held = all(self.holds(name) for name in self.names)
            if self._stop.wait(self.renew_every if held else self.follow_every):
                return
            self.tick()

    def close(self) -> None:
        """Stop counting any lease as held (leased work stops at its next check); renewals
        go on until `release`, so nobody takes over while that work winds down."""
        with self._lock:
            self._closed = True

    def release(self) -> None:
        """Stop renewing and give the leases back, so another replica need not wait out the
        TTL. Call only once no leased work runs here any more."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self._closed = True
            held = [name for name, until in self._until.items() if until > self._monotonic()]
            self._until = dict.fromkeys(self.names, 0.0)
        for name in held:
            try:
                with self.store.transaction() as uow:
                    uow.leases.release(name, self.holder)
                _log.info("lease released", lease=name, holder=self.holder)
            except Exception as exc:
                logging.getLogger(__name__).warning("could not release the %s lease: %s", name, exc)

    def abandon(self) -> None:
        """Stop renewing without giving anything back: the leases expire on their own (a
        batch still running here must not overlap the next holder's)."""
        self._stop.set()
        with self._lock:
            self._closed = True


class FencedStore(Store):
    """The same database as `store`; each transaction holds only while `keeper` holds `name`.

    PostgreSQL: the lease is checked when a transaction begins and again just before it
    commits. SQLite: a write transaction holds the database's one write lock from BEGIN
    IMMEDIATE on, so the lease row read inside it is the truth, and the lease is renewed
    right there: a renewal from the keeper's thread would only wait behind this very
    lock, and a long round would outlast the lease it holds.
    """

    def __init__(self, store: Store, keeper: LeaseKeeper, name: str) -> None:
        super().__init__(store.engine, store.clock)
        self._keeper = keeper
        self._name = name
        self._exclusive = store.dialect == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        if self._exclusive:
            with super().transaction() as uow:
                self._keeper.renew_within(uow, self._name)
                yield uow
            return
        self._keeper.check(self._name)
        with super().transaction() as uow:
            yield uow
            uow.flush()  # the buffered writes go before the last check, not after it
            # Raising here rolls the whole transaction back: nothing decided after the
            # lease was lost is committed.
            self._keeper.check(self._name)

    def close(self) -> None:
        """The engine belongs to the store this one fences; closing is its owner's job."""


@contextmanager
def leased(pipeline: Pipeline, who: str) -> Iterator[Pipeline | None]:
    """The pipeline fenced by the "sync" lease, held (and renewed) for the block; None while
    another process holds it. For one-shot commands (`sync --once`, `run --max-cycles`);
    a lease left by a crashed process of this machine is released first, not waited out."""
    with pipeline.store.transaction() as uow:
        held_by = uow.leases.holder(SYNC)
        if held_by is not None and dead_here(held_by):
            uow.leases.release(SYNC, held_by)
    keeper = LeaseKeeper(pipeline.store, f"{who}:{holder_id()}", (SYNC,))
    keeper.start()  # takes the lease once now, then renews it in the background
    try:
        if not keeper.holds(SYNC):
            yield None
            return
        yield replace(pipeline, store=FencedStore(pipeline.store, keeper, SYNC))
    finally:
        keeper.release()
