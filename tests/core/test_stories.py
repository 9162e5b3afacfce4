"""The stories of STORIES.md, told through decide as the sync will tell them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from leadbridge.config import Funnel
from leadbridge.core import mapping
from leadbridge.core.engine import decide, new_lead
from leadbridge.model import Change, Decision, Identity, System, Value
from tests.conftest import T0

HS, SF = System.HUBSPOT, System.SALESFORCE


class Journal:
    """Feeds one person's changes through decide, as the sync will, and keeps what came out."""

    def __init__(self, funnel: Funnel) -> None:
        self.funnel = funnel
        self.lead = new_lead(funnel, "lb-1", T0)
        self.decisions: list[Decision] = []

    def change(
        self, day: float, system: System, obj: str, fields: dict[str, Value], record: str = ""
    ) -> Decision:
        now = T0 + timedelta(days=day)
        record = record or {"contact": "101", "Lead": "00Q1", "Opportunity": "006A"}[obj]
        decision = decide(self.lead, Change(system, obj, record, fields, now), self.funnel, now)
        self.decisions.append(decision)
        # The sync links the records it creates; here every record exists once it is desired.
        ids = self.lead.identity
        self.lead = replace(
            decision.lead,
            identity=Identity(
                hubspot="101" if HS in decision.desired else ids.hubspot,
                salesforce_lead="00Q1" if SF in decision.desired else ids.salesforce_lead,
            ),
        )
        return decision

    @property
    def path(self) -> list[tuple[str, str, str]]:
        return [(t.from_stage, t.to_stage, t.rule) for d in self.decisions for t in d.transitions]


DANA = {
    "email": "dana.whitaker@northwind.com",
    "firstname": "Dana",
    "company": "Northwind",
    "industry": "LOGISTICS_AND_SUPPLY_CHAIN",
    "numemployees": "500-1000",
    "hs_analytics_source": "PAID_SOCIAL",
}


def test_story_1_the_straight_path(funnel: Funnel) -> None:
    dana = Journal(funnel)
    dana.change(
        0, HS, "contact", {**DANA, "recent_conversion_event_name": "download", "hubspotscore": "10"}
    )
    dana.change(9, HS, "contact", {**DANA, "hubspotscore": "35"})
    mql = dana.change(20, HS, "contact", {**DANA, "hubspotscore": "62"})
    assert mql.desired[SF]["Lead"]["Status"] == "Open"
    assert mql.desired[SF]["Lead"]["LeadSource"] == "Web"
    dana.change(21, SF, "Lead", {"Email": DANA["email"], "Status": "Working"})
    dana.change(30, SF, "Lead", {"IsConverted": True, "ConvertedOpportunityId": "006A"})
    dana.change(30, SF, "Opportunity", {"StageName": "Prospecting", "Amount": 40000})
    won = dana.change(60, SF, "Opportunity", {"StageName": "Closed Won"})
    assert dana.path == [
        ("subscriber", "lead", "responded"),
        ("lead", "mql", "score_and_fit"),
        ("mql", "sql", "sales_accepted"),
        ("sql", "opportunity", "opportunity_open"),
        ("opportunity", "customer", "closed_won"),
    ]
    assert won.desired[HS]["contact"]["lifecyclestage"] == "customer"
    assert set(won.desired[SF]) == {"Contact"}  # a converted Lead is written through its Contact
    assert dana.lead.fields["source"] == "paid_social"
    assert all(t.cause.system for d in dana.decisions for t in d.transitions)


def test_story_2_the_hand_raise(funnel: Funnel) -> None:
    omar = Journal(funnel)
    decision = omar.change(
        0,
        HS,
        "contact",
        {"email": "omar@harbor.io", "recent_conversion_event_name": "demo_request"},
    )
    assert omar.path == [("subscriber", "sql", "demo_request")]
    assert decision.desired[SF]["Lead"]["Status"] == "Working"  # created already accepted
    assert decision.desired[HS]["contact"]["lifecyclestage"] == "salesqualifiedlead"


def test_story_3_the_hand_back_and_the_return(funnel: Funnel) -> None:
    lee = Journal(funnel)
    lee.change(0, HS, "contact", {"email": "lee@meridian.de", "hubspotscore": "70", **FIT_REMOTE})
    lee.change(1, SF, "Lead", {"Email": "lee@meridian.de", "Status": "Open"})
    back = lee.change(3, SF, "Lead", {"Status": "Recycled", "Recycle_Reason__c": "Bad Timing"})
    assert back.transitions[0].reason == "bad_timing"
    contact = back.desired[HS]["contact"]
    assert (contact["lifecyclestage"], contact["hs_lead_status"]) == ("lead", "BAD_TIMING")
    assert contact["leadbridge_handback_reason"] == "bad_timing"
    steps = mapping.lifecycle_steps(contact, "marketingqualifiedlead", funnel)
    assert steps[0] == {"lifecyclestage": ""}  # HubSpot's lifecycle goes back: cleared, then set
    assert back.desired[SF]["Lead"]["Status"] == "Recycled"  # the rep's value stands
    lee.change(60, HS, "contact", {"hubspotscore": "30"})  # the score decays ...
    again = lee.change(120, HS, "contact", {"hubspotscore": "64"})  # ... and passes again
    assert again.transitions[0].rule == "re_engaged"
    assert again.desired[SF]["Lead"]["Status"] == "Open"  # the same Lead, reopened
    assert lee.lead.identity.salesforce_lead == "00Q1"
    assert [t[1] for t in lee.path] == ["mql", "nurture", "mql"]


FIT_REMOTE = {"industry": "COMPUTER_SOFTWARE", "numemployees": "100-500"}


def test_story_4_the_lost_deal(funnel: Funnel) -> None:
    priya = Journal(funnel)
    priya.change(0, SF, "Lead", {"Email": "priya@atlas.co.uk", "Status": "Working"})
    priya.change(5, SF, "Lead", {"IsConverted": True, "ConvertedOpportunityId": "006A"})
    lost = priya.change(
        40, SF, "Opportunity", {"StageName": "Closed Lost", "Loss_Reason__c": "Chose a competitor"}
    )
    assert (lost.lead.stage, lost.transitions[0].reason) == ("nurture", "Chose a competitor")
    assert lost.desired[HS]["contact"]["leadbridge_handback_reason"] == "Chose a competitor"


def test_story_5_the_competitor(funnel: Funnel) -> None:
    rival = Journal(funnel)
    for day, score in enumerate(["20", "55", "90"]):
        decision = rival.change(
            day, HS, "contact", {"email": "spy@pipelinehq.com", "hubspotscore": score, **FIT_REMOTE}
        )
        assert SF not in decision.desired  # never created in Salesforce
    assert rival.path == [("subscriber", "disqualified", "competitor")]
    assert rival.lead.fields["handback_reason"] == "competitor"


def test_story_6_a_stuck_mql_keeps_its_stage_entry(funnel: Funnel) -> None:
    sam = Journal(funnel)
    sam.change(0, HS, "contact", {"email": "sam@lumen.com", "hubspotscore": "80", **FIT_REMOTE})
    entered = sam.lead.stage_entered_at
    sam.change(2, HS, "contact", {"phone": "+1 555 0100"})
    sam.change(4, HS, "contact", {"hubspotscore": "85"})
    assert (sam.lead.stage, sam.lead.stage_entered_at) == ("mql", entered)
    sam.change(5, SF, "Lead", {"Status": "Working"})
    assert sam.lead.stage == "sql" and sam.lead.stage_entered_at == T0 + timedelta(days=5)


def test_story_9_both_sides_change(funnel: Funnel) -> None:
    ana = Journal(funnel)
    ana.change(
        0, HS, "contact", {"email": "ana@vertex.io", "recent_conversion_event_name": "demo_request"}
    )
    ana.change(1, SF, "Lead", {"Email": "ana@vertex.io", "Phone": "+1 0"})
    ana.change(2.1, SF, "Lead", {"Phone": "+1 sales"})
    last = ana.change(2.0, HS, "contact", {"phone": "+1 marketing"})  # older, arrives later
    assert last.desired[HS]["contact"]["phone"] == "+1 sales"
    assert last.desired[SF]["Lead"]["Phone"] == "+1 sales"
    echo = ana.change(2.2, HS, "contact", {"phone": "+1 sales"})  # our own write coming back
    assert echo.desired == last.desired and not echo.transitions
