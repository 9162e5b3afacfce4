"""Story 14, scored and checked: the score and grade reach both systems, once, and
`leadbridge score` shows why."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

from leadbridge.cli import main
from tests.sync.conftest import World

DANA = "dana.whitaker@northwind.com"


def _dana_at_a_webinar(world: World) -> None:
    """Dana, a VP at a logistics company of 500, registers for a webinar; a sync follows."""
    marketer = world.sandbox.hubspot.marketer
    contact = marketer.new_contact(
        DANA,
        "Dana",
        "Whitaker",
        company="Northwind Logistics",
        jobtitle="VP Operations",
        industry="LOGISTICS_AND_SUPPLY_CHAIN",
        numemployees=500,
    )
    marketer.fill_form(contact, "webinar")
    world.sync()


def test_score_and_grade_are_written_once_and_explained(world: World) -> None:
    _dana_at_a_webinar(world)
    shown = world.contact(DANA)
    # Fit 50 (title 20, industry 15, size 15), a form 5 and a webinar 10.
    assert (shown["leadbridge_score"], shown["leadbridge_grade"]) == ("65", "A")
    assert "webinar +10 (last_form: webinar)" in shown["leadbridge_score_reasons"]
    # Score 65 and grade A: an MQL by the shipped rule, and so a Salesforce Lead with both.
    (lead,) = world.sandbox.salesforce.state.records("Lead")
    assert (lead["Leadbridge_Score__c"], lead["Leadbridge_Grade__c"]) == (65, "A")
    assert "score_and_fit" in [move["rule"] for move in world.story(DANA)["moves"]]
    # explain shows the breakdown as of the move that wrote it, a criterion a line.
    told = world.explain(DANA)
    assert "    score 65, grade A:\n" in told, told
    assert "      senior_title +20 (title: VP Operations)\n" in told, told

    # Salesforce's new Lead comes back with news (its owner): the lead is decided again.
    world.sync()
    # Then nothing changes: nothing is written in either system, however much time passes.
    world.later(86_400 * 10)
    assert "written: hubspot 0 (0 calls), salesforce 0 (0 calls)" in world.sync()

    text = world.run("score", DANA, "--database", world.database)
    assert "score 62, grade A" in text  # ten days of decay: 15 engagement points are 11.9
    assert "+20  senior_title  (title: VP Operations)" in text
    assert "+10→+7.9  webinar  (last_form: webinar)" in text
    assert "last written to the systems: 65" in text
    body = json.loads(world.run("score", DANA, "--format", "json", "--database", world.database))
    assert body["grade"] == "A" and {c["criterion"] for c in body["criteria"]} >= {
        "senior_title",
        "form_fill",
    }
    assert "no lead is known" in _fails(world, "nobody@example.com")


def _fails(world: World, key: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["score", key, "--database", world.database]) == 1
    return out.getvalue()


def test_bant_a_rep_fills_in_salesforce_counts_towards_the_fit(world: World) -> None:
    rep = world.sandbox.salesforce.rep
    _dana_at_a_webinar(world)
    assert world.contact(DANA)["leadbridge_score"] == "65"
    lead = world.lead(DANA)
    rep.edit("Lead", lead["Id"], Budget__c="50k approved", Timeline__c="Q3")
    world.sync()
    shown = world.contact(DANA)
    assert shown["leadbridge_score"] == "75", shown  # budget and timeline known: 5 each
    assert "budget_known +5 (sales_budget: 50k approved)" in shown["leadbridge_score_reasons"]
    assert world.lead(DANA)["Leadbridge_Score__c"] == 75
    assert world.lead(DANA)["Budget__c"] == "50k approved"  # the rep's notes stay as written
