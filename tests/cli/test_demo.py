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
    assert "New per week" in out and "Cohorts: of the leads that became MQL" in out
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


def stuck_part(text: str) -> str:
    """From the stuck list's title to the next blank line."""
    start = text.index("Stuck now (past the stage's SLA)")
    end = text.find("\n\n", start)
    return text[start : end if end >= 0 else len(text)].rstrip("\n")


def test_the_demo_and_report_as_of_name_the_same_stuck_leads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's data lives in simulated time: its hint names the moment, and `report` run
    with it lists exactly the stuck leads the demo listed (on the wall clock it would not)."""
    monkeypatch.chdir(tmp_path)
    argv = ["demo", "--leads", "60", "--preload", "30", "--days", "7", "--seed", "5"]
    assert main([*argv, "--mappings", str(MAPPINGS)]) == 0
    out = capsys.readouterr().out
    hint = re.search(r"\n  (leadbridge report --database (\S+) --as-of (\S+))\n", out)
    assert hint is not None, out
    database, moment = hint.group(2), hint.group(3)
    assert database == "sqlite:///state/demo.db"
    shown = stuck_part(out)
    assert re.search(r"oldest first: [1-9]", shown), shown  # something to agree on
    assert (
        main(["report", "--database", database, "--as-of", moment, "--mappings", str(MAPPINGS)])
        == 0
    )
    again = capsys.readouterr().out
    assert stuck_part(again) == shown
    assert again.startswith(f"Funnel report, all time to {moment[:10]} {moment[11:16]} UTC")
