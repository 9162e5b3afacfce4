"""Issue 17's closed loop on the demo: scored with the shipped scoring.yaml, higher score
bands reach opportunity more often (the sandbox's buyers engage more and fit better)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leadbridge.cli import main

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


def test_higher_score_bands_reach_opportunity_more_often(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--mappings", str(MAPPINGS)]) == 0
    out = capsys.readouterr().out
    table = out[out.index("By score band") :].split("\n\n")[0].splitlines()
    header = table[1].split()
    column = header.index("Opportunity") - header.index("MQL")  # among the (n/m) cells
    shares = {}
    for row in table[2:]:
        band = re.match(r"\s+(\S+)", row)
        share = re.findall(r"\((\d+)/(\d+)\)", row)
        assert band is not None and share, row
        reached, of = share[column]
        shares[band.group(1)] = int(reached) / int(of)
    assert shares["75+"] > shares["50-74"] > shares["25-49"], shares
