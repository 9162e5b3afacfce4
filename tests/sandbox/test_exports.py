"""The export endpoints: the whole of each simulated system, for comparing two runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from leadbridge.sandbox.world import Sandbox


def _ca(world: Sandbox) -> str:
    assert world.tls is not None
    return str(world.tls.ca_bundle)


@pytest.fixture
def world() -> Iterator[Sandbox]:
    sandbox = Sandbox(seed=2)
    sandbox.populate(60)
    sandbox.start()
    yield sandbox
    sandbox.stop()


def test_hubspot_exports_every_live_contact_with_its_properties(world: Sandbox) -> None:
    answer = requests.get(world.url("hubspot") + "/_sandbox/contacts", timeout=5, verify=_ca(world))
    contacts = answer.json()["contacts"]
    assert len(contacts) == len(world.hubspot.state.all_contacts()) > 0
    assert all(c["properties"]["email"] and c["properties"]["lifecyclestage"] for c in contacts)
    world.hubspot.state.archive_contact(contacts[0]["id"])
    again = requests.get(
        world.url("hubspot") + "/_sandbox/contacts", timeout=5, verify=_ca(world)
    ).json()
    assert len(again["contacts"]) == len(contacts) - 1


def test_salesforce_exports_records_deleted_ones_included(world: Sandbox) -> None:
    url = world.url("salesforce") + "/_sandbox/records/Lead"
    leads = requests.get(url, timeout=5, verify=_ca(world)).json()["records"]
    assert len(leads) == len(world.salesforce.state.records("Lead")) > 0
    world.salesforce.state.delete("Lead", leads[0]["Id"])
    again = requests.get(url, timeout=5, verify=_ca(world)).json()["records"]
    assert len(again) == len(leads)
    assert [lead["IsDeleted"] for lead in again if lead["Id"] == leads[0]["Id"]] == [True]
    unknown = requests.get(
        world.url("salesforce") + "/_sandbox/records/Widget", timeout=5, verify=_ca(world)
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "INVALID_TYPE"
