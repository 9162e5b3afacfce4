"""Issue 5's figure: an initial sync of 10,000 leads through the sandbox, then a cycle with no
remote change (its write calls must be 0).

The sandbox runs in this process (limits off, so the figure is leadbridge's own cost, not the
portal's pacing) with SQLite state in a temporary directory. Write calls are counted at the
connectors (each answered write request, as the APIs bill them) and compared with the least
possible: each system's writes of one kind (create, update, each step of a multi-step write)
packed at the API's maximum per call. The last line is one JSON object.

Run: `.venv/bin/python benchmarks/sync.py [LEADS]` (about a minute for 10,000).
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from leadbridge.connectors.base import Connector
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.model import RecordWrite, System
from leadbridge.sandbox.world import Sandbox
from leadbridge.sync.pipeline import cycle
from leadbridge.sync.runtime import build, sandbox_env
from leadbridge.sync.write import BATCH

ROOT = Path(__file__).resolve().parents[1]
HUBSPOT_WRITE_KINDS = ("update", "upsert")


class Counting:
    """A connector that counts the write calls its apply() makes and the writes it was given."""

    def __init__(self, inner: HubSpotConnector | SalesforceConnector) -> None:
        self.inner = inner
        self.calls = 0
        self.writes: list[RecordWrite] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def apply(self, writes: Sequence[RecordWrite]) -> Any:
        before = self._calls()
        try:
            return self.inner.apply(writes)
        finally:
            self.calls += self._calls() - before
            self.writes.extend(writes)

    def _calls(self) -> int:
        if isinstance(self.inner, HubSpotConnector):
            return sum(self.inner.stats.calls[kind] for kind in HUBSPOT_WRITE_KINDS)
        return self.inner.stats.calls


def minimum_calls(system: System, writes: Sequence[RecordWrite]) -> int:
    groups: Counter[tuple[bool, int]] = Counter()
    for write in writes:
        for step in range(len(write.steps)):
            groups[(write.id is None, step)] += 1
    return sum(-(-count // BATCH[system]) for count in groups.values())


def main(leads: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, Sandbox(seed=5, limits=False) as sandbox:
        sandbox.populate(leads)
        sandbox.clock.advance(60)
        env = sandbox_env(sandbox.info())
        database = f"sqlite:///{Path(tmp) / 'state.db'}"
        runtime = build(
            ROOT / "mappings", ROOT / "connectors", database, env, clock=sandbox.clock.now
        )
        counting = {
            System.HUBSPOT: Counting(runtime.hubspot),
            System.SALESFORCE: Counting(runtime.salesforce),
        }
        # Counting forwards everything else to the connector it wraps (__getattr__).
        runtime.pipeline.connectors = cast(Mapping[System, Connector], counting)
        started = time.perf_counter()
        first = cycle(runtime.pipeline)
        initial_seconds = time.perf_counter() - started
        used = {system.value: c.calls for system, c in counting.items()}
        least = {system.value: minimum_calls(system, c.writes) for system, c in counting.items()}
        for c in counting.values():
            c.calls, c.writes = 0, []
        sandbox.clock.advance(60)
        started = time.perf_counter()
        second = cycle(runtime.pipeline)
        second_seconds = time.perf_counter() - started
        runtime.close()
    return {
        "leads": leads,
        "initial_wall_seconds": round(initial_seconds, 2),
        "changes_read": first.changes_read,
        "leads_decided": first.leads_decided,
        "transitions": first.transitions,
        "records_written": {s.value: n for s, n in first.written.items()},
        "write_calls_used": used,
        "write_calls_minimum": least,
        "parked": first.parked,
        "second_cycle_wall_seconds": round(second_seconds, 2),
        "second_cycle_changes_read": second.changes_read,
        "second_cycle_echoes": second.echoes,
        "second_cycle_write_calls": sum(c.calls for c in counting.values()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    figures = main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
    print(json.dumps(figures))
