"""`leadbridge report` through its own parser: each format, --since, --output, and bad input.

The lead registers the command in leadbridge.cli; until then (and independently
of it) these tests build a parser with `add_parser` and call what it runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from leadbridge.cli import main as leadbridge
from leadbridge.cli.report import add_parser, since_moment
from leadbridge.sandbox.world import Sandbox
from leadbridge.sync.runtime import sandbox_env
from tests.report import story
from tests.report.conftest import fill

ROOT = Path(__file__).resolve().parents[2]


def report(*argv: str, clock: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="leadbridge")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", "--mappings", str(story.MAPPINGS), *argv])
    args.clock = clock or (lambda: story.NOW)  # what leadbridge.cli.main sets
    code: int = args.run(args)
    return code


@pytest.fixture
def sqlite_story(tmp_path: Path) -> str:
    from leadbridge.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'state.db'}"
    upgrade(url)
    fill(url)
    return url


def test_text(sqlite_story: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert report("--database", sqlite_story) == 0
    out = capsys.readouterr().out
    assert out.startswith("Funnel report, all time to 2026-03-22 09:00 UTC\n")
    assert "8 leads counted; 1 won (Customer), win rate 12.5% (1/8)" in out
    assert "note: 1 journal entries of leads folded into others, left out" in out
    assert "Stuck now (past the stage's SLA), by owner, oldest first: 3" in out


def test_json_since(sqlite_story: str, capsys: pytest.CaptureFixture[str]) -> None:
    since = story.SINCE.strftime("%Y-%m-%dT%H:%M")
    assert report("--database", sqlite_story, "--format", "json", "--since", since) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["since"] == "2026-03-06T13:00:00+00:00"
    assert data["overall"]["leads"] == 5
    assert [c["converted"] for c in data["overall"]["conversions"]] == [1, 2, 1, 0, 1, 0]
    assert data["ignored_entries"] == 0  # the duplicate moved before the period


def test_html_to_a_file(
    sqlite_story: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "funnel.html"
    assert report("--database", sqlite_story, "--format", "html", "--output", str(target)) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and f"report written to {target}" in captured.err
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<svg id="funnel"' in page


def test_a_database_without_schema_is_answered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report("--database", f"sqlite:///{tmp_path / 'new.db'}") == 2
    assert "leadbridge db upgrade" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", "cannot read the state database"),
        ("not a url", "cannot read the state database"),
    ],
)
def test_an_unreachable_database_is_answered(
    url: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report("--database", url) == 2
    assert said in capsys.readouterr().err


def test_broken_mappings_are_answered(
    sqlite_story: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report("--database", sqlite_story, "--mappings", str(tmp_path)) == 2
    assert "stages.yaml" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-03-02", datetime(2026, 3, 2, tzinfo=UTC)),
        ("2026-03-02T09:30", datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
        ("2026-03-02T09:30+01:00", datetime(2026, 3, 2, 8, 30, tzinfo=UTC)),
    ],
)
def test_since_reads_dates_and_times(text: str, moment: datetime) -> None:
    assert since_moment(text) == moment


def test_a_bad_since_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        report("--since", "last tuesday")
    assert stopped.value.code == 2
    assert "not a date: 'last tuesday'" in capsys.readouterr().err


# --- STORIES.md 1, end to end: the report counts Dana in every conversion to revenue --------


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    world = Sandbox(seed=7, limits=False, tls_dir=tmp_path / "tls")
    for name, value in sandbox_env(world.start()).items():
        monkeypatch.setenv(name, value)
    try:
        yield world
    finally:
        world.stop()


@pytest.mark.slow
def test_dana_from_paid_social_to_revenue(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = f"sqlite:///{tmp_path / 'state.db'}"
    files = ["--mappings", str(ROOT / "mappings"), "--connectors", str(ROOT / "connectors")]

    def sync() -> None:
        sandbox.clock.advance(60)  # a poll interval: reads stop at the last whole second
        assert (
            leadbridge(["sync", "--once", *files, "--database", database], clock=sandbox.clock.now)
            == 0
        )
        sandbox.clock.advance(86400)

    marketer, rep = sandbox.hubspot.marketer, sandbox.salesforce.rep
    dana = "dana.whitaker@northwind.com"
    marketer.new_contact(
        dana,
        "Dana",
        "Whitaker",
        company="Northwind",
        industry="LOGISTICS_AND_SUPPLY_CHAIN",
        numemployees=500,
        source="PAID_SOCIAL",
    )
    marketer.fill_form(dana, "download")
    sync()
    marketer.set_score(dana, 62)
    sync()
    lead = sandbox.salesforce.state.records("Lead")[0]
    rep.set_status(lead["Id"], "Working")
    sync()
    converted = rep.convert(lead["Id"], amount=40000)
    sync()
    opportunity = converted["opportunity_id"]
    assert opportunity is not None
    rep.close_opportunity(opportunity, won=True)
    sync()
    capsys.readouterr()
    assert report("--database", database, "--format", "json", clock=sandbox.clock.now) == 0
    paid = json.loads(capsys.readouterr().out)["by_source"]["paid_social"]
    assert (paid["leads"], paid["won"]) == (1, 1)
    assert [(c["from"], c["converted"], c["reached"]) for c in paid["conversions"]][:5] == [
        ("subscriber", 1, 1),
        ("lead", 1, 1),
        ("mql", 1, 1),
        ("sql", 1, 1),
        ("opportunity", 1, 1),
    ]
    # Each stage she left took one simulated day (the first stage's start is not journaled).
    days = {t["stage"]: t["median_seconds"] for t in paid["time_in_stage"] if t["stays"]}
    assert set(days) == {"lead", "mql", "sql", "opportunity"}
    assert all(abs(seconds - 86460) < 120 for seconds in days.values()), days


def test_stuck_counts_business_hours_as_the_alerts_do(
    tmp_path: Path, sqlite_story: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """With Mon-Fri 09:00-17:00, Ivy's 180 wall-clock hours in sql since Saturday 21:00 are no
    open hours at all by Sunday: Slack would not call her stuck, so neither does the report.
    Sam (mql since Tuesday 17:00: 24 open hours against 16) still is."""
    mappings = tmp_path / "mappings"
    shutil.copytree(story.MAPPINGS, mappings)
    stages = (mappings / "stages.yaml").read_text()
    for wall, open_hours in (("2d", "16h"), ("5d", "40h"), ("90d", "720h")):
        stages = stages.replace(f"sla: {wall} ", f"sla: {open_hours} ")
    stages = stages.replace(
        "\nstages:\n", "\nbusiness_hours: Mon-Fri 09:00-17:00\ntime_zone: UTC\n\nstages:\n"
    )
    (mappings / "stages.yaml").write_text(stages)
    parser = argparse.ArgumentParser(prog="leadbridge")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", "--mappings", str(mappings), "--database", sqlite_story])
    args.clock = lambda: story.NOW
    assert args.run(args) == 0
    stuck = capsys.readouterr().out.split("Stuck now (past the stage's SLA)")[1]
    assert "Sam Stone" in stuck
    assert "Ivy" not in stuck
