"""Rules that can never fire are warned about by name; stages renamed with `was:` are checked.

Warnings never stop the funnel from loading (`Funnel.warnings`); a former name that is
still in use, claimed twice, or named by a rule is an error saying what it became.
"""

from __future__ import annotations

import pytest

from leadbridge.config import ConfigError, Funnel, funnel_from_texts
from tests.conftest import shipped


def _texts(*changes: tuple[str, str, str]) -> dict[str, str]:
    texts = {name: shipped(name) for name in ("stages", "fields", "handoff", "scoring")}
    for file, old, new in changes:
        assert texts[file].count(old) == 1, old
        texts[file] = texts[file].replace(old, new)
    return texts


def _line(text: str, mark: str) -> int:
    (found,) = [n for n, line in enumerate(text.splitlines(), 1) if mark in line]
    return found


def test_the_shipped_funnel_has_no_warnings(funnel: Funnel) -> None:
    assert funnel.warnings == ()


def test_a_contradiction_under_all_is_a_warning_naming_the_rule() -> None:
    texts = _texts(
        (
            "handoff",
            "    when: {eq: {lifecycle: opportunity}}",
            "    when: {all: [{eq: {lifecycle: opportunity}}, {eq: {lifecycle: customer}}]}",
        )
    )
    funnel = funnel_from_texts(texts)
    (warning,) = funnel.warnings
    assert warning.warning
    assert warning.field == 'rule "known_opportunity" when'
    assert warning.line == _line(texts["handoff"], "{eq: {lifecycle: customer}}")
    assert warning.message.startswith(
        "its condition can never hold on one change (lifecycle = opportunity and "
        "lifecycle = customer), so the rule never fires"
    )
    assert str(warning).startswith(
        f'<memory>/handoff.yaml:{warning.line}:5: warning: rule "known_opportunity" when: '
    )


def test_changes_in_two_systems_at_once_can_never_hold() -> None:
    texts = _texts(
        (
            "handoff",
            "    when: {changed_to: {hs_lead_status: UNQUALIFIED}}",
            "    when: {all: [{changed_to: {hs_lead_status: UNQUALIFIED}},"
            " {changed_to: {sf_status: Disqualified}}]}",
        )
    )
    (warning,) = funnel_from_texts(texts).warnings
    assert warning.field == 'rule "marketing_disqualified" when'


def test_a_rule_from_a_stage_no_lead_reaches_is_a_warning() -> None:
    # No rule moves a lead into repeat_customer any more, so the rule from it is dead.
    texts = _texts(
        (
            "handoff",
            "    then: {move_to: repeat_customer, reason: second_closed_won}",
            "    then: {move_to: customer, reason: second_closed_won}",
        ),
        (
            "handoff",
            "  - name: known_lead\n",
            "  - name: loyalty\n    from: [repeat_customer]\n    when: {gte: {deals.won: 3}}\n"
            "    then: {move_to: customer}\n\n  - name: known_lead\n",
        ),
    )
    funnel = funnel_from_texts(texts)
    (warning,) = funnel.warnings
    assert warning.field == 'rule "loyalty" from'
    assert warning.line == _line(texts["handoff"], "from: [repeat_customer]")
    assert warning.message == (
        "can never fire: no lead is ever in 'repeat_customer' (leads start in 'subscriber' "
        "and move only by rules, and no rule moves one there)"
    )


def test_one_unreachable_entry_of_from_is_named_at_its_line() -> None:
    texts = _texts(
        (
            "handoff",
            "    then: {move_to: repeat_customer, reason: second_closed_won}",
            "    then: {move_to: customer, reason: second_closed_won}",
        ),
        (
            "handoff",
            "    from: [subscriber, lead, mql, sql, opportunity, nurture]\n",
            "    from:\n      - subscriber\n      - repeat_customer\n      - opportunity\n",
        ),
    )
    (warning,) = funnel_from_texts(texts).warnings
    assert warning.field == 'rule "closed_won" from[1]'
    assert warning.line == _line(texts["handoff"], "      - repeat_customer")
    assert warning.message.startswith("from names 'repeat_customer', where no lead ever is")


def _renamed(*extra: tuple[str, str, str]) -> dict[str, str]:
    texts = _texts(("stages", "  - name: sql\n", "  - name: sales_accepted\n    was: [sql]\n"))
    for file, old, new in extra:
        texts[file] = texts[file].replace(old, new)
    return texts


def test_a_renamed_stage_maps_its_old_name() -> None:
    texts = _renamed(("handoff", " sql", " sales_accepted"))
    texts["handoff"] = texts["handoff"].replace("move_to: sql,", "move_to: sales_accepted,")
    funnel = funnel_from_texts(texts)
    assert funnel.renamed == {"sql": "sales_accepted"}
    assert funnel.stage["sales_accepted"].was == ("sql",)
    assert funnel.warnings == ()


def test_was_takes_a_single_name() -> None:
    texts = _texts(("stages", "  - name: sql\n", "  - name: sales_accepted\n    was: sql\n"))
    texts["handoff"] = (
        texts["handoff"]
        .replace(" sql,", " sales_accepted,")
        .replace(" sql]", " sales_accepted]")
        .replace("move_to: sql,", "move_to: sales_accepted,")
    )
    assert funnel_from_texts(texts).renamed == {"sql": "sales_accepted"}


def test_rules_still_naming_the_old_name_say_what_it_became() -> None:
    texts = _renamed()
    with pytest.raises(ConfigError) as caught:
        funnel_from_texts(texts)
    messages = {(p.field, p.message) for p in caught.value.problems}
    expected = (
        "stage 'sql' was renamed to 'sales_accepted' (its `was:` in stages.yaml), "
        "expected sales_accepted"
    )
    assert ('rule "sales_disqualified" from[3]', expected) in messages
    assert ('rule "sales_accepted" then.move_to', expected) in messages
    assert all(message == expected for _, message in messages)


def test_a_former_name_that_is_still_a_stage_is_refused() -> None:
    texts = _texts(("stages", "  - name: sql\n", "  - name: sql\n    was: [mql]\n"))
    with pytest.raises(ConfigError) as caught:
        funnel_from_texts(texts)
    (problem,) = caught.value.problems
    assert problem.field == 'stage "sql" was[0]'
    assert problem.line == _line(texts["stages"], "was: [mql]")
    assert problem.message.startswith("'mql' is a current stage's name; `was` lists only names")


def test_a_former_name_claimed_by_two_stages_is_refused() -> None:
    texts = _texts(
        ("stages", "  - name: sql\n", "  - name: sql\n    was: [accepted]\n"),
        ("stages", "  - name: opportunity\n", "  - name: opportunity\n    was: accepted\n"),
    )
    with pytest.raises(ConfigError) as caught:
        funnel_from_texts(texts)
    (problem,) = caught.value.problems
    assert problem.field == 'stage "opportunity" was[0]'
    assert problem.message.startswith(
        "'accepted' is already the former name of stage 'sql', expected each former name "
        "under one stage"
    )
