"""Every default rule, table-driven: what moves a lead, and what must not."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

import pytest

from leadbridge.config import ConfigError, Funnel, funnel_from_texts
from leadbridge.core.engine import decide
from leadbridge.model import Change, Lead, System, Value
from tests.conftest import T0, shipped

HS, SF = System.HUBSPOT, System.SALESFORCE
FIT = {"industry": "LOGISTICS_AND_SUPPLY_CHAIN", "employees": 500.0}


class Case(NamedTuple):
    rule: str | None  # the rule that must decide; None: nothing may move
    stage: str
    fields: dict[str, Value]
    change: tuple[System, str, dict[str, Value]]
    to: str
    reason: str | None = None
    deals: dict[str, str] = {}


CASES = {
    "competitor": Case(
        "competitor",
        "mql",
        {},
        (HS, "contact", {"email": "kim@FunnelForge.io"}),
        "disqualified",
        "competitor",
    ),
    "bad data": Case(
        "bad_data",
        "lead",
        {},
        (HS, "contact", {"email": "x@mailinator.com"}),
        "disqualified",
        "bad_data",
    ),
    "student": Case(
        "not_a_buyer",
        "subscriber",
        {},
        (HS, "contact", {"jobtitle": "student"}),
        "disqualified",
        "no_fit",
    ),
    "rep disqualifies": Case(
        "sales_disqualified",
        "mql",
        {"sf_status": "Open"},
        (SF, "Lead", {"Status": "Disqualified"}),
        "disqualified",
        "no_fit",
    ),
    "rep disqualifies with a reason": Case(
        "sales_disqualified",
        "sql",
        {"sf_status": "Working"},
        (SF, "Lead", {"Status": "Disqualified", "Recycle_Reason__c": "No Authority"}),
        "disqualified",
        "no_authority",
    ),
    "marketing disqualifies": Case(
        "marketing_disqualified",
        "lead",
        {},
        (HS, "contact", {"hs_lead_status": "UNQUALIFIED"}),
        "disqualified",
        "no_fit",
    ),
    "second win": Case(
        "second_win",
        "customer",
        {},
        (SF, "Opportunity", {"StageName": "Closed Won"}),
        "repeat_customer",
        "second_closed_won",
        {"006A": "won"},
    ),
    "won": Case(
        "closed_won",
        "opportunity",
        {},
        (SF, "Opportunity", {"StageName": "Closed Won"}),
        "customer",
        "closed_won",
        {"opportunity-1": "open"},
    ),
    "converted with an opportunity": Case(
        "opportunity_open",
        "sql",
        {"converted": False},
        (
            SF,
            "Lead",
            {"IsConverted": True, "ConvertedOpportunityId": "006A", "Status": "Converted"},
        ),
        "opportunity",
        "opportunity",
    ),
    "an open opportunity": Case(
        "opportunity_open",
        "sql",
        {},
        (SF, "Opportunity", {"StageName": "Prospecting"}),
        "opportunity",
    ),
    "already a lead in HubSpot": Case(
        "known_lead",
        "subscriber",
        {},
        (HS, "contact", {"lifecyclestage": "lead"}),
        "lead",
        "known_to_hubspot",
    ),
    "already an MQL in HubSpot": Case(
        "known_mql",
        "subscriber",
        {},
        (HS, "contact", {"lifecyclestage": "marketingqualifiedlead"}),
        "mql",
    ),
    "already an SQL in HubSpot": Case(
        "known_sql",
        "subscriber",
        {},
        (HS, "contact", {"lifecyclestage": "salesqualifiedlead"}),
        "sql",
    ),
    "already an opportunity in HubSpot": Case(
        "known_opportunity",
        "subscriber",
        {},
        (HS, "contact", {"lifecyclestage": "opportunity"}),
        "opportunity",
    ),
    "already a customer in HubSpot": Case(
        "known_customer",
        "subscriber",
        {},
        (HS, "contact", {"lifecyclestage": "evangelist"}),
        "customer",
    ),
    "a known MQL that asked for a demo": Case(
        "demo_request",
        "subscriber",
        {},
        (
            HS,
            "contact",
            {
                "lifecyclestage": "marketingqualifiedlead",
                "recent_conversion_event_name": "demo_request",
            },
        ),
        "sql",
    ),
    "deal lost": Case(
        "deal_lost",
        "opportunity",
        {},
        (SF, "Opportunity", {"StageName": "Closed Lost", "Loss_Reason__c": "Chose a competitor"}),
        "nurture",
        "Chose a competitor",
        {"opportunity-1": "open"},
    ),
    "deal on hold": Case(
        "deal_on_hold",
        "opportunity",
        {},
        (SF, "Opportunity", {"StageName": "On Hold"}),
        "nurture",
        "on_hold",
        {"opportunity-1": "open"},
    ),
    "rep recycles": Case(
        "sales_recycled",
        "sql",
        {"sf_status": "Working"},
        (SF, "Lead", {"Status": "Recycled", "Recycle_Reason__c": "No Budget"}),
        "nurture",
        "no_budget",
    ),
    "rep recycles without a reason": Case(
        "sales_recycled",
        "mql",
        {"sf_status": "Open"},
        (SF, "Lead", {"Status": "Nurture"}),
        "nurture",
        "other",
    ),
    "rep accepts": Case(
        "sales_accepted", "mql", {"sf_status": "Open"}, (SF, "Lead", {"Status": "Working"}), "sql"
    ),
    "rep revives a dead lead": Case(
        "sales_accepted",
        "disqualified",
        {"sf_status": "Disqualified"},
        (SF, "Lead", {"Status": "Qualified"}),
        "sql",
    ),
    "BANT known": Case(
        "bant_known",
        "mql",
        {"budget": "50k", "authority": "CFO", "need": "yes"},
        (HS, "contact", {"bant_timeline": "Q3"}),
        "sql",
    ),
    "demo request": Case(
        "demo_request",
        "lead",
        {},
        (HS, "contact", {"recent_conversion_event_name": "demo_request"}),
        "sql",
    ),
    "contact sales": Case(
        "hand_raise",
        "lead",
        {},
        (HS, "contact", {"recent_conversion_event_name": "contact_sales"}),
        "mql",
    ),
    "score and fit": Case(
        "score_and_fit",
        "lead",
        {"hubspot_score": 40.0, **FIT},
        (HS, "contact", {"hubspotscore": "75"}),
        "mql",
    ),
    "re-engaged by score": Case(
        "re_engaged",
        "nurture",
        {"hubspot_score": 40.0},
        (HS, "contact", {"hubspotscore": "65"}),
        "mql",
        "re_engaged",
    ),
    "re-engaged by a hand-raise": Case(
        "re_engaged",
        "disqualified",
        {"last_form": "download"},
        (HS, "contact", {"recent_conversion_event_name": "consultation"}),
        "mql",
    ),
    "responded": Case(
        "responded",
        "subscriber",
        {},
        (HS, "contact", {"recent_conversion_event_name": "download"}),
        "lead",
    ),
    "entered by a rep": Case(
        "responded", "subscriber", {}, (SF, "Lead", {"Status": "Open"}), "lead"
    ),
    # Nothing may move:
    "marketing cannot disqualify a sales lead": Case(
        None, "sql", {}, (HS, "contact", {"hs_lead_status": "UNQUALIFIED"}), "sql"
    ),
    "a HubSpot competitor signal leaves a sales lead alone": Case(
        None, "sql", {}, (HS, "contact", {"email": "x@pipelinehq.com"}), "sql"
    ),
    "a competitor stays dead whatever its score": Case(
        None,
        "disqualified",
        {"email": "x@syncsmith.com", "hubspot_score": 10.0},
        (HS, "contact", {"hubspotscore": "90"}),
        "disqualified",
    ),
    "a student stays dead whatever its score": Case(
        None,
        "disqualified",
        {"title": "Intern", "hubspot_score": 10.0},
        (HS, "contact", {"hubspotscore": "90"}),
        "disqualified",
    ),
    "a score above the threshold must cross it again": Case(
        None, "nurture", {"hubspot_score": 70.0}, (HS, "contact", {"hubspotscore": "72"}), "nurture"
    ),
    "marketing disqualifies while the score crosses": Case(
        "marketing_disqualified",
        "nurture",
        {"hubspot_score": 40.0},
        (HS, "contact", {"hubspotscore": "65", "hs_lead_status": "UNQUALIFIED"}),
        "disqualified",
    ),
    "one lost deal of two": Case(
        None,
        "opportunity",
        {},
        (SF, "Opportunity", {"StageName": "Closed Lost"}),
        "opportunity",
        None,
        {"006B": "open"},
    ),
    "a customer loses a second deal": Case(
        None,
        "customer",
        {},
        (SF, "Opportunity", {"StageName": "Closed Lost"}),
        "customer",
        None,
        {"006A": "won"},
    ),
    "score without fit": Case(
        None,
        "lead",
        {"hubspot_score": 40.0, "industry": "EDUCATION_MANAGEMENT", "employees": 500.0},
        (HS, "contact", {"hubspotscore": "95"}),
        "lead",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_default_rules(funnel: Funnel, name: str) -> None:
    case = CASES[name]
    system, obj, fields = case.change
    lead = Lead("lb-1", case.stage, T0, fields=case.fields, deals=case.deals)
    decision = decide(lead, Change(system, obj, f"{obj.lower()}-1", fields, T0), funnel, T0)
    assert decision.lead.stage == case.to
    if case.rule is None:
        assert decision.transitions == ()
        return
    last = decision.transitions[-1]
    assert last.rule == case.rule
    if case.reason is not None:
        assert last.reason == case.reason
    if funnel.stage[case.to].handback:
        assert decision.lead.fields["handback_reason"] == last.reason


def test_every_default_rule_has_a_case(funnel: Funnel) -> None:
    assert {rule.name for rule in funnel.rules} == {c.rule for c in CASES.values() if c.rule}


STALE_LEAD = """
  - name: stale_lead
    description: A lead that did nothing for half a year is nurtured instead.
    from: [lead]
    when: {older_than: {stage_entered: 26w}}
    then: {move_to: nurture, reason: went_quiet}
"""


def _with_rules(extra: str) -> Funnel:
    texts = {name: shipped(name) for name in ("stages", "fields", "handoff", "scoring")}
    texts["handoff"] = texts["handoff"].replace("\nrules:\n", "\nrules:\n" + extra, 1)
    return funnel_from_texts(texts)


def test_older_than_moves_a_lead_once_its_time_has_come() -> None:
    funnel = _with_rules(STALE_LEAD)
    quiet = Lead("lb-1", "lead", T0, fields={"hubspot_score": 45.0})
    phone = Change(HS, "contact", "101", {"phone": "+1 555 0100"}, T0)
    early = decide(quiet, phone, funnel, T0 + timedelta(weeks=25))
    assert early.transitions == ()
    late = decide(quiet, phone, funnel, T0 + timedelta(weeks=27))
    assert [(t.to_stage, t.reason) for t in late.transitions] == [("nurture", "went_quiet")]
    # Coming back needs new engagement: time alone never returns it.
    later = decide(late.lead, phone, funnel, T0 + timedelta(weeks=80))
    assert later.lead.stage == "nurture"


def test_a_timeout_racing_a_change_back_is_refused() -> None:
    # One change that crosses the score threshold for an MQL untouched for 30 days would
    # send it to nurture (stale) and straight back (re_engaged).
    racing = """
  - name: stale_mql
    from: [mql]
    when: {all: [{older_than: {stage_entered: 30d}}, {absent: sf_status}]}
    then: {move_to: nurture, reason: went_stale}
"""
    with pytest.raises(ConfigError) as caught:
        _with_rules(racing)
    assert "rules stale_mql, re_engaged can move a lead mql -> nurture -> mql" in str(caught.value)


def test_a_timeout_and_a_level_rule_back_are_refused() -> None:
    back = """
  - name: still_there
    from: [nurture]
    when: {present: email}
    then: {move_to: lead, reason: still_there}
"""
    with pytest.raises(ConfigError) as caught:
        _with_rules(STALE_LEAD + back)
    assert "rules stale_lead, still_there can move a lead lead -> nurture -> lead" in str(
        caught.value
    )


def test_older_than_on_a_time_field() -> None:
    texts = {name: shipped(name) for name in ("stages", "fields", "handoff", "scoring")}
    texts["fields"] = texts["fields"].replace(
        "\nfields:\n",
        "\nfields:\n  last_touch: {hubspot: notes_last_contacted, direction: always_hubspot,"
        " transforms: [datetime]}\n",
    )
    texts["handoff"] = texts["handoff"].replace(
        "\nrules:\n",
        "\nrules:\n  - {name: gone_silent, from: [lead], when: {older_than: {last_touch: 1w}},"
        " then: {move_to: nurture, reason: silent}}\n",
    )
    funnel = funnel_from_texts(texts)
    touched = Lead("lb-1", "lead", T0)
    for days_ago, stage in [(6, "lead"), (8, "nurture")]:
        at = T0 - timedelta(days=days_ago)
        millis = str(int(at.timestamp() * 1000))  # HubSpot sends times as epoch milliseconds
        change = Change(HS, "contact", "101", {"notes_last_contacted": millis}, T0)
        assert decide(touched, change, funnel, T0).lead.stage == stage
