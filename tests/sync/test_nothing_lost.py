"""Issue 12: the ways a change or a lead went missing, each as the story that lost it."""

from __future__ import annotations

from tests.sync.conftest import DAY, World

KIM = "kim@orbit.io"
NOOR = "noor.haddad@meridian-freight.com"


def test_story_10_the_fixed_duplicate_brings_the_lead_back(world: World) -> None:
    """Both twins arrive in one poll, both parked; the person deletes one; Kim comes back
    with every change that waited, without the surviving record changing again."""
    rep, org = world.sandbox.salesforce.rep, world.sandbox.salesforce
    first = rep.create_lead(last_name="Lee", company="Orbit", email=KIM, status="Working")
    world.later(10)
    twin = rep.create_lead(last_name="Lee", company="Orbit Inc", email="Kim@Orbit.io")
    world.sync()
    assert f"salesforce Lead {first}  since" in world.parked()
    world.later(DAY)
    org.state.delete("Lead", twin)  # the person's fix
    world.sync()
    assert world.parked().strip() == "nothing is parked"
    assert ("salesforce", "Lead", first) in world.records(KIM)
    # The change that waited was decided.
    assert "sales_accepted" in [rule for _, _, rule, _ in world.moves(KIM)]
    assert world.contact(KIM)["lifecyclestage"] == "salesqualifiedlead"
    assert len(world.leads(KIM)) == 1


def test_story_11_born_in_salesforce_revived_in_hubspot_by_one_rescore(world: World) -> None:
    rep, marketer = world.sandbox.salesforce.rep, world.sandbox.hubspot.marketer
    noor = rep.create_lead(
        first_name="Noor", last_name="Haddad", company="Meridian Freight", email=NOOR
    )
    world.sync()
    assert world.contact(NOOR)["lifecyclestage"]  # the sync made her contact
    world.later(DAY)
    rep.set_status(noor, "Disqualified", reason="Other")
    world.sync()
    assert world.contact(NOOR)["hs_lead_status"] == "UNQUALIFIED"
    assert "→ Disqualified: Status became Disqualified" in world.explain(NOOR)
    world.later(90 * DAY)
    marketer.edit(NOOR, industry="LOGISTICS_AND_SUPPLY_CHAIN", numemployees="100-500")
    marketer.set_score(NOOR, 80)  # one re-score, the first crossing
    world.sync()
    assert world.moves(NOOR)[-1][1:3] == ("mql", "re_engaged")
    assert world.contact(NOOR)["lifecyclestage"] == "marketingqualifiedlead"
    assert world.lead(NOOR)["Status"] != "Disqualified"
