"""Every rule in mappings/handoff.yaml, end to end: forward moves, hand-backs and revivals.

Each case brings one person to the rule's starting stage through the rules
themselves (rules_support.at_*), then makes the change a marketer or a rep
would make in HubSpot or Salesforce, and runs a cycle of the pipeline
`leadbridge sync` builds, with the real connectors against the sandbox. It
then checks that the journal gained exactly that rule's transition (stages,
reason, cause), that both simulated systems show what the rule should write,
and that a further cycle writes nothing. A rule added to handoff.yaml
without a case here fails `test_every_rule_has_an_end_to_end_case`.
"""

from __future__ import annotations

import pytest

from leadbridge.config import load_funnel
from tests.sync.conftest import DAY, ROOT, World
from tests.sync.rules_support import (
    EMAIL,
    HS_CUSTOMER,
    HS_LEAD,
    HS_MQL,
    HS_OPPORTUNITY,
    HS_SQL,
    SF_CONVERTED,
    SF_CREATED,
    Case,
    Person,
    assert_salesforce,
    at_customer_with_a_second_deal,
    at_disqualified,
    at_disqualified_with_low_score,
    at_lead,
    at_lead_with_partial_bant,
    at_lost_deal,
    at_mql,
    at_nothing,
    at_nurture,
    at_opportunity,
    at_sql,
    both_deals_won,
    hs_disqualified,
    hs_nurture,
    imported,
    person_in,
)

CASES = [
    # --- dead ends ---------------------------------------------------------------------
    Case(
        "competitor",
        at_lead,
        lambda p: p.edit(email="dana@pipelinehq.com"),
        ("lead", "disqualified", "competitor"),
        ("hubspot", "contact"),
        {**hs_disqualified("competitor"), "email": "dana@pipelinehq.com"},
        None,  # blocked: neither address ever reaches Salesforce
    ),
    Case(
        "bad_data",
        at_mql,
        lambda p: p.edit(email="dana@mailinator.com"),
        ("mql", "disqualified", "bad_data"),
        ("hubspot", "contact"),
        {**hs_disqualified("bad_data"), "email": "dana@mailinator.com"},
        {"Lead": {"Status": "Disqualified", "Email": "dana@mailinator.com"}},
    ),
    Case(
        "not_a_buyer",
        at_mql,
        lambda p: p.edit(jobtitle="Student"),
        ("mql", "disqualified", "no_fit"),
        ("hubspot", "contact"),
        {**hs_disqualified("no_fit"), "jobtitle": "Student"},
        {"Lead": {"Status": "Disqualified", "Title": "Student"}},
    ),
    Case(
        "sales_disqualified",
        at_sql,
        lambda p: p.set_status("Disqualified", reason="No Authority"),
        ("sql", "disqualified", "no_authority"),
        ("salesforce", "Lead"),
        hs_disqualified("no_authority"),
        {"Lead": {"Status": "Disqualified", "Recycle_Reason__c": "No Authority"}},
    ),
    Case(
        "marketing_disqualified",
        at_mql,
        lambda p: p.edit(hs_lead_status="UNQUALIFIED"),
        ("mql", "disqualified", "no_fit"),
        ("hubspot", "contact"),
        hs_disqualified("no_fit"),
        {"Lead": {"Status": "Disqualified"}},
    ),
    # --- revenue -----------------------------------------------------------------------
    Case(
        "second_win",
        at_customer_with_a_second_deal,
        lambda p: p.close(won=True),
        ("customer", "repeat_customer", "second_closed_won"),
        ("salesforce", "Opportunity"),
        {**HS_CUSTOMER, "leadbridge_stage": "repeat_customer"},
        {"Lead": SF_CONVERTED, "Opportunity": {"StageName": "Closed Won"}},
        check=both_deals_won,
    ),
    Case(
        "closed_won",
        at_opportunity,
        lambda p: p.close(won=True),
        ("opportunity", "customer", "closed_won"),
        ("salesforce", "Opportunity"),
        HS_CUSTOMER,
        {"Lead": SF_CONVERTED, "Opportunity": {"StageName": "Closed Won", "IsWon": True}},
    ),
    Case(
        "opportunity_open",
        at_sql,
        Person.convert,
        ("sql", "opportunity", "opportunity"),
        ("salesforce", "Lead"),
        HS_OPPORTUNITY,
        {
            "Lead": SF_CONVERTED,
            "Contact": {"Email": EMAIL, "LastName": "Whitaker"},
            "Opportunity": {"StageName": "Prospecting", "Amount": 40000},
        },
    ),
    Case(
        "opportunity_open",
        at_lost_deal,
        lambda p: p.open_opportunity("Northwind, second try"),
        ("nurture", "opportunity", "opportunity"),
        ("salesforce", "Opportunity"),
        HS_OPPORTUNITY,
        {"Lead": SF_CONVERTED, "Opportunity": {"StageName": "Prospecting"}},
        variant="new_deal_after_a_loss",
    ),
    # --- a contact met for the first time keeps the stage HubSpot shows -----------------
    Case(
        "known_lead",
        at_nothing,
        imported("lead"),
        ("subscriber", "lead", "known_to_hubspot"),
        ("hubspot", "contact"),
        HS_LEAD,
        None,
    ),
    Case(
        "known_mql",
        at_nothing,
        imported("marketingqualifiedlead"),
        ("subscriber", "mql", "known_to_hubspot"),
        ("hubspot", "contact"),
        HS_MQL,
        {"Lead": {**SF_CREATED, "Status": "Open"}},
    ),
    Case(
        "known_sql",
        at_nothing,
        imported("salesqualifiedlead"),
        ("subscriber", "sql", "known_to_hubspot"),
        ("hubspot", "contact"),
        HS_SQL,
        {"Lead": {**SF_CREATED, "Status": "Working"}},
    ),
    Case(
        "known_opportunity",
        at_nothing,
        imported("opportunity"),
        ("subscriber", "opportunity", "known_to_hubspot"),
        ("hubspot", "contact"),
        HS_OPPORTUNITY,
        None,  # the opportunity stage creates nothing: a rep converts leads, never leadbridge
    ),
    Case(
        "known_customer",
        at_nothing,
        imported("customer"),
        ("subscriber", "customer", "known_to_hubspot"),
        ("hubspot", "contact"),
        HS_CUSTOMER,
        None,
    ),
    Case(
        "known_customer",
        at_nothing,
        imported("evangelist"),
        ("subscriber", "customer", "known_to_hubspot"),
        ("hubspot", "contact"),
        # handoff.yaml: the first sync "moves nobody backwards"; evangelist is past customer.
        {**HS_CUSTOMER, "lifecyclestage": "evangelist"},
        None,
        variant="evangelist",
    ),
    # --- hand-backs to marketing ---------------------------------------------------------
    Case(
        "deal_lost",
        at_opportunity,
        lambda p: p.close(won=False, reason="Price"),
        ("opportunity", "nurture", "price"),
        ("salesforce", "Opportunity"),
        hs_nurture("price"),
        {
            "Lead": SF_CONVERTED,
            "Opportunity": {"StageName": "Closed Lost", "Loss_Reason__c": "Price"},
        },
        backward=True,
    ),
    Case(
        "deal_on_hold",
        at_opportunity,
        lambda p: p.set_deal_stage("On Hold"),
        ("opportunity", "nurture", "on_hold"),
        ("salesforce", "Opportunity"),
        hs_nurture("on_hold"),
        {"Lead": SF_CONVERTED, "Opportunity": {"StageName": "On Hold"}},
        backward=True,
    ),
    Case(
        "sales_recycled",
        at_sql,
        lambda p: p.set_status("Nurture", reason="No Budget"),
        ("sql", "nurture", "no_budget"),
        ("salesforce", "Lead"),
        hs_nurture("no_budget"),
        {"Lead": {"Status": "Nurture", "Recycle_Reason__c": "No Budget"}},
        backward=True,
    ),
    # --- into sales ----------------------------------------------------------------------
    Case(
        "sales_accepted",
        at_mql,
        lambda p: p.set_status("Working"),
        ("mql", "sql", "sales_accepted"),
        ("salesforce", "Lead"),
        HS_SQL,
        {"Lead": {"Status": "Working"}},
    ),
    Case(
        "sales_accepted",
        at_disqualified,
        lambda p: p.set_status("Working"),
        ("disqualified", "sql", "sales_accepted"),
        ("salesforce", "Lead"),
        HS_SQL,
        {"Lead": {"Status": "Working"}},
        backward=True,  # "other" sits after "salesqualifiedlead" in HubSpot's order
        variant="revives_disqualified",
    ),
    Case(
        "bant_known",
        at_lead_with_partial_bant,
        lambda p: p.edit(bant_timeline="this quarter"),
        ("lead", "sql", "bant_known"),
        ("hubspot", "contact"),
        HS_SQL,
        {"Lead": {**SF_CREATED, "Status": "Working"}},
    ),
    Case(
        "demo_request",
        at_lead,
        lambda p: p.fill_form("demo_request"),
        ("lead", "sql", "demo_request"),
        ("hubspot", "contact"),
        HS_SQL,
        {"Lead": {**SF_CREATED, "Status": "Working"}},
    ),
    # --- into marketing's qualified stage --------------------------------------------------
    Case(
        "hand_raise",
        at_lead,
        lambda p: p.fill_form("contact_sales"),
        ("lead", "mql", "hand_raise"),
        ("hubspot", "contact"),
        HS_MQL,
        {"Lead": {**SF_CREATED, "Status": "Open"}},
    ),
    Case(
        "score_and_fit",
        at_lead,
        lambda p: p.set_score(65),
        ("lead", "mql", "score_and_fit"),
        ("hubspot", "contact"),
        HS_MQL,
        {"Lead": {**SF_CREATED, "Status": "Open"}},
    ),
    Case(
        "re_engaged",
        at_nurture,
        lambda p: p.fill_form("consultation"),
        ("nurture", "mql", "re_engaged"),
        ("hubspot", "contact"),
        {**HS_MQL, "leadbridge_handback_reason": "bad_timing"},
        {"Lead": {"Status": "Open", "Recycle_Reason__c": "Bad Timing"}},  # reopened, not new
    ),
    Case(
        "re_engaged",
        at_disqualified_with_low_score,
        lambda p: p.set_score(75),
        ("disqualified", "mql", "re_engaged"),
        ("hubspot", "contact"),
        HS_MQL,
        {"Lead": {"Status": "Open"}},
        backward=True,  # from "other"
        variant="revives_disqualified",
    ),
    # --- first response --------------------------------------------------------------------
    Case(
        "responded",
        at_nothing,
        lambda p: p.create_lead(status="Open"),
        ("subscriber", "lead", "responded"),
        ("salesforce", "Lead"),
        {**HS_LEAD, "email": EMAIL, "lastname": "Whitaker", "company": "Northwind"},
        {"Lead": {"Status": "Open", "Email": EMAIL}},
    ),
]


def test_every_rule_has_an_end_to_end_case() -> None:
    rules = {rule.name for rule in load_funnel(ROOT / "mappings").rules}
    assert {case.rule for case in CASES} == rules
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_rule_end_to_end(world: World, case: Case) -> None:
    with person_in(world, EMAIL) as person:
        rule_end_to_end(person, case)


def rule_end_to_end(person: Person, case: Case) -> None:
    world = person.world
    case.setup(person)
    world.later(DAY)
    before = person.journal()
    history = len(person.lifecycle_history())

    case.trigger(person)
    moved = person.sync()

    new = person.journal()[len(before) :]
    got = [
        (e.from_stage, e.to_stage, e.rule, e.reason, e.cause_system, e.cause_object) for e in new
    ]
    want = [(*case.moved[:2], case.rule, case.moved[2], *case.cause)]
    assert got == want, f"{moved.line}; set aside: {person.set_aside()}"
    if before:
        assert new[0].lead_id == before[-1].lead_id, "a new lead moved, not the person's own"
    assert moved.parked == 0, world.parked()

    contact = person.contact()
    assert {name: contact.get(name) for name in case.hubspot} == dict(case.hubspot)
    stage_moves = person.lifecycle_history()[history:]
    if case.backward:  # HubSpot keeps lifecyclestage forward-only: cleared, then set
        assert stage_moves[-2:] == ["", case.hubspot["lifecyclestage"]]
    else:
        assert "" not in stage_moves, stage_moves
    assert_salesforce(person, case.salesforce)
    if case.check is not None:
        case.check(person)

    quiet = person.sync()
    assert (quiet.transitions, quiet.writes, quiet.write_calls) == (0, 0, 0), quiet.line
    assert quiet.parked == 0, world.parked()
    assert person.set_aside() == []  # nothing of the person's silently left behind
    assert len(person.journal()) == len(before) + 1
