"""Progress a person can see: on a terminal, `sync --once` and `plan` show records read,
people decided and records written, with rates and an ETA (rich, on stderr); off a
terminal nothing of it is printed, and stdout carries only what scripts read."""

from __future__ import annotations

import argparse
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from rich.console import Console

from leadbridge.cli import main
from leadbridge.cli.options import opened
from leadbridge.cli.plan import planned
from leadbridge.cli.progress import CycleProgress, console_for
from leadbridge.cli.sync import sync_once
from leadbridge.model import System
from leadbridge.sync.pipeline import Pipeline, Summary


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def terminal() -> tuple[Console, io.StringIO]:
    screen = io.StringIO()
    # A terminal without colours: what it shows, unsplit by style codes.
    return Console(file=screen, force_terminal=True, color_system=None, width=120), screen


@contextmanager
def embedded(tmp_path: Path, leads: int = 40) -> Iterator[Pipeline]:
    """The embedded default's pipeline: an in-process sandbox of `leads` people."""
    args = argparse.Namespace(
        mappings=None,
        connectors=None,
        database=f"sqlite:///{tmp_path / 'embedded.db'}",
        leads=leads,
        seed=0,
        clock=None,
    )
    with opened(args, lambda _: None) as wired:
        yield wired.pipeline


def test_a_sync_on_a_terminal_shows_read_decided_and_written(tmp_path: Path) -> None:
    console, screen = terminal()
    out = io.StringIO()
    with embedded(tmp_path) as pipeline:
        assert sync_once(pipeline, out, progress=console) == 0
    shown = screen.getvalue()
    assert re.search(r"read +[\d,]+ records", shown), shown
    assert re.search(r"decided +[\d,]+ of [\d,]+ people", shown), shown
    assert re.search(r"written +[\d,]+ records", shown), shown
    # stdout: the summary line alone, as scripts read it.
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sync: ")


def test_a_plan_on_a_terminal_shows_what_it_would_write(tmp_path: Path) -> None:
    console, screen = terminal()
    with embedded(tmp_path) as pipeline:
        summary = planned(pipeline, console)
    assert summary.leads_decided >= 40
    shown = screen.getvalue()
    assert re.search(r"decided +[\d,]+ of ~[\d,]+ people", shown), shown
    assert re.search(r"to write +[\d,]+ records", shown), shown
    assert "written" not in shown  # a dry run writes nothing


def test_off_a_terminal_no_progress_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CI runners often set FORCE_COLOR, which makes rich take a pipe for a terminal.
    monkeypatch.setenv("FORCE_COLOR", "1")
    database = f"sqlite:///{tmp_path / 'embedded.db'}"
    for argv in (["sync", "--once"], ["plan"], ["plan", "--format", "json"]):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            assert main([*argv, "--leads", "10", "--database", database]) == 0
        assert "decided" not in err.getvalue() and "records" not in err.getvalue(), argv
        assert "\x1b" not in out.getvalue() + err.getvalue(), argv
    assert console_for(io.StringIO()) is None
    assert console_for(_Terminal()) is not None


def test_the_rates_and_the_eta_follow_the_cycle() -> None:
    """Reading: a count and a rate, no total. Deciding: decided of decided + what is left,
    its rate and the time left at that rate."""
    console, screen = terminal()
    now = 0.0
    left = 0

    def written(hubspot: int) -> dict[System, int]:
        return {System.HUBSPOT: hubspot, System.SALESFORCE: 0}

    with CycleProgress(console, lambda summary: left, clock=lambda: now) as shown:
        shown.update(Summary(changes_read=5_000))
        now = 5.0
        shown.update(Summary(changes_read=10_000))  # the last page: reading is done
        left = 8_000
        shown.update(Summary(changes_read=10_000, leads_decided=2_000, written=written(1_000)))
        now, left = 15.0, 6_000
        shown.update(Summary(changes_read=10_000, leads_decided=4_000, written=written(3_000)))
    final = screen.getvalue().rsplit("read ", 1)[1]  # the last frame drawn
    read, decided, write = final.splitlines()[:3]
    assert "10,000 records" in read and "1,000/s" in read and "ETA" not in read
    assert "4,000 of 10,000 people" in decided and "200/s" in decided
    assert "ETA 0:00:30" in decided  # 6,000 left at 200 a second
    assert "3,000 records" in write and "200/s" in write
