"""In-process daemon fixtures: the sandbox in this process, the real runtime on SQLite, and
connectors wrapped so a test can see their calls and hold a batch of writes in flight."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import pytest

from leadbridge.connectors.base import Connector, Cursor, Health, ObjectSchema, Page, WriteResult
from leadbridge.connectors.budget import BudgetPaused
from leadbridge.daemon.service import DaemonSettings
from leadbridge.model import Change, RecordWrite, System
from leadbridge.sandbox.world import Sandbox
from leadbridge.sync.pipeline import Pipeline
from leadbridge.sync.runtime import Runtime, build, sandbox_env
from tests.harness import ROOT

HS, SF = System.HUBSPOT, System.SALESFORCE
# Short leases and ticks, so takeovers and shutdowns happen in a test's seconds.
FAST = DaemonSettings(
    serve_http=False,
    poll_every={HS: 3600.0, SF: 3600.0},
    inbox_every=0.3,
    lease_ttl=3.0,
    renew_every=0.5,
    follow_every=0.2,
    lease_margin=1.0,
    grace=2.0,
    port=0,
)


@dataclass
class Recording:
    """A real connector, its calls recorded; `apply` can be held at a gate or refused for a
    spent budget, as a test needs."""

    inner: Connector
    calls: list[str] = field(default_factory=list)
    gate: threading.Event | None = None  # apply waits for it (a batch held in flight)
    gate_timeout: float = 30.0
    applying: threading.Event = field(default_factory=threading.Event)
    applied: threading.Event = field(default_factory=threading.Event)
    budget_spent: bool = False

    @property
    def system(self) -> System:
        return self.inner.system

    @property
    def requests(self) -> Counter[str]:
        return self.inner.requests

    def changes(self, object: str, cursor: Cursor | None, *, now: datetime) -> Iterator[Page]:
        self.calls.append("changes")
        return self.inner.changes(object, cursor, now=now)

    def read(self, object: str, ids: Sequence[str]) -> list[Change]:
        self.calls.append("read")
        return self.inner.read(object, ids)

    def fetch(self, object: str, ids: Sequence[str]) -> Page:
        self.calls.append("fetch")
        return self.inner.fetch(object, ids)

    def apply(self, writes: Sequence[RecordWrite]) -> list[WriteResult]:
        self.calls.append("apply")
        if self.budget_spent:
            raise BudgetPaused(100, 100)
        self.applying.set()
        if self.gate is not None:
            self.gate.wait(self.gate_timeout)
        results = self.inner.apply(writes)
        self.applied.set()
        return results

    def describe(self, object: str) -> ObjectSchema:
        return self.inner.describe(object)

    def health(self) -> Health:
        return self.inner.health()


@dataclass
class Rig:
    sandbox: Sandbox
    runtime: Runtime
    database: str
    hubspot: Recording
    salesforce: Recording

    def people(self, count: int) -> None:
        """Preloads people, then lets a minute pass: reads stop at the last whole second."""
        self.sandbox.populate(count)
        self.sandbox.clock.advance(60)

    @property
    def pipeline(self) -> Pipeline:
        connectors: dict[System, Connector] = {HS: self.hubspot, SF: self.salesforce}
        return replace(self.runtime.pipeline, connectors=connectors)


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    sandbox = Sandbox(seed=5, limits=False, tls_dir=tmp_path / "tls")
    info = sandbox.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", info["ca_bundle"])
    database = f"sqlite:///{tmp_path / 'state.db'}"
    env = sandbox_env(info)
    runtime = build(ROOT / "mappings", ROOT / "connectors", database, env, clock=sandbox.clock.now)
    try:
        yield Rig(
            sandbox, runtime, database, Recording(runtime.hubspot), Recording(runtime.salesforce)
        )
    finally:
        runtime.close()
        sandbox.stop()
