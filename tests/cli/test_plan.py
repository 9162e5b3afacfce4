"""`leadbridge plan` on the embedded sandbox: it opens with the records to create and update
per system and object, then the field lines and the closing line; `--format json` says the
same as one document."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from leadbridge.cli import main

ROW = re.compile(
    r"^  (?P<system>\w+) (?P<object>\w+): (?P<create>\d+) to create, (?P<update>\d+) to update$"
)
CLOSING = re.compile(
    r"^plan: (?P<changes_read>\d+) changes read, (?P<leads_decided>\d+) leads decided, "
    r"(?P<transitions>\d+) transitions, (?P<fields>\d+) fields to write; nothing was written$"
)


def plan(tmp_path: Path, *more: str) -> tuple[str, str]:
    """`leadbridge plan` on an embedded sandbox of 30 people (seed 0): stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    database = f"sqlite:///{tmp_path / 'embedded.db'}"
    with redirect_stdout(out), redirect_stderr(err):
        assert main(["plan", "--leads", "30", "--database", database, *more]) == 0
    return out.getvalue(), err.getvalue()


def records_in(diffs: list[str]) -> Counter[tuple[str, str, str]]:
    """Records the field lines touch, by system, object and create or update."""
    touched = {line.split(": ", 1)[0] for line in diffs}
    found: Counter[tuple[str, str, str]] = Counter()
    for record in touched:
        system, obj, where = record.split(" ", 2)
        found[(system, obj, "create" if where.startswith("new (") else "update")] += 1
    return found


def test_plan_opens_with_the_records_to_write_per_system_and_object(tmp_path: Path) -> None:
    out, err = plan(tmp_path)
    assert err == ""  # not a terminal: no progress
    lines = out.splitlines()
    assert lines[0].startswith("embedded sandbox with 30 people")
    assert lines[1] == "plan: records to write"
    rows = [m for m in map(ROW.match, lines[2:]) if m]
    assert rows and lines[2 : 2 + len(rows)] == [m.string for m in rows], "the summary first"
    summed: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        for kind in ("create", "update"):
            summed[(row["system"], row["object"], kind)] += int(row[kind])
    diffs = lines[2 + len(rows) : -1]
    assert diffs and all(line.startswith(("hubspot ", "salesforce ")) for line in diffs)
    assert +summed == records_in(diffs)
    assert summed[("hubspot", "contact", "update")] > 0
    assert summed[("hubspot", "contact", "create")] > 0  # people only Salesforce knows
    closing = CLOSING.match(lines[-1])
    assert closing and int(closing["fields"]) == len(diffs)
    assert int(closing["leads_decided"]) >= 30


def test_plan_as_json_is_one_document_that_says_what_the_text_says(tmp_path: Path) -> None:
    text, _ = plan(tmp_path)
    shown, err = plan(tmp_path, "--format", "json")
    document: dict[str, Any] = json.loads(shown)  # the sandbox's greeting went to stderr
    assert err.startswith("embedded sandbox with 30 people")
    assert set(document) == {"changes_read", "leads_decided", "transitions", "records", "diffs"}
    lines = text.splitlines()
    closing = CLOSING.match(lines[-1])
    assert closing
    for name in ("changes_read", "leads_decided", "transitions"):
        assert document[name] == int(closing[name])
    rows = [m.groupdict() for m in map(ROW.match, lines) if m]
    assert document["records"] == [
        {**row, "create": int(row["create"]), "update": int(row["update"])} for row in rows
    ]
    # The same world, planned twice: the same lines, though not always in the same order.
    assert sorted(document["diffs"]) == sorted(lines[2 + len(rows) : -1])
    assert all(set(r) == {"system", "object", "create", "update"} for r in document["records"])


def test_plan_says_so_when_there_is_no_record_to_write(tmp_path: Path) -> None:
    out = io.StringIO()
    database = f"sqlite:///{tmp_path / 'embedded.db'}"
    with redirect_stdout(out):
        assert main(["plan", "--leads", "0", "--database", database]) == 0
    assert "plan: no record to write" in out.getvalue().splitlines()
    with redirect_stdout(out := io.StringIO()):
        assert main(["plan", "--leads", "0", "--database", database, "--format", "json"]) == 0
    assert json.loads(out.getvalue())["records"] == []
