"""Records that leave their system: merges fold leads, deletions are not undone by us, and a
duplicate trap holds the lead until a person deletes one of the twins (story 7, later)."""

from __future__ import annotations

from leadbridge.model import Hint, System
from leadbridge.store import Store
from tests.sync.conftest import DAY, World
from tests.sync.test_stories import FIT


def _lead_of(world: World, key: str) -> str:
    lead_id: str = world.story(key)["lead_id"]
    return lead_id


def test_a_hubspot_merge_folds_the_two_leads_into_the_one_in_salesforce(world: World) -> None:
    marketer, hubspot = world.sandbox.hubspot.marketer, world.sandbox.hubspot.state
    ana, work = "ana@quay.io", "ana.work@quay.io"
    kept = marketer.new_contact(ana, "Ana", "Ruiz", company="Quay", **FIT)
    marketer.set_score(ana, 70)  # MQL: she gets a Salesforce Lead
    gone = marketer.new_contact(work, "Ana", "Ruiz", company="Quay")
    world.sync()
    assert world.lead(ana)["Status"] == "Open"
    assert _lead_of(world, work) != _lead_of(world, ana)
    world.later(DAY)
    hubspot.merge_contacts(kept, gone)
    summary = world.sync()
    # One lead answers for both HubSpot ids now: the one Salesforce knows.
    assert _lead_of(world, str(gone)) == _lead_of(world, ana)
    # ... with one HubSpot contact: the one the merge left.
    assert [found[0] for found in world.records(str(gone))].count("hubspot") == 1
    assert len(world.leads(ana)) == 1 and world.leads(work) == []
    assert "parked: 0" in summary, world.parked()
    assert "0 (0 calls), salesforce 0 (0 calls)" in world.sync()  # nothing more to write


def test_a_lead_sales_deleted_is_not_created_again(world: World) -> None:
    marketer, org = world.sandbox.hubspot.marketer, world.sandbox.salesforce
    lee = "lee@harbor.de"
    marketer.new_contact(lee, "Lee", "Park", company="Harbor", **FIT)
    marketer.set_score(lee, 70)
    world.sync()
    deleted = world.lead(lee)["Id"]
    world.later(DAY)
    org.state.delete("Lead", deleted)
    world.sync()
    world.later(DAY)
    marketer.edit(lee, phone="+49 30 1234")  # a change, but not a move: no reason to re-create
    world.sync()
    assert world.leads(lee) == []
    # Out of the lead's identity.
    assert [found for found in world.records(lee) if found[:2] == ("salesforce", "Lead")] == []
    assert "written: hubspot 0 (0 calls), salesforce 0 (0 calls)" in world.sync()
    # Sales enters Lee again: the new Lead joins the lead by email, and the block is gone
    # with the reason for it (it was never stored on the lead, only derived from the links).
    world.later(DAY)
    again = org.rep.create_lead(last_name="Park", company="Harbor", email=lee, status="Working")
    world.sync()
    assert ("salesforce", "Lead", again) in world.records(lee)
    world.later(DAY)
    marketer.edit(lee, phone="+49 30 9876")
    world.sync()
    assert world.lead(lee)["Phone"] == "+49 30 9876"  # written to the new Lead


def test_a_duplicate_arriving_later_holds_the_lead_until_a_person_deletes_it(
    world: World,
) -> None:
    rep, org = world.sandbox.salesforce.rep, world.sandbox.salesforce
    kim = "kim@orbit.io"
    first = rep.create_lead(last_name="Lee", company="Orbit", email=kim, status="Open")
    world.sync()
    before = world.contact(kim)["lifecyclestage"]
    assert before != "salesqualifiedlead"
    world.later(DAY)
    twin = rep.create_lead(last_name="Lee", company="Orbit Inc", email="Kim@Orbit.io")
    world.sync()
    listing = world.parked()
    assert f"salesforce Lead {twin}  since" in listing
    assert f"salesforce Lead {first}  since" in listing
    assert listing.count("why: ambiguous match") == 2
    world.later(DAY)
    rep.set_status(first, "Working")  # sales accepts... but which Kim?
    summary = world.sync()
    assert "written: hubspot 0 (0 calls), salesforce 0 (0 calls)" in summary
    assert world.contact(kim)["lifecyclestage"] == before
    world.later(DAY)
    org.state.delete("Lead", twin)  # the person's fix: the duplicate goes
    world.sync()
    assert world.parked().strip() == "nothing is parked"
    assert world.contact(kim)["lifecyclestage"] == "salesqualifiedlead"  # the wait is over
    assert "sales_accepted" in [rule for _, _, rule, _ in world.moves(kim)]


def test_a_hubspot_contact_archived_is_followed_from_its_webhook(world: World) -> None:
    marketer, hubspot = world.sandbox.hubspot.marketer, world.sandbox.hubspot.state
    sam = "sam@delta.io"
    contact = marketer.new_contact(sam, "Sam", "Ode", company="Delta", **FIT)
    marketer.set_score(sam, 70)
    world.sync()
    assert world.lead(sam)["Status"] == "Open"
    world.later(DAY)
    hubspot.archive_contact(contact)
    # Search never shows an archived contact: only a webhook tells, and the hint is read by id.
    with Store.open(world.database) as store, store.transaction() as uow:
        uow.hints.add([Hint(System.HUBSPOT, "contact", str(contact), world.sandbox.clock.now())])
    world.sync()
    # Out of the lead's identity.
    assert [found for found in world.records(sam) if found[0] == "hubspot"] == []
    world.later(DAY)
    world.sandbox.salesforce.rep.set_status(world.lead(sam)["Id"], "Working")
    world.sync()
    # The lead moved on in Salesforce; HubSpot is not re-created behind marketing's back.
    assert hubspot.find_by_email(sam) is None
    assert "sales_accepted" in [rule for _, _, rule, _ in world.moves(sam)]
