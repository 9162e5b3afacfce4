"""Search through hubspot-api-client: operators with typed comparison, limits, paging, lag."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hubspot.crm.contacts import PublicObjectSearchRequest
from hubspot.crm.contacts.exceptions import ApiException

from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox import hubspot_fixtures as fx

portal = fx.portal
Portal = fx.Portal

PEOPLE = [
    # email, firstname, score, stage, lead status
    ("ana@alpha.example", "Ana", "5", "subscriber", None),
    ("bo@alpha.example", "Bo", "40", "lead", "NEW"),
    ("cy@beta.example", "Cy", "100", "marketingqualifiedlead", "OPEN"),
    ("di@beta.example", "Di", "9", "salesqualifiedlead", "IN_PROGRESS"),
]


@pytest.fixture(scope="module")
def people(tls_files: TLSFiles) -> Iterator[Portal]:
    """One portal for the read-only searches below: starting a server per case costs more."""
    with fx.running_portal(tls_files) as served:
        for email, name, score, stage, status in PEOPLE:
            properties = {"email": email, "firstname": name, "hubspotscore": score}
            properties["lifecyclestage"] = stage
            if status:
                properties["hs_lead_status"] = status
            served.sim.state.create_contact(properties)
            served.clock.advance(60)
        yield served


def _search(portal: Portal, *filters: dict[str, Any], **request: Any) -> Any:
    groups = request.pop("groups", None) or ([{"filters": list(filters)}] if filters else [])
    return portal.client.crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(filter_groups=groups, **request)
    )


def _names(answer: Any) -> list[str]:
    return [c.properties["firstname"] for c in answer.results]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"propertyName": "email", "operator": "EQ", "value": "BO@alpha.example"}, ["Bo"]),
        (
            {"propertyName": "hs_lead_status", "operator": "NEQ", "value": "NEW"},
            ["Ana", "Cy", "Di"],
        ),
        # numeric, not lexical: "9" < "40" < "100"
        ({"propertyName": "hubspotscore", "operator": "GT", "value": "9"}, ["Bo", "Cy"]),
        ({"propertyName": "hubspotscore", "operator": "LTE", "value": "9"}, ["Ana", "Di"]),
        (
            {
                "propertyName": "hubspotscore",
                "operator": "BETWEEN",
                "value": "6",
                "highValue": "40",
            },
            ["Bo", "Di"],
        ),
        ({"propertyName": "hubspotscore", "operator": "GTE", "value": "100"}, ["Cy"]),
        ({"propertyName": "hubspotscore", "operator": "LT", "value": "6"}, ["Ana"]),
        (
            {"propertyName": "lifecyclestage", "operator": "IN", "values": ["lead", "subscriber"]},
            ["Ana", "Bo"],
        ),
        (
            {"propertyName": "hs_lead_status", "operator": "NOT_IN", "values": ["NEW", "OPEN"]},
            ["Ana", "Di"],
        ),
        ({"propertyName": "hs_lead_status", "operator": "HAS_PROPERTY"}, ["Bo", "Cy", "Di"]),
        ({"propertyName": "hs_lead_status", "operator": "NOT_HAS_PROPERTY"}, ["Ana"]),
        (
            {"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@beta.example"},
            ["Cy", "Di"],
        ),
        ({"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "alpha"}, ["Ana", "Bo"]),
        (
            {"propertyName": "email", "operator": "NOT_CONTAINS_TOKEN", "value": "alpha"},
            ["Cy", "Di"],
        ),
    ],
)
def test_operators(people: Portal, flt: dict[str, Any], expected: list[str]) -> None:
    assert sorted(_names(_search(people, flt, properties=["firstname"]))) == expected


def test_in_on_a_string_property_matches_lowercase_values_only(people: Portal) -> None:
    lower = {"propertyName": "firstname", "operator": "IN", "values": ["ana", "bo"]}
    upper = {"propertyName": "firstname", "operator": "IN", "values": ["Ana"]}
    assert sorted(_names(_search(people, lower, properties=["firstname"]))) == ["Ana", "Bo"]
    assert _search(people, upper).total == 0


def test_datetimes_compare_as_instants_given_millis_or_iso(people: Portal) -> None:
    # People were created a minute apart from 09:00 (plus real seconds) on 2 March 2026.
    iso = {"propertyName": "createdate", "operator": "GTE", "value": "2026-03-02T09:02:00Z"}
    millis = dict(iso, value=str(1772442120000))  # the same instant in epoch milliseconds
    assert _names(_search(people, iso, properties=["firstname"])) == ["Cy", "Di"]
    assert _names(_search(people, millis, properties=["firstname"])) == ["Cy", "Di"]


def test_groups_are_ored_and_filters_anded(people: Portal) -> None:
    answer = _search(
        people,
        groups=[
            {
                "filters": [
                    {"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "alpha"},
                    {"propertyName": "hubspotscore", "operator": "GT", "value": "10"},
                ]
            },
            {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "di"}]},
        ],
        properties=["firstname"],
    )
    assert sorted(_names(answer)) == ["Bo", "Di"]


def test_sorts_and_the_default_properties(people: Portal) -> None:
    answer = _search(people, sorts=[{"propertyName": "hubspotscore", "direction": "DESCENDING"}])
    assert _names(answer) == ["Cy", "Bo", "Di", "Ana"]
    assert set(answer.results[0].properties) == {
        "firstname",
        "lastname",
        "email",
        "hs_object_id",
        "createdate",
        "lastmodifieddate",
    }


def test_paging_gives_after_without_link_and_stops(people: Portal) -> None:
    first = _search(people, limit=3, properties=["firstname"])
    assert first.total == 4 and len(first.results) == 3
    assert first.paging.next.after == "3" and first.paging.next.link is None
    last = _search(people, limit=3, after=first.paging.next.after, properties=["firstname"])
    assert _names(last) == ["Di"] and last.paging is None


def _bad_request(portal: Portal, **request: Any) -> dict[str, Any]:
    with pytest.raises(ApiException) as caught:
        _search(portal, **request)
    assert caught.value.status == 400
    body: dict[str, Any] = json.loads(caught.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    return body


def test_request_limits(people: Portal) -> None:
    flt = {"propertyName": "email", "operator": "HAS_PROPERTY"}
    assert len(_search(people, limit=200).results) == 4
    _bad_request(people, limit=201)
    assert _search(people, groups=[{"filters": [flt] * 6}] * 3).total == 4  # 18 in all is the most
    assert _search(people, groups=[{"filters": [flt] * 3}] * 5).total == 4  # 5 groups is the most
    _bad_request(people, groups=[{"filters": [flt] * 7}])
    _bad_request(people, groups=[{"filters": [flt]}] * 6)
    _bad_request(people, groups=[{"filters": [flt] * 5}] * 4)
    _bad_request(people, sorts=["email", "firstname"])


def test_paging_stops_at_ten_thousand(portal: Portal) -> None:
    store = portal.sim.state
    with store.transaction():
        for n in range(10_050):
            store.create({"email": f"bulk{n}@example.com"}, "IMPORT")
    answer = _search(portal, limit=100, after="9900")
    assert answer.total == 10_050 and len(answer.results) == 100
    assert answer.paging.next.after == "10000"
    last = _search(portal, limit=1, after="9999", properties=["email"])
    assert last.results[0].properties["email"] == "bulk9999@example.com"
    assert "10000" in _bad_request(portal, after=answer.paging.next.after)["message"]


@pytest.fixture
def lagging(tls_files: TLSFiles) -> Iterator[Portal]:
    with fx.running_portal(tls_files, search_lag_seconds=30) as served:
        yield served


def test_search_sees_changes_only_after_the_indexing_delay(lagging: Portal) -> None:
    state, clock = lagging.sim.state, lagging.clock
    by_email = {"propertyName": "email", "operator": "EQ", "value": "late@example.com"}
    contact_id = state.create_contact({"email": "late@example.com", "firstname": "Old"})["id"]
    assert _search(lagging, by_email).total == 0  # not indexed yet
    clock.advance(31)
    assert _names(_search(lagging, by_email)) == ["Old"]
    state.update_contact(contact_id, {"firstname": "New"})
    clock.advance(10)
    assert _names(_search(lagging, by_email)) == ["Old"]  # the stale version
    new_name = {"propertyName": "firstname", "operator": "EQ", "value": "New"}
    assert _search(lagging, new_name).total == 0
    clock.advance(21)
    assert _names(_search(lagging, by_email)) == ["New"]
    state.archive_contact(contact_id)
    assert _search(lagging, by_email).total == 1
    clock.advance(31)
    assert _search(lagging, by_email).total == 0
