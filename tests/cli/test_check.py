"""`leadbridge check`: all problems at once and exit 2, or a one-screen summary and exit 0."""

from __future__ import annotations

import io
import re

from leadbridge.cli.check import run_check
from tests.conftest import MAPPINGS, Edit

PROBLEM_LINE = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<field>[^:]+): (?P<says>.+)$"
)


def test_the_shipped_mappings_are_clean_and_summarised() -> None:
    out = io.StringIO()
    assert run_check(MAPPINGS, out) == 0
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0] == f"{MAPPINGS}/ is valid: 9 stages, 25 fields, 23 rules."
    assert len(lines) <= 45, "one screen"
    mql = next(line for line in lines if re.match(r"^ 3 mql ", line))
    assert "marketing" in mql and "2d" in mql and "marketingqualifiedlead" in mql
    assert "Lead Open, created here" in mql
    assert re.search(r"^ 7 repeat_customer +sales .* customer / OPEN_DEAL", text, re.M)
    assert "HubSpot also shows the stage name in leadbridge_stage." in text
    assert re.search(
        r"^ 1 competitor +any -> disqualified when email domain in competitors", text, re.M
    )
    assert "never written to salesforce" in text
    assert re.search(r"^23 responded +subscriber -> lead when last_form present", text, re.M)


def test_every_problem_is_printed_and_the_exit_code_is_2(edited: Edit) -> None:
    directory = edited(
        ("stages", "    sla: 2d # sales accepts or rejects it within two days", "    sla: soon"),
        (
            "fields",
            "    direction: two_way\n    transforms: [strip]\n  last_name:",
            "    direction: both\n    transforms: [strip]\n  last_name:",
        ),
        ("handoff", "        - gte: {score: 60}", "        - gte: {score: high}"),
    )
    out = io.StringIO()
    assert run_check(directory, out) == 2
    *problems, closing = out.getvalue().splitlines()
    assert closing == f"3 problems in {directory}/"
    parsed = [PROBLEM_LINE.match(line) for line in problems]
    assert all(parsed), problems
    found = {(m["path"].rsplit("/", 1)[1], m["field"]) for m in parsed if m}
    assert found == {
        ("stages.yaml", "stages[2].sla"),
        ("fields.yaml", "fields.first_name.direction"),
        ("handoff.yaml", "rules[20].when.all[0].gte.score"),
    }
    assert all("expected" in m["says"] for m in parsed if m)


def test_a_rule_set_that_flaps_fails_the_check(edited: Edit) -> None:
    directory = edited(
        (
            "handoff",
            "when: {changed_to: {sf_status: {in: recycled}}}",
            "when: {in: {sf_status: recycled}}",
        )
    )
    out = io.StringIO()
    assert run_check(directory, out) == 2
    assert (
        "rules sales_recycled, re_engaged can move a lead mql -> nurture -> mql" in out.getvalue()
    )
