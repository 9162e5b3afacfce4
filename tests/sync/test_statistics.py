"""The sync tells the store when a backlog has grown its tables: after each batch of pages
stored and after each round (store.statistics analyzes them on PostgreSQL)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from leadbridge.sandbox.world import Sandbox
from leadbridge.store import Store
from leadbridge.sync import pipeline as sync_pipeline
from leadbridge.sync.pipeline import cycle
from leadbridge.sync.runtime import build, sandbox_env
from tests.sync.conftest import ROOT


class CountingStore(Store):
    """The runtime's store, counting when it is asked to refresh and what was stored by then."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.engine, store.clock)
        self.asked: list[tuple[int, int]] = []  # (inbox items, leads) at each ask

    def refresh_statistics(self) -> tuple[str, ...]:
        with self.reading() as uow:
            self.asked.append((uow.inbox.pending_count(), len(uow.leads.ids())))
        return super().refresh_statistics()


def test_the_store_is_asked_after_each_batch_of_pages_and_each_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_pipeline, "PAGES_STORED_AT", 30)
    monkeypatch.setattr(sync_pipeline, "ROUND", 25)
    sandbox = Sandbox(seed=11, limits=False, tls_dir=tmp_path / "tls")
    sandbox.populate(300)
    info = sandbox.start()
    env = {**os.environ, **sandbox_env(info)}
    database = f"sqlite:///{tmp_path / 'state.db'}"
    runtime = build(ROOT / "mappings", ROOT / "connectors", database, env, clock=sandbox.clock.now)
    store = CountingStore(runtime.pipeline.store)
    try:
        summary = cycle(replace(runtime.pipeline, store=store))
    finally:
        runtime.close()
        sandbox.stop()
    assert summary.leads_decided >= 100, summary
    pending = [items for items, _ in store.asked]
    decided = [leads for _, leads in store.asked]
    # While pages are stored, each ask sees more waiting; while rounds are decided, more leads.
    stored = [count for count, leads in store.asked if leads == 0]
    assert len(stored) >= 3 and stored == sorted(stored) and stored[0] > 0
    rounds = [leads for leads in decided if leads > 0]
    assert len(rounds) >= summary.leads_decided // 25 and rounds == sorted(rounds)
    assert pending[-1] == 0
