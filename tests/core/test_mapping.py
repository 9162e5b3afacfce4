"""Remote fields <-> the canonical lead: transforms, value maps, direction rules, projection."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from leadbridge.config import Funnel, funnel_from_texts
from leadbridge.config.transforms import (
    Unreadable,
    compile_reader,
    compile_transforms,
    parse_transform,
)
from leadbridge.core import mapping
from leadbridge.model import Change, Identity, Lead, Stamp, System, Value
from tests.conftest import T0, shipped

HS, SF = System.HUBSPOT, System.SALESFORCE


def lead(stage: str = "lead", **fields: Value) -> Lead:
    return Lead(id="lb-1", stage=stage, stage_entered_at=T0, fields=fields)


def change(system: System, fields: dict[str, Value], days: float = 1, obj: str = "") -> Change:
    obj = obj or ("contact" if system is HS else "Lead")
    return Change(system, obj, f"{system.value}-1", fields, T0 + timedelta(days=days))


@pytest.mark.parametrize(
    ("transforms", "raw", "canonical"),
    [
        (["strip", "lower"], "  Dana@Example.COM ", "dana@example.com"),
        (["upper"], "ab", "AB"),
        (["strip"], "   ", None),
        (["number"], "1,250", 1250.0),
        (["number"], 42, 42.0),
        (["number"], "", None),
        ([{"default": "Unknown"}], None, "Unknown"),
        ([{"truncate": 3}], "abcdef", "abc"),
        ([{"map": {"1-5": 1, "1000+": 1000}}, "number"], "1000+", 1000.0),
        ([{"map": {"a": "b"}}], "z", "z"),
        (["date"], "2026-03-02", date(2026, 3, 2)),
        (["date"], "1772409600000", date(2026, 3, 2)),
        (["datetime"], "2026-03-02T09:00:00.000+0000", datetime(2026, 3, 2, 9, tzinfo=UTC)),
        (["datetime"], "2026-03-02T09:00:00Z", datetime(2026, 3, 2, 9, tzinfo=UTC)),
        (["datetime"], date(2026, 3, 2), datetime(2026, 3, 2, tzinfo=UTC)),
    ],
)
def test_transforms(transforms: list[Any], raw: Value, canonical: Value) -> None:
    run = compile_transforms([parse_transform(t) for t in transforms])
    assert run is not None and run(raw) == canonical


@pytest.mark.parametrize(("name", "raw"), [("number", "sixty"), ("datetime", "next tuesday")])
def test_unreadable_values_raise(name: str, raw: str) -> None:
    run = compile_transforms([parse_transform(name)])
    assert run is not None
    with pytest.raises(Unreadable):
        run(raw)


@pytest.mark.parametrize(
    "transforms",
    [
        ["strip"],
        ["lower"],
        ["strip", "lower"],
        ["upper", "strip"],
        [{"truncate": 2}, "strip"],
        ["strip", {"truncate": 1}],
        ["lower", "upper", "strip"],
    ],
)
def test_a_text_only_reader_reads_as_the_general_one(transforms: list[Any]) -> None:
    specs = [parse_transform(t) for t in transforms]
    transform = compile_transforms(specs)
    fast = compile_reader(None, None, transform, specs)
    general = compile_reader(None, None, transform)  # without specs: transforms in turn
    for raw in ["", " ", "  Dana@Example.COM ", "ab", " a", "ß", None, 5, 5.0, True, T0]:
        assert fast(raw) == general(raw), raw
        assert type(fast(raw)) is type(general(raw)), raw


def test_read_applies_the_value_map_then_transforms(funnel: Funnel) -> None:
    assert mapping.read(funnel.fields["deal_stage"], SF, "Negotiation/Review") == "open"
    assert mapping.read(funnel.fields["recycle_reason"], SF, "Bad Timing") == "bad_timing"
    assert mapping.read(funnel.fields["employees"], HS, "500-1000") == 500.0
    assert mapping.read(funnel.fields["phone"], HS, "") is None


@pytest.mark.parametrize(
    ("field", "system", "canonical", "remote"),
    [
        ("source", SF, "paid_social", (True, "Web")),
        ("source", SF, "referrals", (True, "Partner Referral")),
        ("source", SF, "never_heard_of", (False, None)),  # no spelling: not written
        ("hubspot_score", HS, 72.0, (True, "72")),
        ("hubspot_score", HS, 72.5, (True, "72.5")),
        ("hubspot_score", SF, 72.0, (True, 72.0)),
        ("phone", HS, None, (True, "")),  # HubSpot clears with an empty string
        ("phone", SF, None, (True, None)),
        ("converted", HS, True, (True, "true")),
    ],
)
def test_write_gives_each_system_its_own_form(
    funnel: Funnel, field: str, system: System, canonical: Value, remote: tuple[bool, Value]
) -> None:
    assert mapping.write(funnel.fields[field], system, canonical) == remote


def test_remote_form_of_times() -> None:
    moment = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert mapping.remote_form(HS, moment) == "2026-03-02T09:30:00.000Z"
    assert mapping.remote_form(SF, date(2026, 3, 2)) == "2026-03-02"


# (field, direction as configured, stage, first change, second change, canonical value after both)
DIRECTIONS = [
    # two_way: the newest modification wins, whichever order the changes arrive in (story 9).
    ("phone", "lead", (HS, "+1 1", 2), (SF, "+1 2", 3), "+1 2"),
    ("phone", "lead", (SF, "+1 2", 3), (HS, "+1 1", 2), "+1 2"),
    # always_hubspot: Salesforce is never read.
    ("hubspot_score", "lead", (HS, "70", 1), (SF, "10", 2), 70.0),
    # always_salesforce: HubSpot is never read.
    ("sf_status", "mql", (SF, "Working", 1), (HS, "Open", 2), "Working"),
    # prefer_hubspot_unless_blank while marketing owns the lead ...
    ("company", "lead", (SF, "Acme", 1), (HS, "Acme Inc", 2), "Acme Inc"),
    ("company", "lead", (HS, "Acme Inc", 1), (SF, "ACME", 2), "Acme Inc"),
    ("company", "lead", (HS, "Acme Inc", 1), (HS, "", 2), "Acme Inc"),  # a blank never wins
    # ... and always_salesforce once sales owns it (ownership by stage).
    ("company", "sql", (HS, "Acme Inc", 1), (SF, "ACME Corp", 2), "ACME Corp"),
    ("company", "sql", (SF, "ACME Corp", 1), (HS, "Acme Inc", 2), "ACME Corp"),
]
REMOTE = {
    ("phone", HS): "phone",
    ("phone", SF): "Phone",
    ("hubspot_score", HS): "hubspotscore",
    ("hubspot_score", SF): "Score__c",
    ("sf_status", SF): "Status",
    ("sf_status", HS): "hs_lead_status",
    ("company", HS): "company",
    ("company", SF): "Company",
}


@pytest.mark.parametrize(("field", "stage", "first", "second", "expected"), DIRECTIONS)
def test_direction_rules(
    funnel: Funnel,
    field: str,
    stage: str,
    first: tuple[System, str, int],
    second: tuple[System, str, int],
    expected: Value,
) -> None:
    current = lead(stage)
    for system, value, day in (first, second):
        merged = mapping.merge(
            current, change(system, {REMOTE[(field, system)]: value}, day), funnel
        )
        current = Lead(
            current.id, stage, T0, fields=merged.fields, stamps=merged.stamps, seen=merged.seen
        )
    assert current.fields.get(field) == expected


def test_prefer_salesforce_unless_blank() -> None:
    texts = {name: shipped(name) for name in ("stages", "fields", "handoff", "scoring")}
    phone = "    salesforce: {Lead: Phone, Contact: Phone}\n    direction: "
    texts["fields"] = texts["fields"].replace(
        phone + "two_way", phone + "prefer_salesforce_unless_blank"
    )
    custom = funnel_from_texts(texts)
    current = lead()
    for system, value, day, expected in [
        (HS, "+1 1", 1, "+1 1"),  # nothing from Salesforce yet: HubSpot's stands
        (SF, "+1 2", 2, "+1 2"),  # Salesforce wins
        (HS, "+1 3", 3, "+1 2"),  # and keeps winning
        (SF, None, 4, "+1 2"),  # unless it is blank: its blank does not win either
    ]:
        remote = "phone" if system is HS else "Phone"
        merged = mapping.merge(current, change(system, {remote: value}, day), custom)
        current = Lead(
            current.id, "lead", T0, fields=merged.fields, stamps=merged.stamps, seen=merged.seen
        )
        assert current.fields.get("phone") == expected


def test_an_unchanged_value_in_a_full_record_does_not_win(funnel: Funnel) -> None:
    current = lead()
    first = mapping.merge(current, change(SF, {"Phone": "+1 old", "Company": "Acme"}, 1), funnel)
    current = Lead("lb-1", "lead", T0, fields=first.fields, stamps=first.stamps, seen=first.seen)
    edited = mapping.merge(current, change(HS, {"phone": "+1 new"}, 2), funnel)
    current = Lead("lb-1", "lead", T0, fields=edited.fields, stamps=edited.stamps, seen=edited.seen)
    # A later Salesforce record (someone edited another field) still carries the old phone.
    later = mapping.merge(current, change(SF, {"Phone": "+1 old", "Company": "Acme 2"}, 3), funnel)
    assert later.fields["phone"] == "+1 new"
    assert later.stamps["phone"] == Stamp(T0 + timedelta(days=2), HS)


def test_deals_are_kept_per_opportunity(funnel: Funnel) -> None:
    current = lead("opportunity")
    for opp, stage in [("006A", "Closed Won"), ("006B", "Prospecting"), ("006A", "Closed Won")]:
        ch = Change(SF, "Opportunity", opp, {"StageName": stage}, T0)
        merged = mapping.merge(current, ch, funnel)
        current = Lead(
            "lb-1", "opportunity", T0, fields=merged.fields, seen=merged.seen, deals=merged.deals
        )
    assert current.deals == {"006A": "won", "006B": "open"}
    assert current.fields["deal_stage"] == "open"  # the latest opportunity's


def test_an_unreadable_value_is_noted_and_read_as_blank(funnel: Funnel) -> None:
    merged = mapping.merge(lead(hubspot_score=70.0), change(HS, {"hubspotscore": "lots"}), funnel)
    assert merged.fields["hubspot_score"] is None
    assert merged.notes == (
        "hubspot_score: number: 'lots' is not a number (from hubspot hubspot-1)",
    )


def test_a_marketing_stage_lead_is_not_sent_to_salesforce(funnel: Funnel) -> None:
    desired = mapping.project(lead("lead", email="a@b.co", hubspot_score=20.0), funnel)
    assert set(desired) == {HS}
    assert desired[HS]["contact"]["lifecyclestage"] == "lead"
    assert desired[HS]["contact"]["leadbridge_stage"] == "lead"


def test_the_mql_handoff_creates_the_salesforce_lead(funnel: Funnel) -> None:
    desired = mapping.project(lead("mql", email="a@b.co", source="paid_social"), funnel)
    # No name or company known (an email-only form): Salesforce's required fields get the
    # shipped placeholder, and HubSpot never does.
    assert desired[SF]["Lead"] == {
        "Email": "a@b.co",
        "LeadSource": "Web",
        "Status": "Open",
        "LastName": "[not provided]",
        "Company": "[not provided]",
    }
    assert desired[HS]["contact"]["hs_lead_status"] == "NEW"
    assert "[not provided]" not in desired[HS]["contact"].values()


def test_a_placeholder_reads_as_blank_and_never_blanks_an_existing_record(
    funnel: Funnel,
) -> None:
    last_name = funnel.fields["last_name"]
    assert mapping.read(last_name, SF, "[not provided]") is None
    assert mapping.read(last_name, HS, "[not provided]") is None
    assert mapping.read(last_name, SF, "Lund") == "Lund"
    existing = Lead("lb-3", "mql", T0, identity=Identity("1", "00Q3"), fields={"email": "a@b.co"})
    assert "LastName" not in desired_lead(existing, funnel)
    assert "Company" not in desired_lead(existing, funnel)


def test_a_lead_created_straight_into_a_sales_stage_carries_what_sales_will_own(
    funnel: Funnel,
) -> None:
    # Once sales owns a lead, Salesforce wins Company and Title; a Lead created at sql
    # (a demo request) has none yet, so they are seeded from HubSpot's values.
    hand_raise = lead("sql", email="omar@x.co", company="Haddad Freight", title="COO")
    assert desired_lead(hand_raise, funnel)["Company"] == "Haddad Freight"
    assert desired_lead(hand_raise, funnel)["Title"] == "COO"
    existing = Lead(
        "lb-2",
        "sql",
        T0,
        identity=Identity("1", "00Q2"),
        fields={"email": "omar@x.co", "company": "Haddad Freight", "title": "COO"},
    )
    assert "Company" not in desired_lead(existing, funnel), "a rep's own Company is not touched"


def desired_lead(subject: Lead, funnel: Funnel) -> dict[str, Value]:
    return dict(mapping.project(subject, funnel)[SF]["Lead"])


def test_a_status_that_fits_the_stage_is_kept(funnel: Funnel) -> None:
    accepted = lead("sql", sf_status="Qualified", hs_lead_status="CONNECTED")
    desired = mapping.project(accepted, funnel)
    assert desired[SF]["Lead"]["Status"] == "Qualified"
    assert desired[HS]["contact"]["hs_lead_status"] == "CONNECTED"
    assert mapping.project(lead("sql", sf_status="Open"), funnel)[SF]["Lead"]["Status"] == "Working"


def test_a_converted_lead_is_written_through_its_contact(funnel: Funnel) -> None:
    converted = Lead(
        "lb-1",
        "opportunity",
        T0,
        identity=Identity("1", "00Q1", "003A"),
        fields={"email": "a@b.co", "converted": True, "title": "CFO", "sf_status": "Converted"},
    )
    desired = mapping.project(converted, funnel)
    assert set(desired[SF]) == {"Contact"}
    assert "Status" not in desired[SF]["Contact"]
    assert desired[HS]["contact"]["jobtitle"] == "CFO"


def test_a_blocked_system_gets_nothing(funnel: Funnel) -> None:
    competitor = Lead(
        "lb-1",
        "disqualified",
        T0,
        identity=Identity(salesforce_lead="00Q1"),
        blocked=frozenset({SF}),
        fields={"email": "x@rival.com"},
    )
    assert set(mapping.project(competitor, funnel)) == {HS}


def test_a_repeat_customer_shows_as_customer_in_hubspot(funnel: Funnel) -> None:
    desired = mapping.project(lead("repeat_customer"), funnel)[HS]["contact"]
    assert (desired["lifecyclestage"], desired["leadbridge_stage"]) == (
        "customer",
        "repeat_customer",
    )


@pytest.mark.parametrize(
    ("known", "wanted", "steps"),
    [
        ("marketingqualifiedlead", "lead", 2),  # backward: clear, then set
        ("lead", "marketingqualifiedlead", 1),
        ("other", "marketingqualifiedlead", 2),
        (None, "lead", 1),
        ("12345", "lead", 1),  # a custom stage whose place we do not know
    ],
)
def test_lifecycle_steps(funnel: Funnel, known: str | None, wanted: str, steps: int) -> None:
    fields = {"lifecyclestage": wanted, "email": "a@b.co"}
    found = mapping.lifecycle_steps(fields, known, funnel)
    assert len(found) == steps and found[-1] == fields
    if steps == 2:
        assert found[0] == {"lifecyclestage": ""}
