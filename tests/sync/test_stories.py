"""STORIES.md end to end: the real connectors, the sandbox, the `leadbridge` commands."""

from __future__ import annotations

from typing import Any

from tests.sync.conftest import DAY, World

DANA = "dana.whitaker@northwind.com"


def test_story_1_the_straight_path(world: World) -> None:
    marketer, rep = world.sandbox.hubspot.marketer, world.sandbox.salesforce.rep
    marketer.new_contact(
        DANA,
        "Dana",
        "Whitaker",
        company="Northwind",
        jobtitle="VP Ops",
        industry="LOGISTICS_AND_SUPPLY_CHAIN",
        numemployees=500,
        source="PAID_SOCIAL",
    )
    marketer.fill_form(DANA, "download")
    marketer.set_score(DANA, 35)
    world.sync()
    assert world.leads(DANA) == []  # a lead, not yet an MQL: Salesforce hears nothing
    world.later(DAY)
    marketer.set_score(DANA, 62)
    world.sync()
    sf_lead = world.lead(DANA)
    assert sf_lead["Status"] == "Open"
    assert world.contact(DANA)["lifecyclestage"] == "marketingqualifiedlead"
    world.later(DAY)
    rep.set_status(sf_lead["Id"], "Working")
    world.sync()
    assert world.contact(DANA)["lifecyclestage"] == "salesqualifiedlead"
    world.later(DAY)
    converted = rep.convert(sf_lead["Id"], amount=40000)
    world.sync()
    assert world.contact(DANA)["lifecyclestage"] == "opportunity"
    world.later(DAY)
    opportunity = converted["opportunity_id"]
    assert opportunity is not None
    rep.close_opportunity(opportunity, won=True)
    world.sync()
    assert world.contact(DANA)["lifecyclestage"] == "customer"
    assert "Customer since" in world.explain(DANA).splitlines()[0]
    # The form fill made her a HubSpot lead already: known_lead reads that.
    rules = ["known_lead", "score_and_fit", "sales_accepted", "opportunity_open", "closed_won"]
    assert [rule for _, _, rule, _ in world.moves(DANA)] == rules
    assert len(world.leads(DANA)) == 1


FIT: dict[str, Any] = {"industry": "COMPUTER_SOFTWARE", "numemployees": 200}


def test_story_2_the_hand_raise(world: World) -> None:
    marketer = world.sandbox.hubspot.marketer
    omar = "omar@harbor.io"
    contact = marketer.new_contact(omar, "Omar", "Haddad", company="Harbor")
    # The sandbox names its forms for people ("Demo request"); the mappings match the
    # internal value a portal's workflow sets, so the test sets that value itself.
    world.sandbox.hubspot.state.update_contact(
        contact, {"recent_conversion_event_name": "demo_request"}
    )
    world.sync()
    assert world.lead(omar)["Status"] == "Working"  # created already accepted
    assert world.contact(omar)["lifecyclestage"] == "salesqualifiedlead"
    assert [rule for _, _, rule, _ in world.moves(omar)][-1] == "demo_request"


def test_story_3_hand_back_with_reason_and_the_same_lead_reopened(world: World) -> None:
    marketer, rep = world.sandbox.hubspot.marketer, world.sandbox.salesforce.rep
    lee = "lee@meridian.de"
    marketer.new_contact(lee, "Lee", "Park", company="Meridian", **FIT)
    marketer.set_score(lee, 70)
    world.sync()
    first = world.lead(lee)
    assert first["Status"] == "Open"
    world.later(DAY)
    rep.set_status(first["Id"], "Recycled", reason="Bad Timing")
    world.sync()
    contact = world.contact(lee)
    assert (contact["lifecyclestage"], contact["hs_lead_status"]) == ("lead", "BAD_TIMING")
    assert contact["leadbridge_handback_reason"] == "bad_timing"
    world.later(60 * DAY)
    marketer.set_score(lee, 30)
    world.sync()
    world.later(60 * DAY)
    marketer.set_score(lee, 64)
    world.sync()
    again = world.lead(lee)  # exactly one Lead: the same one, reopened
    assert (again["Id"], again["Status"]) == (first["Id"], "Open")
    assert world.contact(lee)["lifecyclestage"] == "marketingqualifiedlead"
    moves = world.moves(lee)
    assert ("mql", "nurture", "sales_recycled", "bad_timing") in moves
    assert moves[-1][1:3] == ("mql", "re_engaged")
    # In plain words: the rep's change, the reason by its label, where it was made.
    assert (
        "MQL → Nurture: Status became one of Nurture, Recycled, reason Bad timing, "
        "by sales in Salesforce"
    ) in world.explain(lee)


def test_story_4_the_lost_deal(world: World) -> None:
    rep = world.sandbox.salesforce.rep
    priya = "priya@atlas.co.uk"
    born = rep.create_lead(last_name="Shah", company="Atlas", email=priya, status="Working")
    world.sync()
    assert world.contact(priya)["lifecyclestage"] == "salesqualifiedlead"  # upserted by email
    world.later(DAY)
    converted = rep.convert(born, amount=25000)
    world.sync()
    assert world.contact(priya)["lifecyclestage"] == "opportunity"
    world.later(30 * DAY)
    opportunity = converted["opportunity_id"]
    assert opportunity is not None
    rep.close_opportunity(opportunity, won=False, reason="Competitor")
    world.sync()
    contact = world.contact(priya)
    assert contact["lifecyclestage"] == "lead"
    assert (
        contact["leadbridge_handback_reason"] == "competitor"
    )  # a reason code, like every hand-back
    assert ("opportunity", "nurture", "deal_lost", "competitor") in world.moves(priya)


def test_story_5_a_competitor_never_reaches_salesforce(world: World) -> None:
    marketer = world.sandbox.hubspot.marketer
    spy = "spy@pipelinehq.com"
    marketer.new_contact(spy, "Sly", "Spy", company="PipelineHQ", **FIT)
    marketer.fill_form(spy, "download")
    marketer.set_score(spy, 90)
    world.sync()
    world.later(DAY)
    marketer.set_score(spy, 95)
    world.sync()
    assert world.leads(spy) == []
    contact = world.contact(spy)
    assert contact["leadbridge_handback_reason"] == "competitor"
    assert contact["leadbridge_stage"] == "disqualified"


def test_story_7_the_duplicate_trap_is_parked(world: World) -> None:
    rep = world.sandbox.salesforce.rep
    kim = "kim@orbit.io"
    first = rep.create_lead(last_name="Lee", company="Orbit", email=kim, status="Working")
    world.later(10)
    twin = rep.create_lead(last_name="Lee", company="Orbit Inc", email="Kim@Orbit.io")
    world.sync()
    listing = world.parked()
    reason = f"ambiguous match: 2 Salesforce leads share {kim}"
    assert f"Kim@Orbit.io  salesforce Lead {twin}  since" in listing  # as its change said
    assert f"{kim}  salesforce Lead {first}  since" in listing
    assert listing.count(f"why: {reason}") == 2
    assert "to clear: in Salesforce, merge or delete the duplicate" in listing
    assert "0 (0 calls), salesforce 0 (0 calls); parked: 2" in world.sync()
    assert len(world.leads(kim)) == 2  # nothing merged, nothing guessed
    assert world.sandbox.hubspot.state.find_by_email(kim) is None  # nothing written for Kim


def test_story_9_both_sides_change_and_the_newest_wins_once(world: World) -> None:
    marketer, org = world.sandbox.hubspot.marketer, world.sandbox.salesforce
    ana = "ana@vertex.io"
    marketer.new_contact(ana, "Ana", "Reyes", company="Vertex", **FIT)
    marketer.set_score(ana, 75)
    world.sync()
    lead = world.lead(ana)["Id"]
    world.later(DAY)
    marketer.edit(ana, phone="+1 555 0001")
    world.later(30)
    org.state.update("Lead", lead, {"Phone": "+1 555 0002"}, actor=org.rep.user_id)
    world.sync()
    assert world.contact(ana)["phone"] == "+1 555 0002"
    assert world.lead(ana)["Phone"] == "+1 555 0002"
    for _ in range(2):  # the loser was overwritten once: no ping-pong after
        assert "written: hubspot 0 (0 calls), salesforce 0 (0 calls)" in world.sync()
