"""Properties of the engine on the shipped funnel (tests/config/test_flapping.py: the flapping
check on random rule sets)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadbridge.config import Funnel
from leadbridge.core.engine import decide
from leadbridge.model import Change, Identity, Lead, Side, System
from tests.conftest import T0

HS, SF = System.HUBSPOT, System.SALESFORCE
PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

maybe = st.none().__or__
emails = st.sampled_from(
    ["dana@northwind.com", "x@pipelinehq.com", "y@sub.funnelforge.io", "z@mailinator.com", ""]
)
statuses = st.sampled_from(["Open", "Working", "Qualified", "Nurture", "Recycled", "Disqualified"])
hs_statuses = st.sampled_from(["NEW", "OPEN", "IN_PROGRESS", "UNQUALIFIED", "BAD_TIMING"])
forms = st.sampled_from(["download", "webinar", "demo_request", "consultation", "contact_sales"])
reasons = st.sampled_from(["Bad Timing", "No Budget", "Other", ""])
deal_stages = st.sampled_from(["Prospecting", "On Hold", "Closed Won", "Closed Lost"])
canonical_deals = st.sampled_from(["open", "on_hold", "won", "lost"])


def _fields(**options: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=options)


lead_fields = _fields(
    email=emails,
    hubspot_score=maybe(st.integers(0, 100).map(float)),
    sf_status=maybe(statuses),
    hs_lead_status=maybe(hs_statuses),
    last_form=maybe(forms),
    title=st.sampled_from(["CFO", "Student"]),
    industry=st.sampled_from(["COMPUTER_SOFTWARE", "EDUCATION_MANAGEMENT"]),
    employees=st.sampled_from([1.0, 25.0, 500.0]),
    converted=st.booleans(),
    converted_opportunity=st.just("006A"),
    budget=st.just("50k"),
    authority=st.just("CFO"),
    need=st.just("yes"),
    timeline=maybe(st.just("Q3")),
)
hubspot_change = _fields(
    email=emails,
    hubspotscore=st.integers(0, 100).map(str),
    hs_lead_status=hs_statuses,
    recent_conversion_event_name=forms,
    jobtitle=st.sampled_from(["CFO", "Intern"]),
    numemployees=st.sampled_from(["1-5", "100-500"]),
    industry=st.sampled_from(["RETAIL", "EDUCATION_MANAGEMENT"]),
    bant_timeline=st.just("Q3"),
).map(lambda fields: ("contact", "101", fields))
lead_change = _fields(
    Email=emails,
    Status=statuses,
    Recycle_Reason__c=reasons,
    IsConverted=st.booleans(),
    ConvertedOpportunityId=st.just("006A"),
).map(lambda fields: ("Lead", "00Q1", fields))
opportunity_change = st.tuples(
    st.just("Opportunity"),
    st.sampled_from(["006A", "006B", "006C"]),
    _fields(StageName=deal_stages, Loss_Reason__c=st.just("Price")),
)


@st.composite
def situations(
    draw: st.DrawFn, funnel: Funnel, stages: list[str] | None = None
) -> tuple[Lead, Change]:
    stage = draw(st.sampled_from(stages or [s.name for s in funnel.stages]))
    deals = draw(
        st.dictionaries(st.sampled_from(["006A", "006B", "006C"]), canonical_deals, max_size=3)
    )
    blocked = draw(st.sampled_from([frozenset(), frozenset({SF})]))
    identity = draw(st.sampled_from([Identity(), Identity("101", "00Q1")]))
    lead = Lead(
        "lb-1", stage, T0, identity=identity, fields=draw(lead_fields), deals=deals, blocked=blocked
    )
    system = draw(st.sampled_from([HS, SF]))
    changes = hubspot_change if system is HS else st.one_of(lead_change, opportunity_change)
    obj, record, fields = draw(changes)
    when = T0 + timedelta(days=draw(st.integers(0, 400)))
    return lead, Change(system, obj, record, fields, when)


@PROPERTIES
@given(data=st.data())
def test_deciding_again_on_the_result_changes_nothing(funnel: Funnel, data: st.DataObject) -> None:
    lead, change = data.draw(situations(funnel))
    first = decide(lead, change, funnel, change.modified_at)
    again = decide(first.lead, change, funnel, change.modified_at)
    assert again.transitions == ()
    assert again.lead == first.lead
    assert again.desired == first.desired


@PROPERTIES
@given(data=st.data(), later=st.integers(1, 1000))
def test_no_flapping(funnel: Funnel, data: st.DataObject, later: int) -> None:
    lead, change = data.draw(situations(funnel))
    first = decide(lead, change, funnel, change.modified_at)
    visited = [lead.stage, *(t.to_stage for t in first.transitions)]
    assert len(visited) == len(set(visited))
    assert not any("would move the lead back" in note for note in first.notes)
    # The same input, delivered again any time later, moves the lead no further.
    redelivered = decide(first.lead, change, funnel, change.modified_at + timedelta(days=later))
    assert redelivered.lead.stage == first.lead.stage


@PROPERTIES
@given(data=st.data())
def test_every_hand_back_carries_a_reason(funnel: Funnel, data: st.DataObject) -> None:
    lead, change = data.draw(situations(funnel))
    decision = decide(lead, change, funnel, change.modified_at)
    handbacks = [t for t in decision.transitions if funnel.stage[t.to_stage].handback]
    for transition in handbacks:
        assert transition.reason.strip()
    if handbacks:
        assert decision.lead.fields["handback_reason"] == handbacks[-1].reason


@PROPERTIES
@given(data=st.data())
def test_sales_owned_stages_never_regress_on_marketing_input(
    funnel: Funnel, data: st.DataObject
) -> None:
    sales = [s.name for s in funnel.stages if s.owner is Side.SALES]
    lead, change = data.draw(situations(funnel, sales).filter(lambda lc: lc[1].system is HS))
    decision = decide(lead, change, funnel, change.modified_at)
    for transition in decision.transitions:
        origin, target = funnel.stage[transition.from_stage], funnel.stage[transition.to_stage]
        assert target.owner is Side.SALES and target.index > origin.index
