"""The marketer persona, in Python and over /_sandbox/marketer: ordinary, visible changes."""

from __future__ import annotations

import pytest
import requests

from tests.sandbox import hubspot_fixtures as fx

portal = fx.portal
Portal = fx.Portal


def _props(portal: Portal, contact_id: str) -> dict[str, str]:
    contact = portal.sim.state.get_contact(contact_id)
    assert contact is not None
    properties: dict[str, str] = contact["properties"]
    return properties


def test_new_contact_is_a_subscriber_with_a_source_and_an_employee_band(portal: Portal) -> None:
    contact_id = portal.sim.marketer.new_contact(
        "Lin@Example.com",
        "Lin",
        "Park",
        company="Parkworks",
        jobtitle="CTO",
        industry="Software",
        numemployees=240,
        source="paid_social",
    )
    props = _props(portal, contact_id)
    assert props["email"] == "lin@example.com" and props["lifecyclestage"] == "subscriber"
    assert props["numemployees"] == "100-500"
    assert props["hs_analytics_source"] == "PAID_SOCIAL"
    api_view = portal.client.crm.contacts.basic_api.get_by_id(contact_id, properties=["company"])
    assert api_view.properties["company"] == "Parkworks"


def test_form_fills_count_conversions_and_turn_a_subscriber_into_a_lead(portal: Portal) -> None:
    marketer = portal.sim.marketer
    contact_id = marketer.new_contact("sam@example.com", "Sam", "Roe")
    before = _props(portal, contact_id)["lastmodifieddate"]
    portal.clock.advance(3600)
    assert marketer.fill_form("sam@example.com", "download") == contact_id
    first = _props(portal, contact_id)
    assert first["lifecyclestage"] == "lead"
    assert first["num_conversion_events"] == "1"
    assert first["first_conversion_event_name"] == first["recent_conversion_event_name"]
    assert first["lastmodifieddate"] > before
    portal.clock.advance(3600)
    marketer.fill_form(contact_id, "demo_request")
    second = _props(portal, contact_id)
    assert second["num_conversion_events"] == "2"
    assert second["recent_conversion_event_name"] == "Demo request"
    assert second["first_conversion_event_name"] == "Ebook download"
    assert second["recent_conversion_date"] > first["recent_conversion_date"]
    assert second["first_conversion_date"] == first["first_conversion_date"]


def test_a_form_from_an_unknown_address_creates_a_lead(portal: Portal) -> None:
    contact_id = portal.sim.marketer.fill_form(
        "walk.in@example.com", "contact_sales", firstname="W"
    )
    props = _props(portal, contact_id)
    assert (props["lifecyclestage"], props["firstname"], props["num_conversion_events"]) == (
        "lead",
        "W",
        "1",
    )


def test_a_form_never_moves_a_later_stage_back(portal: Portal) -> None:
    marketer = portal.sim.marketer
    contact_id = marketer.new_contact("opp@example.com", lifecyclestage="opportunity")
    marketer.fill_form(contact_id, "webinar")
    assert _props(portal, contact_id)["lifecyclestage"] == "opportunity"


def test_scores_and_hand_edits(portal: Portal) -> None:
    marketer = portal.sim.marketer
    contact_id = marketer.new_contact("ed@example.com", lifecyclestage="salesqualifiedlead")
    marketer.set_score("ed@example.com", 87)
    assert _props(portal, contact_id)["hubspotscore"] == "87"
    # By hand in the UI a stage may go back, which the API silently refuses.
    marketer.edit(contact_id, lifecyclestage="lead", hs_lead_status="BAD_TIMING")
    props = _props(portal, contact_id)
    assert (props["lifecyclestage"], props["hs_lead_status"]) == ("lead", "BAD_TIMING")
    with pytest.raises(ValueError, match="read only"):
        marketer.edit(contact_id, hubspotscore="3")
    with pytest.raises(ValueError, match="allowed options"):
        marketer.edit(contact_id, hs_lead_status="HOT")
    with pytest.raises(ValueError, match="unknown form"):
        marketer.fill_form(contact_id, "newsletter")
    with pytest.raises(KeyError):
        marketer.set_score("nobody@example.com", 1)


def test_the_marketer_over_http(portal: Portal) -> None:
    session = requests.Session()
    session.verify = portal.ca_bundle
    base = portal.url + "/_sandbox/marketer"
    made = session.post(
        base + "/contacts", json={"email": "web@example.com", "firstname": "Web"}, timeout=5
    )
    contact_id = made.json()["id"]
    session.post(base + "/forms", json={"contact": contact_id, "form": "consultation"}, timeout=5)
    session.post(base + "/score", json={"contact": "web@example.com", "score": 12}, timeout=5)
    edited = session.post(
        base + "/edit", json={"contact": contact_id, "properties": {"jobtitle": "VP"}}, timeout=5
    )
    assert edited.status_code == 200
    props = _props(portal, contact_id)
    assert (props["lifecyclestage"], props["hubspotscore"], props["jobtitle"]) == (
        "lead",
        "12",
        "VP",
    )
    missing = session.post(
        base + "/score", json={"contact": "x@example.com", "score": 1}, timeout=5
    )
    assert missing.status_code == 404
    invalid = session.post(base + "/forms", json={"contact": contact_id, "form": "x"}, timeout=5)
    assert invalid.status_code == 400 and "unknown form" in invalid.json()["error"]
