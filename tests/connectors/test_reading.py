"""What the connectors read is derived from the mappings; the connection files only add extras.

A rule on a property nobody listed in hubspot.yaml must still see its values, so the
properties and fields a sync reads come from fields.yaml and stages.yaml; `properties:`
(hubspot.yaml) and `objects.<Object>.fields` (salesforce.yaml) add to them. Proven on the
sandbox: the records read carry what the mappings use and the extras, and nothing else
had to be listed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from leadbridge.config import load_funnel
from leadbridge.config.defaults import shipped
from leadbridge.connectors.base import Page
from leadbridge.connectors.hubspot.settings import load_hubspot_settings, properties_to_read
from leadbridge.connectors.salesforce.settings import fields_to_read, load_salesforce_settings
from leadbridge.model import Change
from leadbridge.sandbox.world import Sandbox
from leadbridge.sync.runtime import Runtime, build, sandbox_env

ENV = {
    "HUBSPOT_TOKEN": "pat-na1-test",
    "SALESFORCE_URL": "https://example.my.salesforce.com",
    "SALESFORCE_CLIENT_ID": "3MVG9abc",
    "SALESFORCE_CLIENT_SECRET": "secret",
}
# A rule on a property no connection file lists: the mappings alone make it read.
PERSONA_FIELD = """
  persona:
    hubspot: hs_persona
    salesforce: {Lead: Rating}
    direction: always_hubspot
"""
PERSONA_RULE = """
  - name: persona_fit
    from: [subscriber]
    when: {eq: {persona: persona_1}}
    then: {move_to: lead, reason: persona_fit}
"""


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    """The shipped mappings, plus a field on hs_persona (and the Lead's Rating) and a rule
    that reads it."""
    copy = tmp_path / "mappings"
    shutil.copytree(shipped("mappings"), copy)
    fields = copy / "fields.yaml"
    fields.write_text(fields.read_text(encoding="utf-8") + PERSONA_FIELD, encoding="utf-8")
    handoff = copy / "handoff.yaml"
    text = handoff.read_text(encoding="utf-8")
    assert "\nrules:\n" in text
    handoff.write_text(text.replace("\nrules:\n", "\nrules:\n" + PERSONA_RULE, 1), "utf-8")
    return copy


@pytest.fixture
def connectors(tmp_path: Path) -> Path:
    """The shipped connection files, hubspot.yaml with one extra property (city)."""
    copy = tmp_path / "connectors"
    shutil.copytree(shipped("connectors"), copy)
    hubspot = copy / "hubspot.yaml"
    text = hubspot.read_text(encoding="utf-8")
    assert "\nproperties: []\n" in text, "the shipped list is empty: extras only"
    hubspot.write_text(text.replace("\nproperties: []\n", "\nproperties: [city]\n"), "utf-8")
    return copy


def test_a_property_a_rule_uses_is_read_without_being_listed(
    mappings: Path, connectors: Path
) -> None:
    funnel = load_funnel(mappings)
    assert any(rule.name == "persona_fit" for rule in funnel.rules)
    settings = load_hubspot_settings(connectors / "hubspot.yaml", ENV)
    assert settings.properties == ("city",)
    read = settings.for_mappings(funnel).read_properties
    assert "hs_persona" in read and "city" in read
    # The shipped rules' properties, which the old shipped list left out, and the stage's.
    for name in ("recent_conversion_event_name", "numemployees", "industry", "lifecyclestage"):
        assert name in read
    assert {"email", "lastmodifieddate", "hs_merged_object_ids"} <= set(read)
    assert set(funnel.own_hubspot_properties) <= set(read)
    assert len(read) == len(set(read)), "each property once"


def test_an_old_full_list_reads_the_same_properties_once(mappings: Path) -> None:
    funnel = load_funnel(mappings)
    derived = properties_to_read(funnel)
    assert properties_to_read(funnel, ("firstname", "lifecyclestage", "email")) == derived


def test_the_stage_properties_are_read_though_no_field_maps_them() -> None:
    """stages.yaml writes lifecyclestage, hs_lead_status and the Lead Status: a write is
    planned against the value there, so they are read even where no field maps them."""
    funnel = load_funnel(shipped("mappings"))
    stage_fields = {"lifecyclestage", "hs_lead_status", "Status", "StageName"}
    unmapped = replace(
        funnel,
        fields={
            name: fmap
            for name, fmap in funnel.fields.items()
            if not {fmap.hubspot, *fmap.salesforce.values()} & stage_fields
        },
    )
    assert not any(f.hubspot in stage_fields for f in unmapped.fields.values())
    assert {"lifecyclestage", "hs_lead_status"} <= set(properties_to_read(unmapped))
    settings = load_salesforce_settings(shipped("connectors") / "salesforce.yaml", ENV)
    read = fields_to_read(unmapped, settings)
    assert "Status" in read["Lead"] and "StageName" in read["Opportunity"]


def test_salesforce_reads_what_the_mappings_use_with_the_files_fields_as_extras(
    mappings: Path, tmp_path: Path
) -> None:
    funnel = load_funnel(mappings)
    bare = tmp_path / "salesforce.yaml"
    # No objects at all: the mapped ones are read, with their defaults.
    bare.write_text(
        "login_url: ${SALESFORCE_URL}\n"
        "auth: {grant: client_credentials, client_id: '${SALESFORCE_CLIENT_ID}', "
        "client_secret: '${SALESFORCE_CLIENT_SECRET}'}\n"
        "objects:\n  Account: {fields: [Website], deletions: false}\n",
        encoding="utf-8",
    )
    settings = load_salesforce_settings(bare, ENV)
    read = fields_to_read(funnel, settings)
    assert set(read) == {"Lead", "Contact", "Opportunity", "Account"}
    assert {"Email", "Status", "Rating", "Recycle_Reason__c", "Leadbridge_Id__c"} <= set(
        read["Lead"]
    )
    assert {"StageName", "Loss_Reason__c", "AccountId"} <= set(read["Opportunity"])
    assert read["Account"] == ("Website",)
    wired = settings.for_mappings(funnel)
    account, lead = wired.objects.get("Account"), wired.objects.get("Lead")
    assert account is not None and account.deletions is False
    assert lead is not None and lead.deletions is True and lead.fields == read["Lead"]


def test_a_field_listed_in_another_case_is_read_once(mappings: Path, tmp_path: Path) -> None:
    shipped_file = shipped("connectors") / "salesforce.yaml"
    settings = load_salesforce_settings(shipped_file, ENV)
    listed = settings.objects.get("Lead")
    assert listed is not None
    odd = settings.model_copy(
        update={
            "objects": settings.objects.model_copy(
                update={"Lead": listed.model_copy(update={"fields": ("email", "STATUS")})}
            )
        }
    )
    lead = fields_to_read(load_funnel(mappings), odd)["Lead"]
    assert [name.lower() for name in lead].count("email") == 1
    assert [name.lower() for name in lead].count("status") == 1


@pytest.fixture
def runtime(mappings: Path, connectors: Path, tmp_path: Path) -> Iterator[tuple[Runtime, Sandbox]]:
    with Sandbox(seed=3, limits=False) as sandbox:
        sandbox.populate(5)
        sandbox.clock.advance(60)
        env = sandbox_env(sandbox.info())
        wired = build(
            mappings,
            connectors,
            f"sqlite:///{tmp_path / 'state.db'}",
            env,
            clock=sandbox.clock.now,
        )
        try:
            yield wired, sandbox
        finally:
            wired.close()


def test_the_sandbox_answers_every_derived_property_and_field(
    runtime: tuple[Runtime, Sandbox],
) -> None:
    wired, sandbox = runtime
    now = sandbox.clock.now()
    contacts = _read(wired.hubspot.changes("contact", None, now=now))
    assert contacts, "the sandbox's people"
    for change in contacts:
        assert {"hs_persona", "city", "recent_conversion_event_name"} <= set(change.fields)
    leads = _read(wired.salesforce.changes("Lead", None, now=now))
    assert leads
    for change in leads:
        assert {"Rating", "Recycle_Reason__c", "Leadbridge_Id__c", "Status"} <= set(change.fields)


def _read(pages: Iterator[Page]) -> list[Change]:
    return [change for page in pages for change in page.changes]
