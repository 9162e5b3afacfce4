"""`sync --once` and `run --max-cycles` honour `leadbridge pause` as the daemon does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sync.conftest import World, started_world


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with started_world(tmp_path, monkeypatch) as started:
        yield started


def test_sync_once_and_run_cycles_do_nothing_while_paused(world: World) -> None:
    world.sandbox.hubspot.marketer.new_contact("ida@kepler.io", "Ida", "Berg", company="Kepler")
    world.sync()  # the database exists, the first cycle ran
    said = world.run("pause", "--why", "maintenance", "--database", world.database)
    assert "every replica stops reading, deciding and writing" in said
    world.sandbox.hubspot.marketer.fill_form("ida@kepler.io", "demo_request")
    hubspot, salesforce = world.sandbox.hubspot.served, world.sandbox.salesforce.served
    served = (hubspot.count(), salesforce.count())
    out = world.sync()
    assert out.startswith("sync: paused, nothing was read, decided or written (paused since")
    assert "by " in out and ": maintenance)" in out
    world.later(60)
    out = world.run("run", "--max-cycles", "2", "--interval", "0", *world.files())
    assert out.count("run: paused, nothing was read, decided or written") == 2
    assert "run: stopped after 2 cycles" in out
    assert (hubspot.count(), salesforce.count()) == served  # not one call to either system
    assert world.leads("ida@kepler.io") == []  # the demo request waits
    assert world.run("resume", "--database", world.database).startswith("resumed (it was paused")
    assert "not paused" in world.run("resume", "--database", world.database)
    world.sync()
    assert len(world.leads("ida@kepler.io")) == 1  # caught up
