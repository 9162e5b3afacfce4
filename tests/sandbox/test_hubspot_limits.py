"""Rate limits and injected faults, as hubspot-api-client sees them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests
import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import PublicObjectSearchRequest, SimplePublicObjectInputForCreate
from hubspot.crm.contacts.exceptions import ApiException, ForbiddenException, ServiceException
from hubspot.crm.properties.exceptions import ForbiddenException as PropertiesForbidden

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.faults import Fault
from leadbridge.sandbox.hubspot.apps import CONTACTS_READ
from leadbridge.sandbox.hubspot.errors import Correlator
from leadbridge.sandbox.hubspot.limits import Limits, tier_limits
from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox import hubspot_fixtures as fx

portal = fx.portal
Portal = fx.Portal


@pytest.fixture
def limited(tls_files: TLSFiles) -> Iterator[Portal]:
    with fx.running_portal(
        tls_files, ten_second_limit=5, daily_limit=8, search_per_second=5
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
    """Five a second (HubSpot's documented number, the sandbox's default): the sixth is refused,
    and searching spends nothing of the ten-secondly budget."""
    search = limited.client.crm.contacts.search_api
    request = PublicObjectSearchRequest(filter_groups=[])
    for _ in range(5):
        _, status, headers = search.do_search_with_http_info(request)
        assert status == 200
        assert not [name for name in headers if name.lower().startswith("x-hubspot-ratelimit")]
    with pytest.raises(ApiException) as caught:
        search.do_search(request)
    body = json.loads(caught.value.body)
    assert (caught.value.status, body["policyName"]) == (429, "SECONDLY")
    limited.clock.advance(1.5)
    assert search.do_search(request).total == 0
    _, _, headers = limited.client.crm.contacts.basic_api.get_page_with_http_info()
    assert headers["X-HubSpot-RateLimit-Remaining"] == "4"


@pytest.mark.parametrize(
    ("tier", "per_ten_seconds", "per_day"),
    [("starter", 100, 250_000), ("professional", 190, 650_000), ("capacity_pack", 250, 1_000_000)],
)
def test_each_tier_trips_at_its_documented_number(
    tier: str, per_ten_seconds: int, per_day: int
) -> None:
    """API-FACTS' numbers; the 10-second window is driven to N+1, the daily one read from its
    headers (the trip at N of a daily allocation is driven below with a small N)."""
    clock = SimClock(fx.START)
    limits = Limits(clock, Correlator(0), search_per_second=None, **tier_limits(tier))
    for _ in range(per_ten_seconds):
        refusal, headers = limits.admit(search=False)
        assert refusal is None
    assert headers["X-HubSpot-RateLimit-Max"] == str(per_ten_seconds)
    assert headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert headers["X-HubSpot-RateLimit-Daily"] == str(per_day)
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == str(per_day - per_ten_seconds)
    refusal, _ = limits.admit(search=False)
    assert refusal is not None and refusal.status_code == 429
    assert json.loads(bytes(refusal.body))["policyName"] == "TEN_SECONDLY_ROLLING"
    clock.advance(10)
    assert limits.admit(search=False)[0] is None


def test_the_default_portal_serves_190_in_ten_seconds_and_refuses_the_191st(
    tls_files: TLSFiles,
) -> None:
    with fx.running_portal(tls_files, ten_second_limit=190) as served:
        api = served.client.crm.contacts.basic_api
        for _ in range(190):
            _, status, headers = api.get_page_with_http_info(limit=1)
        assert (status, headers["X-HubSpot-RateLimit-Remaining"]) == (200, "0")
        with pytest.raises(ApiException) as caught:
            api.get_page(limit=1)
        assert caught.value.status == 429


def test_every_app_on_the_portal_shares_the_limits(limited: Portal) -> None:
    limited.sim.add_private_app("pat-na1-another-app")
    other = limited.client_with("pat-na1-another-app").crm.contacts.basic_api
    for _ in range(5):
        other.get_page()
    with pytest.raises(ApiException) as caught:
        limited.client.crm.contacts.basic_api.get_page()
    assert json.loads(caught.value.body)["policyName"] == "TEN_SECONDLY_ROLLING"


def test_a_scope_the_app_was_not_granted_is_a_403(portal: Portal) -> None:
    portal.sim.add_private_app("pat-na1-reader", scopes=[CONTACTS_READ])
    reader = portal.client_with("pat-na1-reader")
    assert reader.crm.contacts.basic_api.get_page().results == []
    with pytest.raises(ForbiddenException) as caught:
        reader.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "no@example.com"})
        )
    body = json.loads(caught.value.body)
    assert (caught.value.status, body["category"], body["status"]) == (
        403,
        "MISSING_SCOPES",
        "error",
    )
    assert body["errors"][0]["context"] == {
        "requiredGranularScopes": ["crm.objects.contacts.write"]
    }
    with pytest.raises(PropertiesForbidden):
        reader.crm.properties.core_api.get_all("contacts")
    assert portal.sim.state.find_by_email("no@example.com") is None
    with pytest.raises(ValueError, match="unknown scopes"):
        portal.sim.add_private_app("pat-na1-x", scopes=["crm.objects.deals.read"])


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


def test_the_client_retries_only_when_given_a_retry_policy(portal: Portal) -> None:
    portal.sim.faults.inject_next(Fault.SERVER_ERROR, count=2, status=502)
    retrying = HubSpot(
        access_token=fx.TOKEN,
        host=portal.url,
        ssl_ca_cert=portal.ca_bundle,
        retry=urllib3.Retry(total=3, backoff_factor=0, status_forcelist=[502]),
    )
    assert retrying.crm.contacts.basic_api.get_page().results == []
    assert portal.sim.faults.counts() == {"server_error": 2}
    portal.sim.faults.inject_next(Fault.SERVER_ERROR, count=1, status=502)
    with pytest.raises(ServiceException):
        portal.client.crm.contacts.basic_api.get_page()


def test_injected_latency_delays_the_answer(portal: Portal) -> None:
    api = portal.client.crm.contacts.basic_api
    # A second of latency: a loaded machine's own answer takes a good part of a quarter.
    portal.sim.faults.configure(latency_rate=1.0, latency_seconds=(1.0, 1.0))
    started = time.monotonic()
    assert api.get_page().results == []
    assert time.monotonic() - started >= 1.0
    portal.sim.faults.clear()
    started = time.monotonic()
    api.get_page()
    assert time.monotonic() - started < 1.0


def test_a_session_expiry_fault_is_harmless_to_hubspot_which_has_no_sessions(
    portal: Portal,
) -> None:
    portal.sim.faults.inject_next(Fault.SESSION_EXPIRED, count=2)
    api = portal.client.crm.contacts.basic_api
    assert api.get_page().results == [] and api.get_page().results == []
    assert portal.sim.faults.counts() == {"session_expired": 2}


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
