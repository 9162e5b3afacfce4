"""The planner: only changed fields are written, creates are upserts, echoes produce nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadbridge.config import Funnel
from leadbridge.core.engine import decide
from leadbridge.core.planner import (
    Keys,
    Known,
    diff_lines,
    external_id,
    is_echo,
    lead_id_of,
    plan,
    same,
)
from leadbridge.model import (
    Change,
    Decision,
    Identity,
    Lead,
    RecordWrite,
    RemoteValues,
    System,
    Value,
    WritePlan,
)
from tests.conftest import T0

HS, SF = System.HUBSPOT, System.SALESFORCE
PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LINKED = Identity(hubspot="101", salesforce_lead="00Q1")
KEYS = Keys(email="kim@x.com")


def lead_with(identity: Identity = LINKED, blocked: frozenset[System] = frozenset()) -> Lead:
    return Lead(id="L1", stage="mql", stage_entered_at=T0, identity=identity, blocked=blocked)


def planned(
    funnel: Funnel,
    desired: RemoteValues,
    known: Known,
    lead: Lead | None = None,
    keys: Keys = KEYS,
) -> WritePlan:
    lead = lead or lead_with()
    return plan(lead, Decision(lead, (), desired), known, keys, funnel)


SAME = [
    ("hubspot blank", "", None),
    ("number and text", 500.0, "500"),
    ("integer and float", 5000, 5000.0),
    ("flag and text", True, "true"),
    ("flag and upper text", False, "FALSE"),
    ("datetime and hubspot text", datetime(2026, 3, 2, 9, tzinfo=UTC), "2026-03-02T09:00:00.000Z"),
    (
        "datetime and salesforce text",
        datetime(2026, 3, 2, 10, tzinfo=UTC),
        "2026-03-02T09:00:00.000-0100",
    ),
    ("naive datetime is utc", datetime(2026, 3, 2, 9), "2026-03-02T09:00:00Z"),
    ("microseconds below the apis' milliseconds", "2026-03-02T09:00:00.0004Z", T0),
    ("date and text", date(2026, 3, 2), "2026-03-02"),
    ("date and hubspot midnight", date(2026, 3, 2), "2026-03-02T00:00:00Z"),
]
DIFFERENT = [
    ("blank and value", "", "x"),
    ("numeric texts compare as text", "+4930123", "4930123"),
    ("picklist case", "Open", "open"),
    ("flag and number", True, 1),
    ("other day", date(2026, 3, 2), "2026-03-03"),
    ("other instant", T0, "2026-03-02T09:00:01Z"),
    ("number and word", 5, "five"),
]


@pytest.mark.parametrize(("a", "b"), [c[1:] for c in SAME], ids=[c[0] for c in SAME])
def test_values_that_mean_the_same(a: Value, b: Value) -> None:
    assert same(a, b) and same(b, a)


@pytest.mark.parametrize(("a", "b"), [c[1:] for c in DIFFERENT], ids=[c[0] for c in DIFFERENT])
def test_values_that_differ(a: Value, b: Value) -> None:
    assert not same(a, b) and not same(b, a)


def test_nothing_changed_means_no_write(funnel: Funnel) -> None:
    desired = {
        HS: {"contact": {"lifecyclestage": "lead", "phone": ""}},
        SF: {"Lead": {"Phone": "1"}},
    }
    known: Known = {
        (HS, "contact", "101"): {"lifecyclestage": "lead"},
        (SF, "Lead", "00Q1"): {"Phone": 1},
    }
    assert planned(funnel, desired, known).empty


def test_only_changed_fields_are_written(funnel: Funnel) -> None:
    desired = {HS: {"contact": {"firstname": "Kim", "lastname": "Lee", "email": "kim@x.com"}}}
    known = {(HS, "contact", "101"): {"firstname": "Kim", "lastname": "Li", "email": "KIM@X.COM"}}
    assert planned(funnel, desired, known).records == (
        RecordWrite(HS, "contact", "101", ({"lastname": "Lee"},)),
    )


def test_a_hubspot_create_is_an_upsert_by_email(funnel: Funnel) -> None:
    lead = lead_with(Identity(salesforce_lead="00Q1"))
    desired = {HS: {"contact": {"lifecyclestage": "lead", "phone": "", "firstname": "Kim"}}}
    (write,) = planned(funnel, desired, {}, lead, Keys(email=" Kim@X.com")).records
    assert write == RecordWrite(
        HS,
        "contact",
        None,
        ({"lifecyclestage": "lead", "firstname": "Kim"},),
        ("email", "kim@x.com"),
    )


def test_a_hubspot_create_falls_back_to_the_desired_email_and_never_invents_one(
    funnel: Funnel,
) -> None:
    lead = lead_with(Identity())
    with_email = {HS: {"contact": {"email": "ana@y.com"}}}
    (write,) = planned(funnel, with_email, {}, lead, Keys()).records
    assert write.key == ("email", "ana@y.com")
    (keyless,) = planned(funnel, {HS: {"contact": {"firstname": "Ana"}}}, {}, lead, Keys()).records
    assert keyless.id is None and keyless.key is None  # the connector parks it, with its reason


def test_a_salesforce_create_is_an_upsert_by_a_stable_external_id(funnel: Funnel) -> None:
    lead = lead_with(Identity(hubspot="101"))
    desired = {
        SF: {"Lead": {"LastName": "Lee", "Company": "Acme", "Status": "Open", "Phone": None}}
    }
    first = planned(funnel, desired, {}, lead)
    again = planned(funnel, desired, {}, lead)
    (write,) = first.records
    assert first == again
    assert write == RecordWrite(
        SF,
        "Lead",
        None,
        ({"LastName": "Lee", "Company": "Acme", "Status": "Open"},),
        ("Leadbridge_Id__c", "lb-L1"),
    )
    custom = planned(funnel, desired, {}, lead, Keys(external_id_field="Ext__c")).records[0]
    assert custom.key == ("Ext__c", "lb-L1")
    assert lead_id_of(external_id("L1")) == "L1" and lead_id_of("00Q1") is None


@pytest.mark.parametrize(
    ("shown", "wanted", "steps"),
    [
        ("opportunity", "lead", ({"lifecyclestage": ""}, {"lifecyclestage": "lead"})),
        ("customer", "subscriber", ({"lifecyclestage": ""}, {"lifecyclestage": "subscriber"})),
        ("lead", "marketingqualifiedlead", ({"lifecyclestage": "marketingqualifiedlead"},)),
        (None, "lead", ({"lifecyclestage": "lead"},)),
    ],
    ids=["hand-back", "to the start", "forward", "first time"],
)
def test_a_backward_lifecycle_move_is_cleared_then_set(
    funnel: Funnel, shown: str | None, wanted: str, steps: tuple[dict[str, Value], ...]
) -> None:
    desired = {HS: {"contact": {"lifecyclestage": wanted}}}
    (write,) = planned(funnel, desired, {(HS, "contact", "101"): {"lifecyclestage": shown}}).records
    assert write.steps == steps


def test_a_converted_lead_is_written_through_its_contact(funnel: Funnel) -> None:
    lead = lead_with(Identity(hubspot="101", salesforce_lead="00Q1", salesforce_contact="003C"))
    desired = {
        SF: {"Lead": {"Phone": "555", "Status": "Working", "Company": "Acme", "Email": "k@x"}}
    }
    known = {(SF, "Contact", "003C"): {"Email": "k@x"}}
    assert planned(funnel, desired, known, lead).records == (
        RecordWrite(SF, "Contact", "003C", ({"Phone": "555"},)),
    )


def test_a_contact_is_never_created_by_us(funnel: Funnel) -> None:
    assert planned(funnel, {SF: {"Contact": {"Phone": "555"}}}, {}).empty


@pytest.mark.parametrize("where", ["stored lead", "decision"])
def test_a_blocked_system_is_never_written(funnel: Funnel, where: str) -> None:
    desired = {HS: {"contact": {"phone": "1"}}, SF: {"Lead": {"Phone": "1"}}}
    blocked = frozenset({SF})
    stored = lead_with(blocked=blocked if where == "stored lead" else frozenset())
    decided = lead_with(blocked=blocked if where == "decision" else frozenset())
    result = plan(stored, Decision(decided, (), desired), {}, KEYS, funnel)
    assert [w.system for w in result.records] == [HS]


def test_echoes_are_recognised(funnel: Funnel) -> None:
    known = {(HS, "contact", "101"): {"lifecyclestage": "lead", "phone": "555", "email": "k@x.com"}}

    def change(**fields: Value) -> Change:
        return Change(HS, "contact", "101", fields, T0)

    # Our write read back, with HubSpot's bookkeeping and its own spellings.
    assert is_echo(
        change(lifecyclestage="lead", email="K@X.com", lastmodifieddate="x"), known, funnel
    )
    assert not is_echo(change(lifecyclestage="lead", phone="556"), known, funnel)
    assert not is_echo(change(firstname="Kim"), known, funnel)  # never seen: news, not an echo
    assert not is_echo(Change(HS, "contact", "102", {"phone": "555"}, T0), known, funnel)
    converted = Change(SF, "Lead", "00Q1", {"IsConverted": True, "ConvertedContactId": "003C"}, T0)
    assert not is_echo(converted, {(SF, "Lead", "00Q1"): {"IsConverted": False}}, funnel)


def test_diff_lines_show_each_field(funnel: Funnel) -> None:
    lead = lead_with(Identity(hubspot="123"))
    known = {(HS, "contact", "123"): {"lifecyclestage": "opportunity"}}
    desired = {HS: {"contact": {"lifecyclestage": "lead"}}, SF: {"Lead": {"LastName": "Lee"}}}
    result = planned(funnel, desired, known, lead)
    assert diff_lines(result, known) == [
        "hubspot contact 123: lifecyclestage 'opportunity' -> '' -> 'lead'",
        "salesforce Lead new (Leadbridge_Id__c=lb-L1): LastName None -> 'Lee'",
    ]


def test_an_mql_decided_by_the_engine_creates_its_salesforce_lead_once(funnel: Funnel) -> None:
    fields = {"email": "dana@northwind.com", "last_name": "Reyes", "company": "Northwind"}
    lead = Lead("L7", "lead", T0, identity=Identity(hubspot="7"), fields=fields)
    change = Change(
        HS,
        "contact",
        "7",
        {
            "hubspotscore": "80",
            "industry": "LOGISTICS_AND_SUPPLY_CHAIN",
            "numemployees": "500-1000",
        },
        T0,
    )
    decision = decide(lead, change, funnel, T0 + timedelta(minutes=1))
    assert decision.lead.stage == "mql"
    known: Known = {(HS, "contact", "7"): dict(change.fields)}
    first = plan(decision.lead, decision, known, Keys(email="dana@northwind.com"), funnel)
    creates = [w for w in first.records if w.id is None]
    assert [(w.system, w.object, w.key) for w in creates] == [
        (SF, "Lead", ("Leadbridge_Id__c", "lb-L7"))
    ]
    known, moved = _landed(known, first, decision.lead)
    assert plan(moved, decision, known, Keys(email="dana@northwind.com"), funnel).empty


def _landed(known: Known, result: WritePlan, lead: Lead) -> tuple[Known, Lead]:
    """Each write landed: snapshots updated, creates given ids and linked, as the sync does."""
    identity = lead.identity
    for write in result.records:
        record = write.id or f"new-{write.system.value}"
        target = (write.system, write.object, record)
        values = dict(known.get(target, {}))
        for step in write.steps:
            values.update(step)
        known = {**known, target: values}
        if write.id is None:
            slot = "hubspot" if write.system is HS else "salesforce_lead"
            identity = Identity(**{**_as_dict(identity), slot: record})
    return known, Lead(
        lead.id, lead.stage, lead.stage_entered_at, identity=identity, blocked=lead.blocked
    )


def _as_dict(identity: Identity) -> dict[str, Any]:
    return {n: getattr(identity, n) for n in ("hubspot", "salesforce_lead", "salesforce_contact")}


# --- properties -----------------------------------------------------------------------------

values = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(["Kim", "kim", "500", "true", "2026-03-02", "2026-03-02T09:00:00Z"]),
    st.integers(-3, 600),
    st.floats(-5, 600, allow_nan=False).map(lambda f: round(f, 2)),
    st.booleans(),
    st.dates(date(2026, 1, 1), date(2026, 1, 3)),
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 1, 2), timezones=st.just(UTC)),
)
stages = st.sampled_from(["subscriber", "lead", "marketingqualifiedlead", "opportunity", "other"])
hs_fields = st.fixed_dictionaries(
    {"lifecyclestage": stages}, optional={"phone": values, "firstname": values, "email": values}
)
sf_fields = st.fixed_dictionaries(
    {}, optional={"Phone": values, "LastName": values, "Email": values}
)
identities = st.builds(
    Identity,
    hubspot=st.sampled_from([None, "101"]),
    salesforce_lead=st.sampled_from([None, "00Q1"]),
    salesforce_contact=st.sampled_from([None, None, "003C"]),
)
blocks = st.frozensets(st.sampled_from([HS, SF]), max_size=1)


@st.composite
def situations(draw: st.DrawFn) -> tuple[Lead, RemoteValues, Known]:
    lead = lead_with(draw(identities), draw(blocks))
    desired: dict[System, dict[str, dict[str, Value]]] = {}
    if draw(st.booleans()):
        desired[HS] = {"contact": draw(hs_fields)}
    if draw(st.booleans()):
        desired[SF] = {"Lead": draw(sf_fields)}
    known = {
        (HS, "contact", "101"): draw(hs_fields),
        (SF, "Lead", "00Q1"): draw(sf_fields),
        (SF, "Contact", "003C"): draw(sf_fields),
    }
    return lead, desired, known


@PROPERTIES
@given(situations())
def test_planning_again_after_the_writes_landed_plans_nothing(
    funnel: Funnel, situation: tuple[Lead, RemoteValues, Known]
) -> None:
    lead, desired, known = situation
    first = planned(funnel, desired, known, lead)
    known, landed = _landed(known, first, lead)
    assert planned(funnel, desired, known, landed).empty


@PROPERTIES
@given(situations())
def test_every_write_changes_something_and_respects_blocks(
    funnel: Funnel, situation: tuple[Lead, RemoteValues, Known]
) -> None:
    lead, desired, known = situation
    order = funnel.lifecycle_order
    for write in planned(funnel, desired, known, lead).records:
        assert write.system not in lead.blocked
        if write.id is None and write.system is SF:
            assert write.key == ("Leadbridge_Id__c", "lb-L1")
        shown = known.get((write.system, write.object, write.id or ""), {})
        for step in write.steps:
            assert step and all(not same(v, shown.get(n)) for n, v in step.items())
        if write.system is SF:
            assert write.object == ("Contact" if lead.identity.salesforce_contact else "Lead")
        before, after = shown.get("lifecyclestage"), write.steps[-1].get("lifecyclestage")
        if before in order and after in order and order.index(after) < order.index(before):
            assert write.steps[0] == {"lifecyclestage": ""} and len(write.steps) == 2
