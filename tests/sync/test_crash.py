"""Story 8 at scale: cycles that die at random connector calls, then run on, end where an
uninterrupted run ends: the same values in both systems, no duplicate Salesforce Lead, each
transition journaled once.

The death is an exception no code catches, raised between two calls to a remote system:
like a SIGKILL there, it leaves the open transaction uncommitted and the remote effects in
place. (Killing a separate process at random instants is the issue's fuller test.)
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from leadbridge.connectors.base import Connector, Cursor, Health, ObjectSchema, Page, WriteResult
from leadbridge.model import Change, RecordWrite, System
from leadbridge.sandbox.world import Sandbox
from leadbridge.sync.pipeline import Pipeline, cycle
from leadbridge.sync.runtime import build, sandbox_env
from tests.sync.conftest import ROOT

PEOPLE = 200
KILLS = 20
WATCHED = ("lifecyclestage", "hs_lead_status", "leadbridge_stage", "leadbridge_handback_reason")


class Killed(BaseException):
    """Not an Exception: nothing in leadbridge may catch it, as nothing catches a SIGKILL."""


@dataclass
class Fuse:
    calls_left: int

    def tick(self) -> None:
        self.calls_left -= 1
        if self.calls_left == 0:
            raise Killed


@dataclass
class Fused:
    """A connector whose process dies when the fuse burns down: before a page is handed over,
    before a batch of writes leaves, or after it landed but before its answer is recorded."""

    inner: Connector
    fuse: Fuse

    @property
    def system(self) -> System:
        return self.inner.system

    @property
    def requests(self) -> Counter[str]:
        return self.inner.requests

    def changes(self, object: str, cursor: Cursor | None, *, now: datetime) -> Iterator[Page]:
        for page in self.inner.changes(object, cursor, now=now):
            self.fuse.tick()
            yield page

    def read(self, object: str, ids: Sequence[str]) -> list[Change]:
        return self.inner.read(object, ids)

    def apply(self, writes: Sequence[RecordWrite]) -> list[WriteResult]:
        self.fuse.tick()
        results = self.inner.apply(writes)
        self.fuse.tick()
        return results

    def describe(self, object: str) -> ObjectSchema:
        return self.inner.describe(object)

    def health(self) -> Health:
        return self.inner.health()


def end_state(sandbox: Sandbox, database: str) -> dict[str, Any]:
    contacts = {
        c["properties"]["email"]: {k: c["properties"].get(k) or None for k in WATCHED}
        for c in sandbox.hubspot.state.all_contacts()
    }
    leads: dict[str, list[Any]] = {}
    for record in sandbox.salesforce.state.records("Lead"):
        email = (record.get("Email") or "").lower()
        leads.setdefault(email, []).append((record["Status"], record.get("Leadbridge_Id__c")))
    engine = sa.create_engine(database)
    with engine.connect() as connection:
        query = "SELECT lead_id, from_stage, to_stage, rule, cause_id FROM journal"
        journal = sorted(tuple(row) for row in connection.execute(sa.text(query)))
    engine.dispose()
    by_email = {email: sorted(found) for email, found in leads.items()}
    return {"contacts": contacts, "leads": by_email, "journal": journal}


def run_world(tmp: Path, name: str, kills: int) -> tuple[dict[str, Any], int]:
    sandbox = Sandbox(seed=11, limits=False, tls_dir=tmp / f"tls-{name}")
    sandbox.populate(PEOPLE)
    info = sandbox.start()
    database = f"sqlite:///{tmp / f'{name}.db'}"
    env = {**os.environ, **sandbox_env(info)}
    runtime = build(ROOT / "mappings", ROOT / "connectors", database, env, clock=sandbox.clock.now)
    pipeline: Pipeline = runtime.pipeline
    real = dict(pipeline.connectors)
    rng = random.Random(5)
    killed = 0
    try:
        for _ in range(3 * kills):
            if killed == kills:
                break
            sandbox.clock.advance(60)
            fuse = Fuse(rng.randint(1, 10))
            pipeline.connectors = {system: Fused(c, fuse) for system, c in real.items()}
            try:
                cycle(pipeline)
            except Killed:
                killed += 1
        pipeline.connectors = real
        for _ in range(3):  # to the end, then our own writes come back as echoes
            sandbox.clock.advance(60)
            cycle(pipeline)
        return end_state(sandbox, database), killed
    finally:
        runtime.close()
        sandbox.stop()


def test_killed_at_random_points_it_ends_as_a_clean_run_ends(tmp_path: Path) -> None:
    clean, _ = run_world(tmp_path, "clean", 0)
    crashed, killed = run_world(tmp_path, "crashed", KILLS)
    assert killed == KILLS
    assert crashed == clean
    for found in crashed["leads"].values():
        keys = [key for _, key in found if key]
        assert len(keys) == len(set(keys))  # no external id twice: no duplicate Lead
