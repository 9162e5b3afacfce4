"""The mistakes a RevOps admin makes by hand, each named in their words at the right line.

Every case edits the shipped mappings the way issue 15's broken configurations did and
asserts the exact line (1-based, the line of the offending character) and the wording:
what is wrong, the rule by its name, and the nearest thing that would have been right.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from leadbridge.config import ConfigError, Problem, load_funnel
from tests.conftest import Edit


class Case(NamedTuple):
    changes: tuple[tuple[str, str, str], ...]
    file: str
    mark: str  # text on the line the problem must point at
    field: str
    says: str  # a fragment the message must hold, word for word


def _change(file: str, old: str, new: str) -> tuple[tuple[str, str, str], ...]:
    return ((file, old, new),)


_UNRESPONSIVE = (
    "fields",
    "Status: [Open, Working, Qualified, Nurture, Recycled, Disqualified, Converted]",
    "Status: [Open, Working, Qualified, Unresponsive, Nurture, Recycled, Disqualified, Converted]",
)

CASES = {
    "a tab in the indentation": Case(
        _change("handoff", "    from: [customer]\n", "\tfrom: [customer]\n"),
        "handoff",
        "\tfrom: [customer]",
        "(yaml)",
        "a tab character; YAML allows only spaces for indentation and after `key:`, "
        "expected spaces instead of the tab",
    ),
    "gt for gte": Case(
        _change("handoff", "    when: {gte: {deals.won: 2}}", "    when: {gt: {deals.won: 2}}"),
        "handoff",
        "when: {gt: {deals.won: 2}}",
        'rule "second_win" when.gt',
        "`gt` is not an operator; did you mean `gte`?",
    ),
    "greater_than for gte": Case(
        _change("handoff", "        - gte: {score: 60}", "        - greater_than: {score: 60}"),
        "handoff",
        "- greater_than: {score: 60}",
        'rule "score_and_fit" when.all[0].greater_than',
        "`greater_than` is not an operator; did you mean `gte`?",
    ),
    "an operator typo inside changed_to": Case(
        _change(
            "handoff",
            "            - changed_to: {score: {gte: 60}}",
            "            - changed_to: {score: {gt: 60}}",
        ),
        "handoff",
        "changed_to: {score: {gt: 60}}",
        'rule "re_engaged" when.all[0].any[0].changed_to.score.gt',
        "`gt` is not an operator; did you mean `gte`?",
    ),
    "two operators in one condition": Case(
        _change(
            "handoff",
            "    when: {gte: {deals.won: 2}}",
            "    when: {gte: {deals.won: 2}, lte: {deals.won: 5}}",
        ),
        "handoff",
        "lte: {deals.won: 5}",
        'rule "second_win" when',
        "gte and lte in one condition, expected one operator per condition",
    ),
    "a typo in a Lead Status value": Case(
        (
            _UNRESPONSIVE,
            (
                "handoff",
                "when: {changed_to: {sf_status: Disqualified}}",
                "when: {changed_to: {sf_status: Unresponisve}}",
            ),
        ),
        "handoff",
        "sf_status: Unresponisve",
        'rule "sales_disqualified" when.changed_to.sf_status',
        "'Unresponisve' is not a value sf_status can hold; did you mean 'Unresponsive'? "
        "Expected one of (Salesforce Lead.Status): Open, Working, Qualified, Unresponsive,",
    ),
    "a typo in a lifecycle stage": Case(
        _change(
            "handoff",
            "when: {eq: {lifecycle: salesqualifiedlead}}",
            "when: {eq: {lifecycle: salesqualifedlead}}",
        ),
        "handoff",
        "lifecycle: salesqualifedlead",
        'rule "known_sql" when.eq.lifecycle',
        "'salesqualifedlead' is not a value lifecycle can hold; did you mean "
        "'salesqualifiedlead'? Expected one of (HubSpot contact.lifecyclestage): subscriber,",
    ),
    "a deal stage code spelled like Salesforce's": Case(
        _change(
            "handoff",
            "{changed_to: {deal_stage: lost}}",
            "{changed_to: {deal_stage: closed_lost}}",
        ),
        "handoff",
        "deal_stage: closed_lost",
        'rule "deal_lost" when.all[0].changed_to.deal_stage',
        "'closed_lost' is not a value deal_stage can hold; did you mean 'lost'? Expected one "
        "of (fields.deal_stage.values, Salesforce Opportunity.StageName): open, on_hold, won, "
        "lost",
    ),
    "Salesforce's spelling instead of the code": Case(
        _change(
            "handoff",
            "{changed_to: {deal_stage: lost}}",
            "{changed_to: {deal_stage: Closed Lost}}",
        ),
        "handoff",
        "deal_stage: Closed Lost",
        'rule "deal_lost" when.all[0].changed_to.deal_stage',
        "'Closed Lost' is how Salesforce spells deal_stage's value 'lost'; rules compare "
        "values as leadbridge reads them, expected lost",
    ),
    "a typo in a named list": Case(
        _change("handoff", "  accepted: [Working, Qualified]", "  accepted: [Workin, Qualified]"),
        "handoff",
        "accepted: [Workin, Qualified]",
        "lists.accepted[0]",
        "'Workin' is not a value sf_status can hold; did you mean 'Working'? Expected one of "
        "(Salesforce Lead.Status): Open, Working, Qualified, Nurture, Recycled, Disqualified, "
        "Converted (list 'accepted' is used by rule 'sales_accepted')",
    ),
    "a typo in an inline list": Case(
        _change(
            "handoff",
            "when: {in: {lifecycle: [customer, evangelist]}}",
            "when: {in: {lifecycle: [customer, evangelists]}}",
        ),
        "handoff",
        "lifecycle: [customer, evangelists]",
        'rule "known_customer" when.in.lifecycle[1]',
        "'evangelists' is not a value lifecycle can hold; did you mean 'evangelist'?",
    ),
    "a form code that is not listed": Case(
        _change(
            "handoff",
            "    when: {eq: {last_form: demo_request}}",
            "    when: {eq: {last_form: demo_requests}}",
        ),
        "handoff",
        "last_form: demo_requests",
        'rule "demo_request" when.eq.last_form',
        "'demo_requests' is not a value last_form can hold; did you mean 'demo_request'? "
        "Expected one of (fields.last_form.values): download, webinar, contact_sales, "
        "demo_request, consultation",
    ),
    "a number the map transform never yields": Case(
        _change("handoff", "        - in: {grade: [A, B]}", "        - eq: {employees: 30}"),
        "handoff",
        "- eq: {employees: 30}",
        'rule "score_and_fit" when.all[1].eq.employees',
        "'30' is not a value employees can hold, expected one of (HubSpot "
        "contact.numemployees): 1, 5, 25, 50, 100, 500, 1000",
    ),
    "a zero SLA": Case(
        _change("stages", "    sla: 2d # sales accepts", "    sla: 0d # sales accepts"),
        "stages",
        "sla: 0d",
        'stage "mql" sla',
        "got '0d', an SLA must be longer than zero; for no SLA leave `sla` out of this stage",
    ),
    "an SLA of none": Case(
        _change("stages", "    sla: 5d # to an opportunity", "    sla: none"),
        "stages",
        "sla: none",
        'stage "sql" sla',
        "for no SLA leave `sla` out of this stage",
    ),
    "a zero age": Case(
        _change(
            "handoff",
            "    when: {gte: {deals.won: 2}}",
            "    when: {older_than: {stage_entered: 0d}}",
        ),
        "handoff",
        "older_than: {stage_entered: 0d}",
        'rule "second_win" when.older_than.stage_entered',
        "got '0d', an age must be longer than zero",
    ),
    "a misspelt key": Case(
        _change(
            "handoff",
            "then: {move_to: disqualified, reason: bad_data}",
            "then: {move_too: disqualified, reason: bad_data}",
        ),
        "handoff",
        "move_too: disqualified",
        'rule "bad_data" then.move_too',
        "unknown key 'move_too', expected one of: move_to, reason, set, block; did you mean "
        "'move_to'?",
    ),
    "a misspelt stage in from": Case(
        _change("handoff", "    from: [customer]\n", "    from: [custmer]\n"),
        "handoff",
        "from: [custmer]",
        'rule "second_win" from[0]',
        "unknown stage 'custmer'; did you mean 'customer'? Expected one of: subscriber,",
    ),
    "a misspelt field": Case(
        _change("handoff", "        - gte: {score: 60}", "        - gte: {scores: 60}"),
        "handoff",
        "- gte: {scores: 60}",
        'rule "score_and_fit" when.all[0].gte.scores',
        "unknown field 'scores'; did you mean 'score'?",
    ),
    "a line indented off its neighbours": Case(
        _change("stages", "    owner: marketing\n    sla: 2d", "    owner: marketing\n   sla: 2d"),
        "stages",
        "   sla: 2d",
        "(yaml)",
        "this line is indented differently from the lines before it",
    ),
}


def _line_of(path: Path, mark: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = [number for number, line in enumerate(lines, 1) if mark in line]
    assert len(found) == 1, f"{mark!r} must be on one line of {path.name}"
    return found[0]


def _problems(directory: Path) -> tuple[Problem, ...]:
    with pytest.raises(ConfigError) as caught:
        load_funnel(directory)
    return caught.value.problems


@pytest.mark.parametrize("kind", list(CASES))
def test_each_mistake_is_named_at_its_line(kind: str, edited: Edit) -> None:
    case = CASES[kind]
    directory = edited(*case.changes)
    problems = _problems(directory)
    matching = [p for p in problems if p.field == case.field and case.says in p.message]
    assert matching, "\n".join(str(p) for p in problems)
    path = directory / f"{case.file}.yaml"
    assert matching[0].path == str(path)
    assert matching[0].line == _line_of(path, case.mark), str(matching[0])


def test_the_column_of_a_tab_is_the_tab(edited: Edit) -> None:
    directory = edited(("stages", "    owner: sales\n    sla: 5d", "    owner: sales\n  \tsla: 5d"))
    (problem,) = _problems(directory)
    assert (problem.line, problem.column) == (_line_of(directory / "stages.yaml", "\tsla"), 3)


@pytest.mark.parametrize("content", ["", "\n\n", "# rules come later\n"])
def test_an_empty_file_says_so_and_what_it_must_hold(content: str, edited: Edit) -> None:
    directory = edited()
    (directory / "handoff.yaml").write_text(content, encoding="utf-8")
    (problem,) = _problems(directory)
    assert str(problem) == (
        f"{directory}/handoff.yaml:1:1: (file): the file is empty (or holds only comments), "
        "expected rules: the handoff rules, each with a name, when (a condition) and then "
        "(move_to a stage); the shipped mappings show each"
    )


def test_an_empty_stages_file_names_the_stages(edited: Edit) -> None:
    directory = edited()
    (directory / "stages.yaml").write_text("", encoding="utf-8")
    (problem,) = _problems(directory)
    assert "expected stages: the funnel's stages in order" in problem.message


def test_a_byte_that_is_not_utf8_is_placed_at_its_line_and_column(edited: Edit) -> None:
    directory = edited()
    path = directory / "stages.yaml"
    text = path.read_text(encoding="utf-8")
    line = _line_of(path, "description: Sales accepted it")
    path.write_bytes(
        text.replace("Sales accepted it", "Sales accepted it (\u00e4)").encode("cp1252")
    )
    (problem,) = _problems(directory)
    column = path.read_bytes().splitlines()[line - 1].index(b"\xe4") + 1
    assert (problem.line, problem.column, problem.field) == (line, column, "(file)")
    assert problem.message.startswith(
        "byte 0xe4 ('\u00e4' in Windows-1252 or Latin-1) is not UTF-8, expected the file "
        "saved as UTF-8"
    )


def test_the_column_of_a_bad_byte_counts_characters(edited: Edit) -> None:
    directory = edited()
    path = directory / "stages.yaml"
    lines = path.read_bytes().split(b"\n")
    line = _line_of(path, "description: Sales accepted it")
    lines[line - 1] = "    description: \u00fcber \u00e9".encode() + b" \xff"
    path.write_bytes(b"\n".join(lines))
    (problem,) = _problems(directory)
    assert (problem.line, problem.column) == (line, len("    description: \u00fcber \u00e9 ") + 1)
    assert problem.message.startswith("byte 0xff ") and "UTF-8" in problem.message


def test_rules_and_stages_are_named_not_counted(edited: Edit) -> None:
    directory = edited(
        ("handoff", "    when: {gte: {deals.won: 2}}", "    when: {gte: {deals.won: many}}"),
        ("stages", "    sla: 90d # marketing re-scores it", "    sla: 90"),
    )
    fields = {p.field for p in _problems(directory)}
    assert fields == {'rule "second_win" when.gte.deals.won', 'stage "nurture" sla'}


def test_a_rule_without_a_name_is_counted_from_one(edited: Edit) -> None:
    directory = edited(("handoff", "  - name: second_win\n", "  - description: unnamed\n"))
    fields = {p.field for p in _problems(directory)}
    assert "rule #6 name" in fields
