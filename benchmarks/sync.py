"""Issue 5's figure: an initial sync of 10,000 leads through the sandbox, then a cycle with no
remote change (its write calls must be 0).

The sandbox runs in this process (limits off, so the figure is leadbridge's own cost, not the
portal's pacing) with SQLite state in a temporary directory. Write calls are the requests the
connectors counted while applying (retries and read-backs included), shown beside the least
possible (each system's writes of one kind packed at the API's maximum per call, computed);
every request the simulated services served is reported too, as they counted it. The last
line is one JSON object, `targets_met` in it, computed from this run's figures.

Targets (TARGETS below): the second cycle sends 0 write requests (issue 5: "write calls in
the second cycle (must be 0)"), and each system's write requests are at most 1.05x the
least possible (issue 14's target for write requests counted at the wire).

Run: `.venv/bin/python benchmarks/sync.py [LEADS]` (about a minute for 10,000).
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from leadbridge.model import System
from leadbridge.sandbox.world import Sandbox
from leadbridge.sync.pipeline import cycle
from leadbridge.sync.runtime import build, sandbox_env

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"second_cycle_write_calls": 0, "write_calls_over_least": 1.05}


def main(leads: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, Sandbox(seed=5, limits=False) as sandbox:
        sandbox.populate(leads)
        sandbox.clock.advance(60)
        env = sandbox_env(sandbox.info())
        database = f"sqlite:///{Path(tmp) / 'state.db'}"
        runtime = build(
            ROOT / "mappings", ROOT / "connectors", database, env, clock=sandbox.clock.now
        )
        started = time.perf_counter()
        first = cycle(runtime.pipeline)
        initial_seconds = time.perf_counter() - started
        first_served = _served(sandbox)
        sandbox.clock.advance(60)
        started = time.perf_counter()
        second = cycle(runtime.pipeline)
        second_seconds = time.perf_counter() - started
        second_served = _served(sandbox)
        runtime.close()
    figures: dict[str, Any] = {
        "leads": leads,
        "initial_wall_seconds": round(initial_seconds, 2),
        "changes_read": first.changes_read,
        "leads_decided": first.leads_decided,
        "transitions": first.transitions,
        "records_written": _by_system(first.written),
        "write_calls_counted": _by_system(first.write_calls),
        "write_calls_least_possible": _by_system(first.least_write_calls),
        "requests_served": first_served,
        "parked": first.parked,
        "second_cycle_wall_seconds": round(second_seconds, 2),
        "second_cycle_changes_read": second.changes_read,
        "second_cycle_echoes": second.echoes,
        "second_cycle_write_calls": sum(second.write_calls.values()),
        "second_cycle_requests_served": second_served,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    return figures | {"targets_met": targets_met(figures)}


def targets_met(figures: dict[str, Any]) -> dict[str, bool]:
    counted, least = figures["write_calls_counted"], figures["write_calls_least_possible"]
    return {
        "second_cycle_writes_nothing": (
            figures["second_cycle_write_calls"] <= TARGETS["second_cycle_write_calls"]
        ),
        "write_calls_within_1.05x_least": all(
            counted[name] <= TARGETS["write_calls_over_least"] * least[name] for name in counted
        ),
    }


def _by_system(figures: dict[System, int]) -> dict[str, int]:
    return {system.value: count for system, count in figures.items()}


def _served(sandbox: Sandbox) -> dict[str, int]:
    """Requests each CRM served since the last look, by its own count; the count restarts."""
    served = {}
    for name, sim in (("hubspot", sandbox.hubspot), ("salesforce", sandbox.salesforce)):
        served[name] = sim.served.count()
        sim.served.reset()
    return served


if __name__ == "__main__":
    figures = main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
    print(json.dumps(figures))
