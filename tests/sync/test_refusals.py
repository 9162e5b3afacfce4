"""Issue 12: a write the service refuses for its values waits for a person, not a timer.

An email-only form fill reaches Salesforce with "[not provided]" in the Lead's required
fields, and that placeholder never comes back to HubSpot. A refusal of a record's
values (the sandbox's own validation answers it) is parked with no retry time and goes
out again only when the lead changes; a transient fault keeps its back-off.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from leadbridge.connectors.errors import Failure, refused_values
from leadbridge.connectors.salesforce.connector import RetryTuning, SalesforceConnector
from leadbridge.model import System
from leadbridge.store import ParkedRecord
from leadbridge.sync.pipeline import Pipeline, cycle
from leadbridge.sync.runtime import build
from leadbridge.sync.write import BACKOFF, BACKOFF_CAP, backoff
from tests.sync.conftest import HOUR, ROOT, World

# What mappings/fields.yaml names as the placeholder of LastName and Company.
PLACEHOLDER = "[not provided]"

SF, HS = System.SALESFORCE, System.HUBSPOT
NOTHING_TO_SALESFORCE = "salesforce 0 (0 calls)"


def parked_rows(world: World) -> list[ParkedRecord]:
    pipeline = pipeline_for(world)
    try:
        with pipeline.store.reading() as uow:
            return uow.parked.listing()
    finally:
        pipeline.store.close()


def pipeline_for(world: World, *, salesforce_attempts: int | None = None) -> Pipeline:
    runtime = build(
        ROOT / "mappings",
        ROOT / "connectors",
        world.database,
        dict(os.environ),
        clock=world.sandbox.clock.now,
    )
    pipeline = runtime.pipeline
    if salesforce_attempts is not None:
        # The connector's own retries, without their real waits: the test is about what the
        # writer does once they ran out.
        real = pipeline.connectors[SF]
        assert isinstance(real, SalesforceConnector)
        quick = RetryTuning(attempts=salesforce_attempts, sleep=lambda _: None, seed=1)
        fast = SalesforceConnector(real.settings, tuning=quick)
        pipeline.connectors = {**pipeline.connectors, SF: fast}
    return pipeline


def test_an_email_only_demo_request_creates_the_lead_with_placeholders(world: World) -> None:
    marketer, rep = world.sandbox.hubspot.marketer, world.sandbox.salesforce.rep
    ann = "ann@solo.io"
    marketer.fill_form(ann, "demo_request")  # the form asks only for an email
    world.sync()
    lead = world.lead(ann)
    assert (lead["LastName"], lead["Company"]) == (PLACEHOLDER, PLACEHOLDER)
    assert lead["Status"] == "Working"  # a demo request is an SQL at once
    assert world.parked() == "nothing is parked\n"
    contact = world.contact(ann)
    assert contact["lifecyclestage"] == "salesqualifiedlead"
    assert not contact.get("lastname") and not contact.get("company")
    # The rep works the lead: the placeholders are read back as blank, never written to
    # HubSpot, and a second cycle with nothing new writes nothing.
    world.later(HOUR)
    rep.set_status(lead["Id"], "Qualified")
    world.sync()
    contact = world.contact(ann)
    assert not contact.get("lastname") and not contact.get("company")
    assert "written: hubspot 0 (0 calls), salesforce 0 (0 calls)" in world.sync()
    # A real name from the rep replaces the placeholder, and HubSpot learns it.
    world.later(HOUR)
    world.sandbox.salesforce.state.update(
        "Lead", lead["Id"], {"LastName": "Berg", "Company": "Solo"}, actor=rep.user_id
    )
    world.sync()
    contact = world.contact(ann)
    assert (contact.get("lastname"), contact.get("company")) == ("Berg", "Solo")
    assert world.lead(ann)["LastName"] == "Berg"


def test_a_real_name_is_never_replaced_by_the_placeholder(world: World) -> None:
    marketer = world.sandbox.hubspot.marketer
    bo = "bo@kettle.dk"
    marketer.new_contact(bo, "Bo", "Lund")  # a last name, but no company
    marketer.fill_form(bo, "demo_request")
    world.sync()
    lead = world.lead(bo)
    assert (lead["LastName"], lead["Company"]) == ("Lund", PLACEHOLDER)
    assert world.contact(bo)["lastname"] == "Lund" and not world.contact(bo).get("company")


def test_a_refused_value_waits_for_a_change_not_a_timer(world: World) -> None:
    marketer = world.sandbox.hubspot.marketer
    max_ = "max@kettle.dk"
    # Salesforce's Lead.FirstName holds 40 characters; nothing in the mappings truncates it.
    marketer.new_contact(max_, "M" * 60, "Moor", company="Kettle")
    marketer.fill_form(max_, "demo_request")
    world.sync()
    assert world.leads(max_) == []
    (row,) = parked_rows(world)
    assert (row.system, row.object, row.attempts, row.next_retry_at) == (SF, "Lead", 1, None)
    listing = world.parked()
    assert "STRING_TOO_LONG" in listing and "Writes the CRM refused for their values" in listing
    assert "To fix: shorten the value" in listing
    assert "to clear: shorten the value" in listing and "then `leadbridge parked retry" in listing
    # Cycles with no change, hours apart, send nothing: the same values cannot pass.
    for _ in range(3):
        world.later(7 * HOUR)
        assert NOTHING_TO_SALESFORCE in world.sync()
    assert [r.attempts for r in parked_rows(world)] == [1]
    # A change to the lead that does not fix the name: tried once more, refused again.
    marketer.set_score(max_, 20)
    world.sync()
    (row,) = parked_rows(world)
    assert (row.attempts, row.next_retry_at) == (2, None)
    assert world.leads(max_) == []
    # The marketer fixes the name: the write goes out at once, and nothing stays parked.
    world.later(HOUR)
    marketer.edit(max_, firstname="Max")
    world.sync()
    lead = world.lead(max_)
    assert (lead["FirstName"], lead["LastName"], lead["Company"]) == ("Max", "Moor", "Kettle")
    assert world.parked() == "nothing is parked\n"
    assert NOTHING_TO_SALESFORCE in world.sync()


def test_a_transient_failure_keeps_its_back_off(world: World) -> None:
    marketer = world.sandbox.hubspot.marketer
    kim = "kim@lumen.com"
    marketer.new_contact(kim, "Kim", "Ito", company="Lumen")
    marketer.fill_form(kim, "demo_request")
    world.later(60)
    pipeline = pipeline_for(world, salesforce_attempts=2)
    connector = pipeline.connectors[SF]
    assert isinstance(connector, SalesforceConnector)
    version = connector.settings.api_version
    faults = world.sandbox.salesforce.faults
    try:
        # Every collection call answers 5xx: the connector's retries run out.
        collections = f"/services/data/v{version}/composite/sobjects"  # not the Composite reads
        faults.configure(error_rate=1.0, path_prefix=collections)
        assert cycle(pipeline).refused[SF] == 1
        assert world.leads(kim) == []
        (row,) = parked_rows(world)
        now = world.sandbox.clock.now()
        assert row.next_retry_at is not None and row.next_retry_at - now <= BACKOFF
        assert "tried again by itself at" in world.parked()
        faults.configure(error_rate=0.0)
        world.later(60)  # within the back-off: not sent again
        assert cycle(pipeline).write_calls[SF] == 0
        world.later(BACKOFF.total_seconds())  # due: sent again, without any change
        summary = cycle(pipeline)
        assert (summary.written[SF], summary.parked) == (1, 0)
    finally:
        pipeline.store.close()
    assert world.lead(kim)["LastName"] == "Ito"


@pytest.mark.parametrize(
    ("failure", "data"),
    [
        (Failure(SF, 200, "REQUIRED_FIELD_MISSING", "Required fields are missing"), True),
        (Failure(SF, 200, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "bad value"), True),
        (Failure(SF, 200, "STRING_TOO_LONG", "too long"), True),
        (Failure(SF, 200, "INVALID_EMAIL_ADDRESS", "invalid"), True),
        (Failure(SF, 200, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "rule"), True),
        (Failure(SF, 200, "FIELD_INTEGRITY_EXCEPTION", "integrity"), True),
        (Failure(HS, 400, "VALIDATION_ERROR", "Property values were not valid"), True),
        (Failure(SF, 200, "UNABLE_TO_LOCK_ROW", "lock"), False),
        (Failure(SF, 503, "HTTP_503", "unavailable"), False),
        (Failure(HS, 429, "RATE_LIMIT", "ten_secondly_rolling"), False),
        (Failure(SF, None, "ReadTimeout", "timed out"), False),
        (Failure(SF, 200, "ENTITY_IS_DELETED", "deleted"), False),
        (Failure(HS, None, "UNSUPPORTED_WRITE", "no key"), False),
    ],
)
def test_the_policy_tells_refused_values_from_everything_else(failure: Failure, data: bool) -> None:
    rule = refused_values(failure)
    assert (rule is not None) == data
    if rule is not None:
        assert rule.why  # what a person must fix, for the parked listing


def test_the_back_off_grows_and_is_capped() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [BACKOFF, 2 * BACKOFF, 4 * BACKOFF]
    assert backoff(30) == BACKOFF_CAP <= timedelta(hours=6)
