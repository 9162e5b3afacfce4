"""A simulated world for the pipeline's end-to-end stories, driven through `leadbridge` itself."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from leadbridge.cli import main
from leadbridge.sandbox.world import Sandbox
from leadbridge.sync.runtime import sandbox_env

ROOT = Path(__file__).resolve().parents[2]
HOUR = 3600.0
DAY = 24 * HOUR


@dataclass
class World:
    sandbox: Sandbox
    database: str

    def run(self, *argv: str) -> str:
        """`leadbridge ARGV...` in-process, on the sandbox's clock; answers what it printed."""
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(list(argv), clock=self.sandbox.clock.now)
        assert code == 0, out.getvalue()
        return out.getvalue()

    def sync(self) -> str:
        # A poll interval passes first: reads stop at the last whole second before `now`, so a
        # change made in the same second waits for the next poll, as it would in production.
        self.later(60)
        return self.run("sync", "--once", *self.files())

    def plan(self) -> str:
        self.later(60)
        return self.run("plan", *self.files())

    def explain(self, key: str) -> str:
        return self.run("explain", key, "--database", self.database)

    def story(self, key: str) -> dict[str, Any]:
        """`explain --format json`: the lead, its records and its moves, as data."""
        found: dict[str, Any] = json.loads(
            self.run("explain", key, "--database", self.database, "--format", "json")
        )
        return found

    def moves(self, key: str) -> list[tuple[str, str, str, str]]:
        """(from stage, to stage, rule, reason) of each journaled move, oldest first."""
        return [
            (m["from_stage"], m["to_stage"], m["rule"], m["reason"])
            for m in self.story(key)["moves"]
        ]

    def records(self, key: str) -> list[tuple[str, str, str]]:
        """(system, object, id) of each record the lead has."""
        return [(r["system"], r["object"], r["id"]) for r in self.story(key)["records"]]

    def parked(self) -> str:
        return self.run("parked", "--database", self.database)

    def later(self, seconds: float = HOUR) -> None:
        self.sandbox.clock.advance(seconds)

    def contact(self, email: str) -> dict[str, Any]:
        found = self.sandbox.hubspot.state.find_by_email(email)
        assert found is not None, email
        props: dict[str, Any] = found["properties"]
        return props

    def leads(self, email: str) -> list[dict[str, Any]]:
        state = self.sandbox.salesforce.state
        return [dict(r) for r in state.records("Lead") if (r.get("Email") or "").lower() == email]

    def lead(self, email: str) -> dict[str, Any]:
        found = self.leads(email)
        assert len(found) == 1, found
        return found[0]

    def files(self) -> list[str]:
        return [
            "--mappings",
            str(ROOT / "mappings"),
            "--connectors",
            str(ROOT / "connectors"),
            "--database",
            self.database,
        ]


@contextmanager
def started_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **sandbox: Any
) -> Iterator[World]:
    """A sandbox serving (seed 7, no limits, and `sandbox`'s options), its variables set."""
    world = Sandbox(**{"seed": 7, "limits": False, "tls_dir": tmp_path / "tls", **sandbox})
    info = world.start()
    for name, value in sandbox_env(info).items():
        monkeypatch.setenv(name, value)
    try:
        yield World(world, f"sqlite:///{tmp_path / 'state.db'}")
    finally:
        world.stop()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with started_world(tmp_path, monkeypatch) as started:
        yield started
