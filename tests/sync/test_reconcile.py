"""Reconciliation (issue 12): changes a search index lagging past the look-back hid from the
polls are read through the list endpoint, fed to the inbox and decided; nothing twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sync.conftest import DAY, World, started_world

# Far beyond the look-back (30 s) and the polls' interval: an index in an incident.
LAG = 600.0
FIT: dict[str, Any] = {"industry": "COMPUTER_SOFTWARE", "numemployees": 200}
PEOPLE = [f"pat{n}@firm{n}.io" for n in range(20)]


@pytest.fixture
def lagging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with started_world(tmp_path, monkeypatch, search_lag_seconds=LAG) as world:
        yield world


def _reconcile(world: World) -> tuple[int, int]:
    world.later(60)
    out = world.run("sync", "--once", "--reconcile", *world.files())
    found = re.search(r"reconciled hubspot: (\d+) read, (\d+) new", out)
    assert found is not None, out
    return int(found[1]), int(found[2])


def _handed_over(world: World) -> list[str]:
    """The people Salesforce has a Lead for: the MQLs leadbridge decided and wrote."""
    return [email for email in PEOPLE if world.leads(email)]


def test_a_reconciliation_recovers_every_edit_a_lagging_search_hid_from_the_polls(
    lagging: World,
) -> None:
    world, marketer = lagging, lagging.sandbox.hubspot.marketer
    for n, email in enumerate(PEOPLE):
        marketer.new_contact(email, "Lag", f"Ged{n}", company=f"Co{n}", **FIT)
        marketer.fill_form(email, "download")
        marketer.set_score(email, 35)
    world.sync()  # the first read lists every contact (no index): all known, none an MQL
    assert _handed_over(world) == []
    world.later(DAY)

    for email in PEOPLE:
        marketer.set_score(email, 62)  # between two polls: each makes the person an MQL
    world.sync()
    assert _handed_over(world) == []  # the index does not show them yet
    world.later(2 * LAG)
    world.sync()
    world.sync()
    # The index shows them now, but the cursor has moved past their stamps: lost for good.
    assert _handed_over(world) == []

    read, new = _reconcile(world)
    assert new == len(PEOPLE)  # the first one lists everything; only the missed edits are new
    assert read >= len(PEOPLE)
    assert _handed_over(world) == PEOPLE  # every one arrived and was decided
    for email in PEOPLE:
        assert world.contact(email)["lifecyclestage"] == "marketingqualifiedlead"
        assert len(world.leads(email)) == 1

    # Nothing new since: the next one reads what changed (our own writes) and adds nothing.
    _, again = _reconcile(world)
    assert again == 0
    assert all(len(world.leads(email)) == 1 for email in PEOPLE)
