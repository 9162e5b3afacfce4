"""`leadbridge demo`: weeks of a funnel, bridged, then a summary a person can read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leadbridge.cli import main
from leadbridge.store import Store

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


def test_the_demo_plays_weeks_and_says_what_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["demo", "--leads", "80", "--preload", "40", "--days", "8", "--seed", "3"]
    assert main([*argv, "--mappings", str(MAPPINGS)]) == 0
    out = capsys.readouterr().out
    assert "day  8:" in out
    assert "transitions journaled" in out
    # It ends with the funnel report, over every lead the store knows.
    assert "Funnel report, all time to" in out
    assert "Hand-backs by reason" in out
    assert "Stuck now (past the stage's SLA)" in out
    # ... and with what the simulated Slack was told about the stuck leads.
    delivered = re.search(r"Slack: (\d+) stuck-lead messages delivered", out)
    assert delivered is not None and int(delivered.group(1)) >= 1, out
    assert "first, in #revops-alerts: Overdue: " in out
    # What was written, with the requests counted, not computed; and what the wire saw.
    assert re.search(r"hubspot \d+ records \(\d+ calls, least possible \d+\)", out), out
    served = re.search(r"counted the requests they served: hubspot (\d+), salesforce (\d+)", out)
    assert served is not None and min(int(n) for n in served.groups()) > 0, out
    store = Store.open(f"sqlite:///{tmp_path / 'state' / 'demo.db'}")
    try:
        with store.reading() as uow:
            lead_ids = uow.leads.ids()
            journaled = sum(len(uow.journal.entries(lead)) for lead in lead_ids)
            parked = uow.parked.count()
    finally:
        store.close()
    assert len(lead_ids) >= 100
    assert f"{journaled} transitions journaled" in out
    assert f"{len(lead_ids)} leads counted" in out
    assert parked == 0
