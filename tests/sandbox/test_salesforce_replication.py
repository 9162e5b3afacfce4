"""`sobjects/X/updated` and `sobjects/X/deleted` through simple-salesforce, minute by minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox.salesforce_fixtures import RunningOrg, reference, running_org, shape_errors


@pytest.fixture
def org(tls_files: TLSFiles) -> Iterator[RunningOrg]:
    with running_org(tls_files) as running:
        yield running


def test_updated_lists_changed_ids_up_to_the_last_whole_minute(org: RunningOrg) -> None:
    sf = org.client()
    start = org.clock.now()
    org.clock.advance(30)
    early = org.lead(LastName="Early")
    org.clock.advance(120)
    late = org.lead(LastName="Late")  # in the current minute: not covered yet
    answer = sf.Lead.updated(start - timedelta(minutes=1), org.clock.now() + timedelta(hours=1))
    assert answer["ids"] == [early]
    covered = org.clock.now().replace(second=0, microsecond=0)
    assert answer["latestDateCovered"] == covered.strftime("%Y-%m-%dT%H:%M:00.000+0000")
    assert shape_errors(reference("get_updated_success_response.json"), answer) == []
    org.clock.advance(60)
    following = sf.Lead.updated(covered, org.clock.now())
    assert following["ids"] == [late]


def test_deleted_lists_deletions_with_their_dates(org: RunningOrg) -> None:
    sf = org.client()
    start = org.clock.now()
    doomed = org.lead()
    org.clock.advance(10)
    sf.Lead.delete(doomed)
    org.clock.advance(120)
    answer = sf.Lead.deleted(start - timedelta(minutes=1), org.clock.now())
    [entry] = answer["deletedRecords"]
    assert entry["id"] == doomed
    assert entry["deletedDate"] == org.sim.state.get("Lead", doomed)["SystemModstamp"]  # type: ignore[index]
    assert answer["earliestDateAvailable"] < answer["latestDateCovered"]
    assert shape_errors(reference("get_deleted_success_response.json"), answer) == []
    assert sf.Lead.updated(start - timedelta(minutes=1), org.clock.now())["ids"] == []


@pytest.mark.parametrize(
    ("back", "span", "fragment"),
    [
        (timedelta(days=31), timedelta(days=1), "more than 30 days ago"),
        (timedelta(hours=1), timedelta(seconds=30), "at least one minute"),
    ],
)
def test_updated_refuses_windows_the_real_api_refuses(
    org: RunningOrg, back: timedelta, span: timedelta, fragment: str
) -> None:
    org.clock.advance(40 * 86_400)
    start = org.clock.now() - back
    with pytest.raises(SalesforceMalformedRequest) as caught:
        org.client().Lead.updated(start, start + span)
    [error] = caught.value.content
    assert error["errorCode"] == "INVALID_REPLICATION_DATE" and fragment in error["message"]


def test_deleted_reaches_back_15_days_only(org: RunningOrg) -> None:
    org.clock.advance(20 * 86_400)
    sf = org.client()
    with pytest.raises(SalesforceMalformedRequest):
        sf.Lead.deleted(org.clock.now() - timedelta(days=16), org.clock.now())
    fine = sf.Lead.deleted(org.clock.now() - timedelta(days=14), org.clock.now())
    assert fine["deletedRecords"] == []


def test_a_date_no_calendar_holds_is_refused_not_a_crash(org: RunningOrg) -> None:
    token = org.token()["access_token"]
    answer = org.http().get(
        f"{org.url}/services/data/v59.0/sobjects/Lead/updated",
        params={"start": "0001-01-01T00:00:00+14:00", "end": "2026-01-01T00:00:00Z"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
