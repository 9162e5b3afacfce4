"""Writes survive what stops a cycle: a crash around the send, a spent API budget."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import pytest

from leadbridge.connectors.base import Connector, Cursor, Health, ObjectSchema, Page, WriteResult
from leadbridge.connectors.budget import BudgetPaused
from leadbridge.model import Change, RecordWrite, System
from leadbridge.store import Store
from leadbridge.sync.pipeline import Pipeline, cycle
from leadbridge.sync.runtime import build
from tests.sync.conftest import ROOT, World


class Crash(Exception):
    """The process dying: nothing after it runs."""


@dataclass
class Failing:
    """Salesforce, until the moment `how` says: before the call leaves, after it landed, or at
    a spent daily budget. A test double at the connector boundary, as DESIGN.md asks."""

    inner: Connector
    how: str

    @property
    def system(self) -> System:
        return self.inner.system

    @property
    def requests(self) -> Counter[str]:
        return self.inner.requests

    def changes(self, object: str, cursor: Cursor | None, *, now: datetime) -> Iterator[Page]:
        return self.inner.changes(object, cursor, now=now)

    def read(self, object: str, ids: Sequence[str]) -> list[Change]:
        return self.inner.read(object, ids)

    def apply(self, writes: Sequence[RecordWrite]) -> list[WriteResult]:
        if self.how == "budget":
            raise BudgetPaused(25_000, 25_000)
        if self.how == "after":
            self.inner.apply(writes)
        raise Crash

    def describe(self, object: str) -> ObjectSchema:
        return self.inner.describe(object)

    def health(self) -> Health:
        return self.inner.health()


def pipeline_for(world: World) -> Pipeline:
    env = dict(os.environ)
    runtime = build(
        ROOT / "mappings", ROOT / "connectors", world.database, env, clock=world.sandbox.clock.now
    )
    return runtime.pipeline


@pytest.mark.parametrize("how", ["before", "after", "budget"])
def test_an_interrupted_send_is_finished_by_the_next_cycle_exactly_once(
    world: World, how: str
) -> None:
    marketer = world.sandbox.hubspot.marketer
    email = "sam@lumen.com"
    marketer.new_contact(email, "Sam", "Ito", company="Lumen", industry="RETAIL", numemployees=300)
    marketer.set_score(email, 80)
    world.later(60)
    pipeline = pipeline_for(world)
    real = pipeline.connectors[System.SALESFORCE]
    pipeline.connectors = {**pipeline.connectors, System.SALESFORCE: Failing(real, how)}
    if how == "budget":
        assert cycle(pipeline).paused is not None
    else:
        with pytest.raises(Crash):
            cycle(pipeline)
    assert len(world.leads(email)) == (1 if how == "after" else 0)
    world.later(60)
    pipeline.connectors = {**pipeline.connectors, System.SALESFORCE: real}
    summary = cycle(pipeline)
    assert summary.paused is None
    assert world.lead(email)["Status"] == "Open"  # one Lead, however far the first send got
    with Store.open(world.database) as store, store.reading() as uow:
        assert uow.writes.unfinished() == []
        lead = uow.links.by_email(email)[0].lead_id
        assert [e.transition.to_stage for e in uow.journal.entries(lead)] == ["mql"]
    pipeline.store.close()
