"""The pure core of a first sync, alone: decide per change, plan and the echo check per lead.

Issue 14 asks for at most 0.5 ms of leadbridge's own CPU per person on a first sync; the
pure core (mapping, scoring, rules, planner) is one part of it, so this times that part
alone, on exactly the calls a real first sync makes. A sandbox of `--people` people runs
in this process (limits off, SQLite in a temporary directory) and one first sync records
every `engine.decide(lead, change, funnel, now)`, `planner.plan(...)` and
`planner.is_echo(...)` call the pipeline makes, with its arguments: the leads as the
pipeline threads them from change to change, the changes as the connectors read them,
the snapshots as the store answers them. Those calls are then replayed `--repeat` times
each; the figure for each is the best replay's CPU (time.process_time), since the machine
is shared. Prints one JSON object on its last line:

    {"people": ..., "changes": ..., "leads_planned": ..., "echo_checks": ...,
     "decide_us_per_change": ..., "plan_us_per_lead": ..., "is_echo_us_per_call": ...,
     "core_us_per_person": ..., "targets_met": {...}}

Target (TARGETS below): decide + plan + echo checks at most 60 us per person, a guide
that leaves the rest of issue 14's 0.5 ms budget to the store, the connectors and the
sync. `--profile N` also prints the N costliest functions of one replay (cProfile,
by own time) to stderr.

Run: `.venv/bin/python benchmarks/core.py [--people 3000] [--repeat 5] [--profile 0]`
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from leadbridge.config import Funnel
from leadbridge.core import engine, planner
from leadbridge.model import Change, Decision, Lead
from leadbridge.sandbox.world import Sandbox
from leadbridge.sync.pipeline import cycle
from leadbridge.sync.runtime import build, sandbox_env

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"core_us_per_person": 60.0}


@dataclass
class Recording:
    """The core calls of one first sync, with the arguments the pipeline gave them."""

    people: int
    funnel: Funnel | None = None
    decides: list[tuple[Lead, Change, datetime]] = field(default_factory=list)
    plans: list[tuple[Lead, Decision, planner.Known, planner.Keys]] = field(default_factory=list)
    echoes: list[tuple[Change, planner.Known]] = field(default_factory=list)


def record(people: int) -> Recording:
    """One first sync of `people` sandbox people, its core calls recorded as it goes."""
    recording = Recording(people)
    with tempfile.TemporaryDirectory() as tmp, Sandbox(seed=5, limits=False) as sandbox:
        sandbox.populate(people)
        sandbox.clock.advance(60)
        runtime = build(
            ROOT / "mappings",
            ROOT / "connectors",
            f"sqlite:///{Path(tmp) / 'state.db'}",
            sandbox_env(sandbox.info()),
            clock=sandbox.clock.now,
        )
        recording.funnel = runtime.pipeline.funnel
        with _recorded(recording):
            cycle(runtime.pipeline)
        runtime.close()
    return recording


@contextmanager
def _recorded(recording: Recording) -> Iterator[None]:
    decide, plan, is_echo = engine.decide, planner.plan, planner.is_echo

    def decide_recorded(lead: Lead, change: Change, funnel: Funnel, now: datetime) -> Decision:
        recording.decides.append((lead, change, now))
        return decide(lead, change, funnel, now)

    def plan_recorded(
        lead: Lead, decision: Decision, known: planner.Known, keys: planner.Keys, funnel: Funnel
    ) -> Any:
        recording.plans.append((lead, decision, known, keys))
        return plan(lead, decision, known, keys, funnel)

    def is_echo_recorded(change: Change, known: planner.Known, funnel: Funnel) -> bool:
        recording.echoes.append((change, known))
        return is_echo(change, known, funnel)

    engine.decide, planner.plan, planner.is_echo = (
        decide_recorded,
        plan_recorded,
        is_echo_recorded,
    )
    try:
        yield
    finally:
        engine.decide, planner.plan, planner.is_echo = decide, plan, is_echo


def replays(recording: Recording) -> dict[str, Callable[[], None]]:
    """One function per recorded kind of call, replaying every call of that kind in order."""
    funnel = recording.funnel
    assert funnel is not None
    decide, plan, is_echo = engine.decide, planner.plan, planner.is_echo

    def decides() -> None:
        for lead, change, now in recording.decides:
            decide(lead, change, funnel, now)

    def plans() -> None:
        for lead, decision, known, keys in recording.plans:
            plan(lead, decision, known, keys, funnel)

    def echoes() -> None:
        for change, known in recording.echoes:
            is_echo(change, known, funnel)

    return {"decide": decides, "plan": plans, "is_echo": echoes}


def best_cpu(replay: Callable[[], None], repeat: int) -> float:
    """The least CPU seconds of `repeat` replays (a shared machine only ever adds)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        started = time.process_time()
        replay()
        best = min(best, time.process_time() - started)
    return best


def profile(recording: Recording, top: int) -> None:
    """The `top` functions of one replay of every kind of call by own time, to stderr."""
    profiler = cProfile.Profile()
    profiler.enable()
    for replay in replays(recording).values():
        replay()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(top)


def main(people: int, repeat: int, top: int) -> dict[str, Any]:
    recording = record(people)
    seconds = {name: best_cpu(replay, repeat) for name, replay in replays(recording).items()}
    if top:
        profile(recording, top)
    changes, leads, checks = (
        len(recording.decides),
        len(recording.plans),
        len(recording.echoes),
    )
    figures: dict[str, Any] = {
        "people": people,
        "changes": changes,
        "leads_planned": leads,
        "echo_checks": checks,
        "repeat": repeat,
        "decide_us_per_change": round(seconds["decide"] / max(changes, 1) * 1e6, 1),
        "plan_us_per_lead": round(seconds["plan"] / max(leads, 1) * 1e6, 1),
        # A first sync has no snapshots yet, so it may check no echo at all.
        "is_echo_us_per_call": round(seconds["is_echo"] / checks * 1e6, 1) if checks else None,
        "core_us_per_person": round(sum(seconds.values()) / people * 1e6, 1),
    }
    return figures | {"targets_met": targets_met(figures)}


def targets_met(figures: dict[str, Any]) -> dict[str, bool]:
    return {
        "core_within_60us_per_person": (
            figures["core_us_per_person"] <= TARGETS["core_us_per_person"]
        ),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    print(json.dumps(main(args.people, args.repeat, args.profile)))
