"""Properties of the engine on the shipped funnel, and of the flapping check on random rule sets."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadbridge.config import ConfigError, Funnel, flapping, funnel_from_texts, schema
from leadbridge.config.build import build
from leadbridge.config.load import FILES
from leadbridge.config.source import parse_document
from leadbridge.config.validation import validate
from leadbridge.core import mapping
from leadbridge.core.engine import decide
from leadbridge.model import Change, Identity, Lead, Side, System, Value

from .conftest import T0

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
    score=maybe(st.integers(0, 100).map(float)),
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


# --- the flapping check on random rule sets ---------------------------------------------

STAGES = json.dumps(
    {
        "stages": [
            {"name": "a", "owner": "marketing"},
            {"name": "b", "owner": "marketing"},
            {"name": "c", "owner": "sales"},
            {"name": "d", "owner": "marketing", "handback": True},
        ]
    }
)
FIELDS = json.dumps(
    {
        "picklists": {},
        "fields": {
            "x": {"hubspot": "x", "direction": "always_hubspot", "transforms": ["number"]},
            "y": {"salesforce": {"Lead": "Y"}, "direction": "always_salesforce"},
            "z": {"hubspot": "z", "salesforce": {"Lead": "Z"}, "direction": "two_way"},
        },
    }
)
ATOMS = st.one_of(
    st.builds(lambda n: {"gte": {"x": n}}, st.sampled_from([10, 20])),
    st.builds(lambda n: {"lte": {"x": n}}, st.sampled_from([10, 20])),
    st.builds(lambda v: {"eq": {"y": v}}, st.sampled_from(["p", "q"])),
    st.just({"in": {"y": ["p", "q"]}}),
    st.sampled_from([{"present": "z"}, {"absent": "z"}, {"eq": {"z": "s"}}]),
    st.builds(lambda n: {"changed_to": {"x": {"gte": n}}}, st.sampled_from([10, 20])),
    st.builds(lambda v: {"changed_to": {"y": v}}, st.sampled_from(["p", "q"])),
    st.just({"changed_to": {"z": {"present": True}}}),
)
CONDITIONS = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.builds(lambda items: {"all": items}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda items: {"any": items}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda item: {"not": item}, inner),
    ),
    max_leaves=4,
)
RULES = st.lists(
    st.fixed_dictionaries(
        {
            "from": st.one_of(
                st.just("any"), st.lists(st.sampled_from("abcd"), min_size=1, unique=True)
            ),
            "when": CONDITIONS,
            "then": st.builds(lambda to: {"move_to": to, "reason": "r"}, st.sampled_from("abcd")),
        }
    ),
    min_size=1,
    max_size=5,
)
VALUES = {
    "x": st.integers(0, 30).map(str),
    "y": st.sampled_from(["p", "q", "o"]),
    "z": st.sampled_from(["s", "t", ""]),
}


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(rules=RULES, data=st.data())
def test_accepted_rule_sets_never_cycle_and_decide_idempotently(
    rules: list[dict[str, Any]], data: st.DataObject
) -> None:
    named = [{"name": f"r{i}", **rule} for i, rule in enumerate(rules)]
    try:
        funnel = funnel_from_texts(
            {"stages": STAGES, "fields": FIELDS, "handoff": json.dumps({"rules": named})}
        )
    except ConfigError:
        return
    for _ in range(5):
        before = data.draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "x": st.integers(0, 30).map(float),
                    "y": st.sampled_from(["p", "q"]),
                    "z": st.just("s"),
                },
            )
        )
        lead = Lead("lb-1", data.draw(st.sampled_from("abcd")), T0, fields=before)
        system = data.draw(st.sampled_from([HS, SF]))
        remote = {"x": "x", "z": "z"} if system is HS else {"y": "Y", "z": "Z"}
        picked = data.draw(st.lists(st.sampled_from(sorted(remote)), unique=True))
        values: dict[str, Value] = {remote[name]: data.draw(VALUES[name]) for name in picked}
        obj = "contact" if system is HS else "Lead"
        change = Change(system, obj, "1", values, T0 + timedelta(days=1))
        first = decide(lead, change, funnel, change.modified_at)
        assert not first.notes, (named, lead, change)
        again = decide(first.lead, change, funnel, change.modified_at)
        assert again.transitions == () and again.lead == first.lead, (named, lead, change)


def _unchecked(rules: list[dict[str, Any]]) -> Funnel | None:
    """The funnel the rules make, built without the flapping check (None if otherwise invalid)."""
    texts = {"stages": STAGES, "fields": FIELDS, "handoff": json.dumps({"rules": rules})}
    documents = {}
    for name, text in texts.items():
        document, _ = parse_document(text, name)
        assert document is not None
        documents[name] = document
    stages, fields, handoff = (validate(documents[name], FILES[name])[0] for name in texts)
    if not (
        isinstance(stages, schema.StagesFile)
        and isinstance(fields, schema.FieldsFile)
        and isinstance(handoff, schema.HandoffFile)
    ):
        return None
    funnel, problems = build(documents, stages, fields, handoff)
    return None if problems else funnel


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(rules=RULES)
def test_every_cycle_the_check_reports_is_real(rules: list[dict[str, Any]]) -> None:
    """The check is exact here (no `set`, no older_than): each witness makes the engine cycle."""
    funnel = _unchecked([{"name": f"r{i}", **rule} for i, rule in enumerate(rules)])
    if funnel is None:
        return
    for cycle in flapping.cycles(funnel):
        system, obj = cycle.source
        readable = {name for _, fmap in funnel.sources[cycle.source] for name in [fmap.name]}
        remote = {"x": "x", "z": "z"} if system is HS else {"y": "Y", "z": "Z"}
        before = {name: b for name, (b, _) in cycle.witness.items() if b is not None}
        values: dict[str, Value] = {
            remote[name]: "" if a is None else (mapping.remote_form(HS, a) if name == "x" else a)
            for name, (b, a) in cycle.witness.items()
            if name in readable and a != b
        }
        lead = Lead("lb-1", cycle.steps[0][1], T0, fields=before)
        decision = decide(lead, Change(system, obj, "1", values, T0), funnel, T0)
        assert any("would move the lead back" in note for note in decision.notes), (rules, cycle)
