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
    assert lines[0] == f"{MAPPINGS}/ is valid: 9 stages, 31 fields, 23 rules."
    # Stages, then one line per field mapping, then the rules.
    assert len(lines) == 4 + 9 + 2 + 2 + 31 + 3 + 23  # headings, 9 stages, 31 fields, 23 rules
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


def test_the_summary_shows_each_field_mapping() -> None:
    out = io.StringIO()
    assert run_check(MAPPINGS, out) == 0
    rows = {
        line.split()[0]: " ".join(line.split())
        for line in out.getvalue().splitlines()
        if line.startswith("   ") and not line.startswith("    ")
    }
    assert rows["hubspot_score"] == "hubspot_score hubspotscore - always_hubspot [number]"
    assert rows["email"] == "email email <-> Lead.Email, Contact.Email two_way [strip; lower]"
    assert rows["source"] == (
        "source hs_analytics_source --> Lead.LeadSource, Contact.LeadSource always_hubspot "
        "[9 values]"
    )
    assert rows["company"] == (
        "company company <-> Lead.Company prefer_hubspot_unless_blank, sales-owned: "
        "always_salesforce [strip; truncate(255); placeholder [not provided]]"
    )
    assert rows["deal_stage"] == ("deal_stage - Opportunity.StageName always_salesforce [4 values]")
    assert rows["employees"].endswith("[map(7 values); number]")


def test_a_changed_score_source_shows_in_the_summary(edited: Edit) -> None:
    directory = edited(("fields", "    hubspot: hubspotscore\n", "    hubspot: lead_score_v2\n"))
    out = io.StringIO()
    assert run_check(directory, out) == 0
    assert re.search(r"^   hubspot_score +lead_score_v2 +- +always_hubspot", out.getvalue(), re.M)


def test_warnings_are_printed_and_the_check_passes(edited: Edit) -> None:
    directory = edited(
        (
            "handoff",
            "    when: {eq: {lifecycle: opportunity}}",
            "    when: {all: [{eq: {lifecycle: opportunity}}, {eq: {lifecycle: customer}}]}",
        )
    )
    out = io.StringIO()
    assert run_check(directory, out) == 0
    first, *rest = out.getvalue().splitlines()
    lines = (directory / "handoff.yaml").read_text(encoding="utf-8").splitlines()
    line = 1 + next(n for n, text in enumerate(lines) if "{eq: {lifecycle: customer}}" in text)
    assert first.startswith(
        f'{directory}/handoff.yaml:{line}:5: warning: rule "known_opportunity" when: its '
        "condition can never hold on one change"
    )
    assert rest[0] == f"{directory}/ is valid: 9 stages, 31 fields, 23 rules (1 warning above)."


def test_a_renamed_stage_shows_its_former_name(edited: Edit) -> None:
    directory = edited(("stages", "  - name: sql\n", "  - name: sales_accepted\n    was: [sql]\n"))
    handoff = directory / "handoff.yaml"
    text = handoff.read_text(encoding="utf-8")
    text = text.replace(" sql,", " sales_accepted,").replace(" sql]", " sales_accepted]")
    handoff.write_text(text.replace("move_to: sql,", "move_to: sales_accepted,"), "utf-8")
    out = io.StringIO()
    assert run_check(directory, out) == 0
    assert "   sales_accepted was sql." in out.getvalue().splitlines()


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
        ("stages.yaml", 'stage "mql" sla'),
        ("fields.yaml", "fields.first_name.direction"),
        ("handoff.yaml", 'rule "score_and_fit" when.all[0].gte.score'),
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
