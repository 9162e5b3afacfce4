"""Single contacts through the unmodified hubspot-api-client: auth, shapes, writes, rules, lists."""

from __future__ import annotations

import json
import re

import pytest
import requests
from hubspot.crm.contacts import (
    PublicMergeInput,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException, NotFoundException, UnauthorizedException
from hubspot.crm.properties import OptionInput, PropertyCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException

from tests.sandbox import hubspot_fixtures as fx

portal = fx.portal
Portal = fx.Portal


def _create(portal: Portal, **properties: str) -> str:
    created = portal.client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties=properties)
    )
    return str(created.id)


def _body(exc: ApiException) -> dict[str, object]:
    parsed: dict[str, object] = json.loads(exc.body)
    return parsed


def test_every_api_path_needs_the_bearer_token(portal: Portal) -> None:
    stranger = portal.client_with("pat-na1-wrong")
    with pytest.raises(UnauthorizedException) as caught:
        stranger.crm.contacts.basic_api.get_page()
    body = _body(caught.value)
    assert body["category"] == "INVALID_AUTHENTICATION" and body["status"] == "error"
    assert body["correlationId"]
    with pytest.raises(Exception, match="401"):
        stranger.crm.properties.core_api.get_all("contacts")


def test_a_created_contact_has_hubspots_shape(portal: Portal) -> None:
    api = portal.client.crm.contacts.basic_api
    created = api.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "Ada@Example.com", "firstname": "Ada", "company": "Analytical"}
        )
    )
    assert created.id.isdigit() and len(created.id) >= 11
    assert created.properties["hs_object_id"] == created.id
    assert created.properties["email"] == "ada@example.com"  # HubSpot lowercases addresses
    assert re.fullmatch(r"2026-03-02T09:00:\d\d\.\d{3}Z", created.properties["createdate"])
    assert created.properties["lastmodifieddate"] == created.properties["createdate"]
    assert created.created_at == created.updated_at and created.archived is False

    default = api.get_by_id(created.id)
    assert set(default.properties) == {
        "firstname",
        "lastname",
        "email",
        "hs_object_id",
        "createdate",
        "lastmodifieddate",
    }
    assert default.properties["lastname"] is None
    chosen = api.get_by_id(created.id, properties=["company", "jobtitle"])
    assert chosen.properties["company"] == "Analytical"
    assert chosen.properties["jobtitle"] is None
    assert "firstname" not in chosen.properties and "hs_object_id" in chosen.properties
    by_email = api.get_by_id("ADA@example.com", id_property="email")
    assert by_email.id == created.id


def test_an_update_bumps_lastmodifieddate_and_keeps_history(portal: Portal) -> None:
    api = portal.client.crm.contacts.basic_api
    contact_id = _create(portal, email="grace@example.com", jobtitle="Engineer")
    portal.clock.advance(60)
    updated = api.update(contact_id, SimplePublicObjectInput(properties={"jobtitle": "Admiral"}))
    assert updated.properties["lastmodifieddate"].startswith("2026-03-02T09:01:")
    assert updated.updated_at > updated.created_at
    read = api.get_by_id(contact_id, properties_with_history=["jobtitle"])
    history = read.properties_with_history["jobtitle"]
    assert [entry.value for entry in history] == ["Admiral", "Engineer"]
    assert history[0].source_type == "INTEGRATION"


def test_duplicate_email_is_a_conflict_naming_the_existing_id(portal: Portal) -> None:
    first = _create(portal, email="dup@example.com")
    with pytest.raises(ApiException) as caught:
        _create(portal, email="DUP@example.com")
    assert caught.value.status == 409
    body = _body(caught.value)
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {first}"


def test_missing_contacts_answer_404(portal: Portal) -> None:
    api = portal.client.crm.contacts.basic_api
    with pytest.raises(NotFoundException):
        api.get_by_id("99999")
    with pytest.raises(NotFoundException):
        api.update("99999", SimplePublicObjectInput(properties={"firstname": "x"}))


@pytest.mark.parametrize(
    ("properties", "error", "fragment"),
    [
        ({"lifecyclestage": "prospect"}, "INVALID_OPTION", "subscriber, lead, marketing"),
        ({"hs_lead_status": "new"}, "INVALID_OPTION", "NEW, OPEN, IN_PROGRESS"),
        ({"favourite_colour": "blue"}, "PROPERTY_DOESNT_EXIST", "does not exist"),
        ({"hubspotscore": "12"}, "READ_ONLY_VALUE", "read only"),
        ({"email": "not-an-address"}, "INVALID_EMAIL", "is invalid"),
    ],
)
def test_writes_are_validated_against_the_definitions(
    portal: Portal, properties: dict[str, str], error: str, fragment: str
) -> None:
    contact_id = _create(portal, email="val@example.com")
    with pytest.raises(ApiException) as caught:
        portal.client.crm.contacts.basic_api.update(
            contact_id, SimplePublicObjectInput(properties=properties)
        )
    assert caught.value.status == 400
    body = _body(caught.value)
    assert body["category"] == "VALIDATION_ERROR"
    message = str(body["message"])
    assert message.startswith("Property values were not valid: ")
    details = json.loads(message.removeprefix("Property values were not valid: "))
    assert details[0]["error"] == error and details[0]["name"] == next(iter(properties))
    assert fragment in details[0]["message"]


def test_lifecyclestage_only_moves_forward_unless_cleared_first(portal: Portal) -> None:
    api = portal.client.crm.contacts.basic_api
    contact_id = _create(portal, email="stage@example.com", lifecyclestage="salesqualifiedlead")

    def stage() -> str:
        return str(
            api.get_by_id(contact_id, properties=["lifecyclestage"]).properties["lifecyclestage"]
        )

    answer = api.update(contact_id, SimplePublicObjectInput(properties={"lifecyclestage": "lead"}))
    assert answer.properties["lifecyclestage"] == "salesqualifiedlead"  # ignored, no error
    assert stage() == "salesqualifiedlead"
    api.update(contact_id, SimplePublicObjectInput(properties={"lifecyclestage": "opportunity"}))
    assert stage() == "opportunity"
    api.update(contact_id, SimplePublicObjectInput(properties={"lifecyclestage": ""}))
    assert stage() == ""
    api.update(contact_id, SimplePublicObjectInput(properties={"lifecyclestage": "lead"}))
    assert stage() == "lead"


def test_list_pages_with_after_and_link_and_no_paging_on_the_last_page(portal: Portal) -> None:
    ids = [_create(portal, email=f"p{n}@example.com", firstname=f"P{n}") for n in range(5)]
    api = portal.client.crm.contacts.basic_api
    first = api.get_page(limit=2, properties=["firstname", "email"])
    assert [c.id for c in first.results] == ids[:2]
    assert first.results[0].properties["firstname"] == "P0"
    link = first.paging.next.link
    assert link.startswith(portal.url + "/crm/v3/objects/contacts?")
    assert "properties=firstname" in link and f"after={first.paging.next.after}" in link
    second = api.get_page(limit=2, after=first.paging.next.after)
    third = api.get_page(limit=2, after=second.paging.next.after)
    assert [c.id for c in second.results + third.results] == ids[2:]
    assert third.paging is None
    with pytest.raises(ApiException) as caught:
        api.get_page(limit=101)
    assert caught.value.status == 400


def test_archive_hides_the_contact_and_frees_its_email(portal: Portal) -> None:
    api = portal.client.crm.contacts.basic_api
    contact_id = _create(portal, email="gone@example.com")
    assert api.archive(contact_id) is None
    assert api.archive("12345") is None  # unknown ids answer 204 too
    with pytest.raises(NotFoundException):
        api.get_by_id(contact_id)
    archived = api.get_by_id(contact_id, archived=True)
    assert archived.archived is True and archived.archived_at is not None
    assert [c.id for c in api.get_page(archived=True).results] == [contact_id]
    assert api.get_page().results == []
    assert _create(portal, email="gone@example.com") != contact_id


def test_merge_makes_a_new_record_both_old_ids_resolve_to(portal: Portal) -> None:
    api = portal.client.crm.contacts.basic_api
    primary = _create(portal, email="kim@work.example", firstname="Kim", lifecyclestage="lead")
    secondary = _create(
        portal, email="kim@home.example", phone="+1 555 0100", lifecyclestage="customer"
    )
    merged = api.merge(PublicMergeInput(primary_object_id=primary, object_id_to_merge=secondary))
    assert merged.id not in (primary, secondary)
    assert merged.properties["email"] == "kim@work.example"
    assert merged.properties["phone"] == "+1 555 0100"  # the secondary fills gaps
    assert merged.properties["lifecyclestage"] == "customer"  # the furthest stage is kept
    assert merged.properties["hs_merged_object_ids"] == f"{primary};{secondary}"
    assert merged.properties["hs_additional_emails"] == "kim@home.example"
    for old in (primary, secondary):
        assert api.get_by_id(old).id == merged.id
    assert [c.id for c in api.get_page().results] == [merged.id]
    with pytest.raises(ApiException) as caught:
        api.merge(PublicMergeInput(primary_object_id=primary, object_id_to_merge=merged.id))
    assert caught.value.status == 400


def test_property_definitions_are_typed_and_custom_ones_can_be_made(portal: Portal) -> None:
    props = portal.client.crm.properties.core_api
    names = {p.name: p for p in props.get_all("contacts").results}
    for needed in ("email", "lifecyclestage", "hs_lead_status", "hubspotscore", "numemployees"):
        assert needed in names
    stages = [o.value for o in names["lifecyclestage"].options]
    assert stages[:3] == ["subscriber", "lead", "marketingqualifiedlead"]
    assert stages[-1] == "other"
    assert names["hubspotscore"].type == "number"
    assert names["hubspotscore"].modification_metadata.read_only_value is True
    assert props.get_by_name("contacts", "hs_analytics_source").options[0].value == (
        "ORGANIC_SEARCH"
    )
    created = props.create(
        "contacts",
        PropertyCreate(
            name="handoff_reason",
            label="Handoff reason",
            type="enumeration",
            field_type="select",
            group_name="contactinformation",
            options=[
                OptionInput(label="No budget", value="no_budget", display_order=0, hidden=False),
                OptionInput(label="Timing", value="timing", display_order=1, hidden=False),
            ],
        ),
    )
    assert created.name == "handoff_reason" and created.hubspot_defined is False
    contact_id = _create(portal, email="why@example.com", handoff_reason="timing")
    with pytest.raises(ApiException) as caught:
        _create(portal, email="why2@example.com", handoff_reason="bored")
    assert "no_budget, timing" in str(caught.value.body)
    with pytest.raises(PropertiesApiException) as again:
        props.create(
            "contacts",
            PropertyCreate(
                name="handoff_reason", label="x", type="string", field_type="text", group_name="g"
            ),
        )
    assert again.value.status == 409
    read = portal.client.crm.contacts.basic_api.get_by_id(contact_id, properties=["handoff_reason"])
    assert read.properties["handoff_reason"] == "timing"


def test_a_custom_lifecycle_stage_has_a_numeric_name_and_its_place_in_the_order(
    portal: Portal,
) -> None:
    recycled = portal.sim.catalog.add_lifecycle_stage("Recycled", before="marketingqualifiedlead")
    assert recycled.isdigit()
    options = portal.client.crm.properties.core_api.get_by_name("contacts", "lifecyclestage")
    values = [o.value for o in options.options]
    assert values[:3] == ["subscriber", "lead", recycled]
    assert [o.display_order for o in options.options] == list(range(len(values)))
    api = portal.client.crm.contacts.basic_api
    contact_id = _create(portal, email="custom@example.com", lifecyclestage="lead")

    def write(stage: str) -> str:
        answer = api.update(
            contact_id, SimplePublicObjectInput(properties={"lifecyclestage": stage})
        )
        return str(answer.properties["lifecyclestage"])

    assert write(recycled) == recycled  # forward from lead
    assert write("lead") == recycled  # backward: silently ignored
    assert write("salesqualifiedlead") == "salesqualifiedlead"
    assert write(recycled) == "salesqualifiedlead"
    with pytest.raises(ValueError, match="no lifecycle stage"):
        portal.sim.catalog.add_lifecycle_stage("X", before="nope")


def test_values_no_calendar_holds_are_a_400_not_a_crash(portal: Portal) -> None:
    props = portal.client.crm.properties.core_api
    for name, kind in (("renewal_at", "datetime"), ("renewal_on", "date")):
        props.create(
            "contacts",
            PropertyCreate(name=name, label=name, type=kind, field_type="date", group_name="g"),
        )
    for name, value in (("renewal_at", "99999999999999999999"), ("renewal_on", "9" * 20)):
        with pytest.raises(ApiException) as caught:
            _create(portal, email="far@example.com", **{name: value})
        assert caught.value.status == 400
        assert "INVALID_DATE" in str(_body(caught.value)["message"])


def test_a_path_or_method_no_route_serves_answers_in_hubspots_shape(portal: Portal) -> None:
    session = requests.Session()
    session.verify = portal.ca_bundle
    auth = {"Authorization": f"Bearer {fx.TOKEN}"}
    missing = session.get(portal.url + "/crm/v3/objects/widgets/1/2", headers=auth, timeout=5)
    refused = session.put(portal.url + "/crm/v3/objects/contacts/1", headers=auth, timeout=5)
    for answer, status in ((missing, 404), (refused, 405)):
        body = answer.json()
        assert answer.status_code == status
        assert body["status"] == "error" and body["correlationId"] and body["category"]
