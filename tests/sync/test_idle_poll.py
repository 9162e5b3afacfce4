"""An idle poll (issue 14's target): once the first sync and its echoes are read, a cycle with
nothing new sends one request to each system and reads nothing, deletion checks included; a
deletion in Salesforce still arrives on its schedule. Requests are the connectors' own count
of what they sent (each retry counts)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from leadbridge.connectors import delivered
from leadbridge.model import System
from leadbridge.sandbox.world import Sandbox
from leadbridge.sync.pipeline import Summary, cycle
from leadbridge.sync.runtime import Runtime, build, sandbox_env
from tests.sync.conftest import ROOT


@dataclass
class Running:
    sandbox: Sandbox
    runtime: Runtime

    def cycle(self) -> tuple[int, int, Summary]:
        """A poll interval on, one cycle: (HubSpot requests, Salesforce requests, summary)."""
        self.sandbox.clock.advance(60)
        hubspot, salesforce = self.runtime.hubspot, self.runtime.salesforce
        before = sum(hubspot.stats.requests.values()), salesforce.requests.total()
        summary = cycle(self.runtime.pipeline)
        after = sum(hubspot.stats.requests.values()), salesforce.requests.total()
        return after[0] - before[0], after[1] - before[1], summary


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    sandbox = Sandbox(seed=11, limits=False, tls_dir=tmp_path / "tls")
    sandbox.populate(40)
    info = sandbox.start()
    env = {**os.environ, **sandbox_env(info)}
    database = f"sqlite:///{tmp_path / 'state.db'}"
    runtime = build(ROOT / "mappings", ROOT / "connectors", database, env, clock=sandbox.clock.now)
    try:
        yield Running(sandbox, runtime)
    finally:
        runtime.close()
        sandbox.stop()


def test_an_idle_cycle_is_one_request_per_system_and_reads_nothing(running: Running) -> None:
    running.cycle()  # the first sync
    running.cycle()  # its writes come back as echoes
    # Eleven minutes: the deletion checks (every 5m) ride inside the same request.
    for _ in range(11):
        hubspot, salesforce, summary = running.cycle()
        assert (hubspot, salesforce, summary.changes_read) == (1, 1, 0)


def test_pairs_a_cursor_could_not_keep_are_read_again_as_echoes_only(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More changes inside the tolerance than a cursor remembers (a bulk import): the ones
    it forgot are delivered again and dropped as echoes; no lead is decided twice, nothing
    is written again, and the poll is still one request per system."""
    monkeypatch.setattr(delivered, "LIMIT", 5)
    running.cycle()
    running.cycle()
    for _ in range(2):
        hubspot, salesforce, summary = running.cycle()
        assert (hubspot, salesforce) == (1, 1)
        assert summary.changes_read > 0 and summary.echoes == summary.changes_read
        assert summary.leads_decided == 0
        assert summary.written == {System.HUBSPOT: 0, System.SALESFORCE: 0}


def test_a_deletion_arrives_on_its_schedule_in_the_one_request(running: Running) -> None:
    running.cycle()
    running.cycle()
    state = running.sandbox.salesforce.state
    doomed = next(r["Id"] for r in state.records("Lead") if not r["IsConverted"])
    state.delete("Lead", doomed)
    read = []
    for minute in range(1, 8):
        _, salesforce, summary = running.cycle()
        assert salesforce == 1
        read += [minute] * summary.changes_read
    assert len(read) == 1 and read[0] <= 6  # the removal, once, within deletions_every


def test_a_new_process_polls_idle_in_one_request_too(running: Running, tmp_path: Path) -> None:
    """Every `sync --once` is a new process: the sync tells the connector the cursors it saved
    (base.ReadsTogether), so even its first poll asks every object in one Composite call."""
    running.cycle()
    running.cycle()
    info = running.sandbox.info()
    env = {**os.environ, **sandbox_env(info)}
    database = f"sqlite:///{tmp_path / 'state.db'}"
    sandbox = running.sandbox
    fresh = build(ROOT / "mappings", ROOT / "connectors", database, env, clock=sandbox.clock.now)
    try:
        again = Running(sandbox, fresh)
        for turn in range(3):
            hubspot, salesforce, summary = again.cycle()
            # The new process logs in once, a request of its own; the poll itself is one.
            assert (hubspot, salesforce - (turn == 0), summary.changes_read) == (1, 1, 0)
    finally:
        fresh.close()
