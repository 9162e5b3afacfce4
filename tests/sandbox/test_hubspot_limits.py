"""Rate limits and injected faults, as hubspot-api-client sees them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import urllib3
from hubspot.crm.contacts import PublicObjectSearchRequest, SimplePublicObjectInputForCreate
from hubspot.crm.contacts.exceptions import ApiException, ServiceException

from leadbridge.sandbox.faults import Fault
from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox import hubspot_fixtures as fx

portal = fx.portal
Portal = fx.Portal


@pytest.fixture
def limited(tls_files: TLSFiles) -> Iterator[Portal]:
    with fx.running_portal(
        tls_files, ten_second_limit=5, daily_limit=8, search_per_second=3
    ) as served:
        yield served


def test_the_ten_secondly_limit_trips_at_its_number(limited: Portal) -> None:
    api = limited.client.crm.contacts.basic_api
    remaining = []
    for _ in range(5):
        _, status, headers = api.get_page_with_http_info()
        assert status == 200
        assert headers["X-HubSpot-RateLimit-Max"] == "5"
        assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        remaining.append(headers["X-HubSpot-RateLimit-Remaining"])
    assert remaining == ["4", "3", "2", "1", "0"]
    with pytest.raises(ApiException) as caught:
        api.get_page()
    assert caught.value.status == 429
    body = json.loads(caught.value.body)
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
    assert body["status"] == "error" and body["correlationId"]
    assert caught.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    limited.clock.advance(10)
    assert api.get_page().results == []


def test_the_daily_limit_trips_at_its_number_and_rolls_at_midnight(limited: Portal) -> None:
    api = limited.client.crm.contacts.basic_api
    seen = []
    for _ in range(8):
        _, _, headers = api.get_page_with_http_info()
        seen.append(headers["X-HubSpot-RateLimit-Daily-Remaining"])
        limited.clock.advance(10)  # keep clear of the ten-secondly window
    assert seen[0] == "7" and seen[-1] == "0"
    assert headers["X-HubSpot-RateLimit-Daily"] == "8"
    with pytest.raises(ApiException) as caught:
        api.get_page()
    body = json.loads(caught.value.body)
    assert (caught.value.status, body["policyName"], body["errorType"]) == (
        429,
        "DAILY",
        "RATE_LIMIT",
    )
    limited.clock.advance(86_400)
    assert api.get_page().results == []


def test_search_has_its_own_secondly_limit_and_no_rate_headers(limited: Portal) -> None:
    search = limited.client.crm.contacts.search_api
    request = PublicObjectSearchRequest(filter_groups=[])
    for _ in range(3):
        _, status, headers = search.do_search_with_http_info(request)
        assert status == 200
        assert not [name for name in headers if name.lower().startswith("x-hubspot-ratelimit")]
    with pytest.raises(ApiException) as caught:
        search.do_search(request)
    body = json.loads(caught.value.body)
    assert (caught.value.status, body["policyName"]) == (429, "SECONDLY")
    limited.clock.advance(1.5)
    assert search.do_search(request).total == 0


def test_no_limits_means_no_limit_headers(tls_files: TLSFiles) -> None:
    with fx.running_portal(tls_files, ten_second_limit=None, daily_limit=None) as served:
        api = served.client.crm.contacts.basic_api
        for _ in range(250):
            _, status, headers = api.get_page_with_http_info(limit=1)
        assert status == 200 and "X-HubSpot-RateLimit-Max" not in headers


def test_injected_server_errors_and_429_bursts_reach_the_client(portal: Portal) -> None:
    api = portal.client.crm.contacts.basic_api
    portal.sim.faults.inject_next(Fault.SERVER_ERROR, status=502)
    with pytest.raises(ServiceException) as broken:
        api.get_page()
    body = json.loads(broken.value.body)
    assert broken.value.status == 502 and body["category"] == "INTERNAL_ERROR"
    portal.sim.faults.configure(rate_limit_rate=1.0, rate_limit_burst=3)
    statuses = []
    for _ in range(3):
        with pytest.raises(ApiException) as limited:
            api.get_page()
        statuses.append(json.loads(limited.value.body)["policyName"])
    assert statuses == ["TEN_SECONDLY_ROLLING"] * 3
    portal.sim.faults.clear()
    assert api.get_page().results == []


def test_a_dropped_connection_after_a_write_still_wrote(portal: Portal) -> None:
    api = portal.client.crm.contacts.basic_api
    portal.sim.faults.inject_next(Fault.DROP_AFTER)
    with pytest.raises(urllib3.exceptions.HTTPError):
        api.create(SimplePublicObjectInputForCreate(properties={"email": "lost@example.com"}))
    assert portal.sim.state.find_by_email("lost@example.com") is not None
    portal.sim.faults.inject_next(Fault.DROP_BEFORE)
    with pytest.raises(urllib3.exceptions.HTTPError):
        api.create(SimplePublicObjectInputForCreate(properties={"email": "never@example.com"}))
    assert portal.sim.state.find_by_email("never@example.com") is None


def test_control_paths_are_outside_auth_limits_and_faults(limited: Portal) -> None:
    limited.sim.faults.configure(error_rate=1.0)
    session = requests.Session()
    session.verify = limited.ca_bundle
    for _ in range(10):
        assert session.get(limited.url + "/_sandbox/clock", timeout=5).status_code == 200
    answer = session.post(limited.url + "/_sandbox/clock/advance", json={"days": 1}, timeout=5)
    assert answer.json()["now"].startswith("2026-03-03")
    with pytest.raises(ServiceException):
        limited.client.crm.contacts.basic_api.get_page()
