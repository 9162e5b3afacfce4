"""`leadbridge check --impact` and `check` against a state database: on the demo's database,
what a raised MQL threshold, a renamed and a removed stage would do, with nothing written."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest

from leadbridge.cli import main

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo's state database."""
    where = tmp_path_factory.mktemp("demo")
    cwd = Path.cwd()
    try:
        os.chdir(where)
        argv = ["demo", "--leads", "120", "--preload", "60", "--days", "10", "--seed", "3"]
        assert main([*argv, "--mappings", str(MAPPINGS)]) == 0
    finally:
        os.chdir(cwd)
    return where / "state" / "demo.db"


def _changed(tmp_path: Path, name: str, pattern: str, replacement: str) -> Path:
    target = tmp_path / "mappings"
    if not target.exists():  # a second edit goes on the same copy
        shutil.copytree(MAPPINGS, target)
    path = target / name
    text, count = re.subn(pattern, replacement, path.read_text(encoding="utf-8"))
    assert count, pattern
    path.write_text(text, encoding="utf-8")
    return target


def _check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["check", *argv])
    return code, capsys.readouterr().out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_raised_threshold_lists_the_mqls_that_would_go_back_and_the_writes(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _digest(demo)
    raised = _changed(tmp_path, "handoff.yaml", r"- gte: \{score: 60\}", "- gte: {score: 85}")
    code, out = _check(
        capsys, "--impact", "--mappings", str(raised), "--database", f"sqlite:///{demo}"
    )
    assert code == 0, out
    moved = re.search(r"would move (\d+) of the (\d+) leads", out)
    assert moved is not None and int(moved.group(1)) >= 1, out
    assert re.search(r"mql -> \w+: \d+ leads? \(rule score_and_fit changed\)", out), out
    example = re.search(
        r"score_and_fit no longer holds \(score >= 85 .*the lead has score (\d+)", out
    )
    assert example is not None and int(example.group(1)) < 85, out
    assert re.search(r"Writes it would cause: HubSpot contact \d+ updates?", out), out
    assert "Nothing was written" in out
    assert _digest(demo) == before  # nothing written, the database included


def test_a_renamed_stage_is_shown_and_a_removed_one_refused_with_its_count(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = f"sqlite:///{demo}"
    renamed = _changed(
        tmp_path / "a", "stages.yaml", r"  - name: sql\n", "  - name: accepted\n    was: [sql]\n"
    )
    renamed = _changed(tmp_path / "a", "handoff.yaml", r"\bsql\b", "accepted")
    code, out = _check(capsys, "--impact", "--mappings", str(renamed), "--database", database)
    assert code == 0 and re.search(r"sql -> accepted: \d+ leads? \(the stage was renamed\)", out), (
        out
    )

    removed = _changed(tmp_path / "b", "stages.yaml", r"  - name: sql\n", "  - name: accepted\n")
    removed = _changed(tmp_path / "b", "handoff.yaml", r"\bsql\b", "accepted")
    code, out = _check(capsys, "--mappings", str(removed), "--database", database)
    assert code == 2, out
    assert re.search(
        r"stages.yaml:1:1: stages: .*\(\d+ leads? in sql\): add `was: \[sql\]`", out
    ), out
    code, out = _check(capsys, "--impact", "--mappings", str(removed), "--database", database)
    assert code == 2 and "would be refused" in out, out
