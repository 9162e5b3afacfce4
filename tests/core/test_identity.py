"""Identity, table-driven: each precedence case, conversion, merges on either side, ambiguity."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadbridge.connectors.base import Removal
from leadbridge.core.identity import (
    Found,
    LeadRef,
    Record,
    Resolution,
    Verdict,
    converted,
    email_of,
    fold,
    native_ids,
    resolve,
)
from leadbridge.model import Change, Identity, System, Value
from tests.conftest import T0

HS, SF = System.HUBSPOT, System.SALESFORCE
LINKED, NEW, AMBIGUOUS = Verdict.LINKED, Verdict.NEW, Verdict.AMBIGUOUS


def contact(**fields: Value) -> Change:
    return Change(HS, "contact", "H9", {"email": "Kim@X.com ", **fields}, T0)


def sf_lead(**fields: Value) -> Change:
    return Change(SF, "Lead", "00Q9", {"Email": "kim@x.com", **fields}, T0)


def lead(system: System, obj: str, record: str, lead_id: str | None, **identity: str) -> Record:
    return Record(system, obj, record, lead_id, Identity(**identity))


class Case(NamedTuple):
    found: Found
    verdict: Verdict
    lead_id: str | None
    identity: Identity
    reason: str


CASES = {
    "the stored link beats every other clue": Case(
        Found(
            contact(salesforceleadid="00Q5"),
            linked="L1",
            native=(lead(SF, "Lead", "00Q5", "L5"),),
            by_email=(lead(SF, "Lead", "00Q6", None), lead(SF, "Lead", "00Q7", None)),
        ),
        LINKED,
        "L1",
        Identity(hubspot="H9"),
        "stored link",
    ),
    "the native id field names a linked record": Case(
        Found(contact(salesforceleadid="00Q5"), native=(lead(SF, "Lead", "00Q5", "L5"),)),
        LINKED,
        "L5",
        Identity(hubspot="H9", salesforce_lead="00Q5"),
        "native id field",
    ),
    "the native id field pairs two new records": Case(
        Found(sf_lead(HubSpot_Contact_Id__c="H3"), native=(lead(HS, "contact", "H3", None),)),
        NEW,
        None,
        Identity(hubspot="H3", salesforce_lead="00Q9"),
        "native id field",
    ),
    "the native id field beats the external id and the email": Case(
        Found(
            sf_lead(HubSpot_Contact_Id__c="H3", Leadbridge_Id__c="lb-L4"),
            native=(lead(HS, "contact", "H3", "L3", hubspot="H3"),),
            external=lead(SF, "Lead", "00Q9", "L4"),
            by_email=(lead(HS, "contact", "H4", "L4"),),
        ),
        LINKED,
        "L3",
        Identity(hubspot="H3", salesforce_lead="00Q9"),
        "native id field",
    ),
    "our external id names the lead": Case(
        Found(sf_lead(Leadbridge_Id__c="lb-L4"), external=lead(SF, "Lead", "00Q9", "L4")),
        LINKED,
        "L4",
        Identity(salesforce_lead="00Q9"),
        "external id",
    ),
    "the external id beats an ambiguous email": Case(
        Found(
            sf_lead(Leadbridge_Id__c="lb-L4"),
            external=lead(SF, "Lead", "00Q9", "L4", hubspot="H4"),
            by_email=(lead(HS, "contact", "H4", "L4"), lead(HS, "contact", "H5", None)),
        ),
        LINKED,
        "L4",
        Identity(salesforce_lead="00Q9"),
        "external id",
    ),
    "one email match, linked": Case(
        Found(contact(), by_email=(lead(SF, "Lead", "00Q1", "L1", salesforce_lead="00Q1"),)),
        LINKED,
        "L1",
        Identity(hubspot="H9", salesforce_lead="00Q1"),
        "email kim@x.com",
    ),
    "one email match, not linked yet": Case(
        Found(contact(), by_email=(lead(SF, "Lead", "00Q1", None),)),
        NEW,
        None,
        Identity(hubspot="H9", salesforce_lead="00Q1"),
        "email kim@x.com",
    ),
    "a converted Lead and its Contact are one person": Case(
        Found(
            contact(),
            by_email=(lead(SF, "Lead", "00Q1", "L1"), lead(SF, "Contact", "003C", "L1")),
        ),
        LINKED,
        "L1",
        Identity(hubspot="H9", salesforce_lead="00Q1", salesforce_contact="003C"),
        "email kim@x.com",
    ),
    "no match": Case(Found(contact()), NEW, None, Identity(hubspot="H9"), "no match"),
    "no email, no match": Case(
        Found(contact(email=""), by_email=(lead(SF, "Lead", "00Q1", "L1"),)),
        NEW,
        None,
        Identity(hubspot="H9"),
        "no match",
    ),
    "two Salesforce leads share one email": Case(
        Found(contact(), by_email=(lead(SF, "Lead", "00Q1", None), lead(SF, "Lead", "00Q2", "L2"))),
        AMBIGUOUS,
        None,
        Identity(hubspot="H9"),
        "ambiguous match: 2 Salesforce leads share kim@x.com",
    ),
    "two HubSpot contacts share one email": Case(
        Found(
            sf_lead(), by_email=(lead(HS, "contact", "H1", None), lead(HS, "contact", "H2", None))
        ),
        AMBIGUOUS,
        None,
        Identity(salesforce_lead="00Q9"),
        "ambiguous match: 2 HubSpot contacts share kim@x.com",
    ),
    "a Lead and an unrelated Contact share one email": Case(
        Found(
            contact(), by_email=(lead(SF, "Lead", "00Q1", None), lead(SF, "Contact", "003C", None))
        ),
        AMBIGUOUS,
        None,
        Identity(hubspot="H9"),
        "ambiguous match: 2 Salesforce records share kim@x.com",
    ),
    "the email's lead is already linked to another HubSpot contact": Case(
        Found(contact(), by_email=(lead(SF, "Lead", "00Q1", "L1", hubspot="H1"),)),
        AMBIGUOUS,
        None,
        Identity(hubspot="H9"),
        "ambiguous match: email kim@x.com points at lead L1, already linked to HubSpot contact H1",
    ),
    "the native ids name two leads": Case(
        Found(
            contact(salesforceleadid="00Q1", salesforcecontactid="003C"),
            native=(lead(SF, "Contact", "003C", "L2"), lead(SF, "Lead", "00Q1", "L1")),
        ),
        AMBIGUOUS,
        None,
        Identity(hubspot="H9"),
        "ambiguous match: native id field names leads L1, L2",
    ),
    "an Opportunity we hold": Case(
        Found(Change(SF, "Opportunity", "006A", {"StageName": "Closed Won"}, T0), linked="L1"),
        LINKED,
        "L1",
        Identity(),
        "stored link",
    ),
    "an Opportunity no lead holds starts nothing": Case(
        Found(Change(SF, "Opportunity", "006A", {"StageName": "Closed Won"}, T0)),
        Verdict.UNRELATED,
        None,
        Identity(),
        "no lead is linked to salesforce Opportunity 006A",
    ),
    "a conversion re-keys the lead to its Contact": Case(
        Found(sf_lead(IsConverted=True, ConvertedContactId="003C"), linked="L1"),
        LINKED,
        "L1",
        Identity(salesforce_lead="00Q9", salesforce_contact="003C"),
        "stored link",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_resolve(case: Case) -> None:
    assert resolve(case.found) == Resolution(case.verdict, case.lead_id, case.identity, case.reason)


def test_what_the_sync_looks_up() -> None:
    change = contact(salesforceleadid=" 00Q1 ", salesforcecontactid="")
    assert native_ids(change) == [(SF, "Lead", "00Q1")]
    assert native_ids(sf_lead(HubSpot_Contact_Id__c="H3")) == [(HS, "contact", "H3")]
    assert email_of(change) == "kim@x.com" and email_of(contact(email=None)) is None


@pytest.mark.parametrize(
    ("fields", "contact_id"),
    [
        ({"IsConverted": True, "ConvertedContactId": "003C"}, "003C"),
        ({"IsConverted": "true", "ConvertedContactId": "003C"}, "003C"),
        ({"IsConverted": False, "ConvertedContactId": None}, None),
        ({"IsConverted": True, "ConvertedContactId": ""}, None),
    ],
    ids=["converted", "converted as text", "not converted", "no contact yet"],
)
def test_conversion_keeps_the_lead_id_as_history(
    fields: dict[str, Value], contact_id: str | None
) -> None:
    before = Identity(hubspot="H1", salesforce_lead="00Q9")
    after = converted(before, sf_lead(**fields))
    assert after == Identity(hubspot="H1", salesforce_lead="00Q9", salesforce_contact=contact_id)
    assert converted(before, contact(IsConverted=True, ConvertedContactId="003C")) == before


OLD, YOUNG = T0, T0 + timedelta(days=3)


class MergeCase(NamedTuple):
    removal: Removal
    gone: LeadRef
    kept: LeadRef | None
    survivor: str
    identity: Identity
    absorbed: str | None
    dropped: tuple[tuple[System, str, str], ...] = ()


def hs_merge(old: str, into: str) -> Removal:
    return Removal(HS, "contact", old, T0, merged_into=into)


def sf_merge(old: str, into: str) -> Removal:
    return Removal(SF, "Lead", old, T0, merged_into=into)


MERGES = {
    "HubSpot: the lead linked to Salesforce survives": MergeCase(
        hs_merge("H2", "H1"),
        LeadRef("L2", Identity(hubspot="H2"), OLD),
        LeadRef("L1", Identity(hubspot="H1", salesforce_lead="00Q1"), YOUNG),
        "L1",
        Identity(hubspot="H1", salesforce_lead="00Q1"),
        "L2",
    ),
    "HubSpot: the merged-away side may be the one in Salesforce": MergeCase(
        hs_merge("H2", "H1"),
        LeadRef("L2", Identity(hubspot="H2", salesforce_lead="00Q2"), YOUNG),
        LeadRef("L1", Identity(hubspot="H1"), OLD),
        "L2",
        Identity(hubspot="H1", salesforce_lead="00Q2"),
        "L1",
    ),
    "HubSpot: neither in Salesforce, the older survives": MergeCase(
        hs_merge("H2", "H1"),
        LeadRef("L2", Identity(hubspot="H2"), OLD),
        LeadRef("L1", Identity(hubspot="H1"), YOUNG),
        "L2",
        Identity(hubspot="H1"),
        "L1",
    ),
    "HubSpot: both in Salesforce, the other Lead is left for a person": MergeCase(
        hs_merge("H2", "H1"),
        LeadRef("L2", Identity(hubspot="H2", salesforce_lead="00Q2"), YOUNG),
        LeadRef("L1", Identity(hubspot="H1", salesforce_lead="00Q1"), OLD),
        "L1",
        Identity(hubspot="H1", salesforce_lead="00Q1"),
        "L2",
        ((SF, "Lead", "00Q2"),),
    ),
    "Salesforce: two Leads merged, the HubSpot contact carried over": MergeCase(
        sf_merge("00Q2", "00Q1"),
        LeadRef("L2", Identity(hubspot="H2", salesforce_lead="00Q2"), YOUNG),
        LeadRef("L1", Identity(salesforce_lead="00Q1"), OLD),
        "L1",
        Identity(hubspot="H2", salesforce_lead="00Q1"),
        "L2",
    ),
    "Salesforce: merged into a Lead we never linked": MergeCase(
        sf_merge("00Q2", "00Q1"),
        LeadRef("L2", Identity(hubspot="H2", salesforce_lead="00Q2"), OLD),
        None,
        "L2",
        Identity(hubspot="H2", salesforce_lead="00Q1"),
        None,
    ),
    "both records were already the same lead": MergeCase(
        hs_merge("H2", "H1"),
        LeadRef("L1", Identity(hubspot="H2"), OLD),
        LeadRef("L1", Identity(hubspot="H2"), OLD),
        "L1",
        Identity(hubspot="H1"),
        None,
    ),
}


@pytest.mark.parametrize("case", MERGES.values(), ids=MERGES.keys())
def test_merges_fold_two_leads(case: MergeCase) -> None:
    result = fold(case.removal, case.gone, case.kept)
    assert (result.survivor, result.identity, result.absorbed, result.dropped) == (
        case.survivor,
        case.identity,
        case.absorbed,
        case.dropped,
    )
    assert bool(result.reason) == bool(case.dropped)
    if case.dropped:
        assert result.reason == (
            "lead L2 was merged into lead L1, which cannot also hold Salesforce Lead 00Q2 "
            "(it keeps Salesforce Lead 00Q1): merge those records too"
        )


def test_a_deletion_is_not_a_merge() -> None:
    with pytest.raises(ValueError, match="not merged"):
        fold(Removal(HS, "contact", "H2", T0), LeadRef("L2", Identity(hubspot="H2"), OLD), None)


@st.composite
def found(draw: st.DrawFn) -> Found:
    """Clues that agree with themselves: each lead has one identity, shared by its records."""
    holds = {n: Identity(hubspot=draw(st.sampled_from([None, "H9", "H1"]))) for n in ("L1", "L2")}

    def records(max_size: int) -> tuple[Record, ...]:
        drawn = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["Lead", "Contact"]),
                    st.sampled_from(["00Q1", "00Q2", "003C"]),
                    st.sampled_from([None, "L1", "L2"]),
                ),
                max_size=max_size,
            )
        )
        return tuple(
            Record(SF, obj, rid, lid, holds[lid] if lid else Identity()) for obj, rid, lid in drawn
        )

    change = contact(salesforceleadid=draw(st.sampled_from(["", "00Q1"])))
    linked = draw(st.sampled_from([None, "L7"]))
    return Found(change, linked, native=records(2), by_email=records(3))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(found())
def test_the_strongest_clue_decides_and_nothing_is_guessed(found: Found) -> None:
    result = resolve(found)
    clue = found.native if found.native else found.by_email
    if found.linked is not None:
        assert (result.verdict, result.lead_id) == (LINKED, "L7")
        return
    assert result.identity.hubspot == "H9"  # the change's own record is always named
    if result.verdict is LINKED:
        assert {r.lead_id for r in clue if r.lead_id} == {result.lead_id}
        assert all(r.lead_identity.hubspot in (None, "H9") for r in clue if r.lead_id)
    elif result.verdict is NEW:
        assert all(r.lead_id is None for r in clue)
    else:
        assert result.verdict is AMBIGUOUS and result.reason.startswith("ambiguous match: ")
        assert result.identity == Identity(hubspot="H9") and result.lead_id is None
