"""`leadbridge setup` against an unprepared sandbox: the plan, the HubSpot properties and
options it makes, and a Salesforce package whose files, deployed, satisfy the doctor."""

from __future__ import annotations

import argparse
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import requests
from defusedxml.ElementTree import parse

from leadbridge.cli import doctor, setup
from leadbridge.connectors.hubspot.scopes import REQUIRED_SCOPES
from leadbridge.sandbox.world import Sandbox
from leadbridge.sync.runtime import sandbox_env
from tests.harness import Daemon, daemon_env, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
CUSTOM_FIELDS = {
    "Lead.Leadbridge_Id__c",
    "Lead.HubSpot_Contact_Id__c",
    "Lead.Recycle_Reason__c",
    "Opportunity.Loss_Reason__c",
    "Lead.Leadbridge_Score__c",
    "Lead.Leadbridge_Grade__c",
}
STATUSES = ["Nurture", "Recycled", "Disqualified"]
OWN = (
    "leadbridge_stage",
    "leadbridge_handback_reason",
    "leadbridge_score",
    "leadbridge_grade",
    "leadbridge_score_reasons",
)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    missing = {"hs_lead_status": ["BAD_TIMING"]}
    with Sandbox(
        seed=5,
        limits=False,
        tls_dir=tmp_path / "tls",
        prepared=False,
        hubspot_missing_options=missing,
    ) as sandbox:
        for name, value in sandbox_env(sandbox.info()).items():
            monkeypatch.setenv(name, value)
        yield sandbox


def _setup(package: Path, *, apply: bool) -> tuple[int, str]:
    args = argparse.Namespace(
        mappings=ROOT / "mappings",
        connectors=ROOT / "connectors",
        apply=apply,
        salesforce_package=package,
    )
    out = io.StringIO()
    with redirect_stdout(out):
        code = setup.run(args)
    return code, out.getvalue()


def _doctor() -> tuple[int, str]:
    args = argparse.Namespace(mappings=ROOT / "mappings", connectors=ROOT / "connectors")
    out = io.StringIO()
    with redirect_stdout(out):
        code = doctor.run(args)
    return code, out.getvalue()


def _control(world: Sandbox, service: str, path: str, body: Any) -> Any:
    answer = requests.post(
        world.url(service) + path, json=body, verify=world.info()["ca_bundle"], timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _properties(world: Sandbox) -> dict[str, Any]:
    return {d.name: d.to_json() for d in world.hubspot.catalog.all()}


def _deploy_body(package: Path) -> dict[str, Any]:
    """What `sf project deploy start` would deploy, read from the package's own files."""
    source = package / "force-app" / "main" / "default"
    fields = [
        f"{path.parent.parent.name}.{path.name.removesuffix('.field-meta.xml')}"
        for path in sorted(source.glob("objects/*/fields/*.field-meta.xml"))
    ]
    statuses = parse(source / "standardValueSets" / "LeadStatus.standardValueSet-meta.xml")
    values = [
        item.findtext("md:fullName", namespaces=NS)
        for item in statuses.getroot().findall("md:standardValue", NS)
        if item.findtext("md:converted", namespaces=NS) == "false"
    ]
    permissions = parse(source / "permissionsets" / "Leadbridge_Integration.permissionset-meta.xml")
    granted = [
        item.findtext("md:field", namespaces=NS)
        for item in permissions.getroot().findall("md:fieldPermissions", NS)
    ]
    return {
        "fields": fields,
        "leadStatuses": values,
        "permissionSet": {"name": "Leadbridge_Integration", "fields": granted},
    }


def test_setup_plans_then_applies_and_the_doctor_passes(world: Sandbox, tmp_path: Path) -> None:
    package = tmp_path / "leadbridge-salesforce"
    code, text = _doctor()
    assert code == 2, text
    before, served = _properties(world), world.salesforce.state.schema.status()

    # Without --apply: the plan, and nothing written anywhere.
    code, text = _setup(package, apply=False)
    assert code == 0, text
    assert "+ write a metadata package" in text
    assert "custom field Lead.Leadbridge_Id__c: Text(64), External ID, Unique" in text
    assert "Lead Status values Nurture, Disqualified, Recycled" in text
    assert "crm.schemas.contacts.read" in text and "setup --apply` again" in text
    assert "sf project deploy start --source-dir force-app" in text
    assert "/webhooks/salesforce?token=$SALESFORCE_OUTBOUND_TOKEN" in text
    assert "Nothing was written" in text
    assert not package.exists()
    assert _properties(world) == before
    assert world.salesforce.state.schema.status() == served

    # --apply: the package is written; HubSpot waits for the schema scopes.
    code, text = _setup(package, apply=True)
    assert code == 0, text
    assert "✓ wrote a metadata package" in text
    assert (package / "manifest" / "package.xml").is_file()
    assert _properties(world) == before

    # The admin's part: deploy the package as written, tick the scopes.
    lacking = _control(world, "salesforce", "/_sandbox/setup/deploy", _deploy_body(package))
    assert lacking["missingFields"] == [] and lacking["missingStatuses"] == []
    scopes = {"token": world.info()["hubspot"]["token"], "scopes": list(REQUIRED_SCOPES)}
    _control(world, "hubspot", "/_sandbox/private-apps", scopes)

    code, text = _setup(tmp_path / "again", apply=False)
    assert code == 0, text
    assert "+ create contact property leadbridge_stage" in text
    assert "+ add BAD_TIMING to the options of hs_lead_status" in text
    assert "nothing to deploy" in text
    code, text = _setup(tmp_path / "again", apply=True)
    assert code == 0, text
    assert "✓ created contact property leadbridge_handback_reason" in text
    assert "✓ added BAD_TIMING to the options of hs_lead_status" in text
    assert not (tmp_path / "again").exists()
    after = _properties(world)
    assert {name: after[name]["type"] for name in OWN} == dict.fromkeys(OWN, "string")
    options = [option["value"] for option in after["hs_lead_status"]["options"]]
    before_options = [option["value"] for option in before["hs_lead_status"]["options"]]
    assert options == [*before_options, "BAD_TIMING"]

    code, text = _doctor()
    assert code == 0, text
    code, text = _setup(tmp_path / "third", apply=True)
    assert code == 0 and "nothing to create" in text and "nothing to deploy" in text, text


def _staged(world: Sandbox) -> list[str]:
    """The contacts leadbridge has written a stage to."""
    contacts = world.hubspot.state.all_contacts()
    return [c["id"] for c in contacts if c["properties"].get("leadbridge_stage")]


def test_the_package_xml_parses_and_defines_each_missing_field(
    world: Sandbox, tmp_path: Path
) -> None:
    package = tmp_path / "pkg"
    code, text = _setup(package, apply=True)
    assert code == 0, text
    source = package / "force-app" / "main" / "default"
    defined: dict[str, ET.Element] = {}
    for path in source.glob("objects/*/fields/*.field-meta.xml"):
        root = parse(path).getroot()
        assert root.tag == f"{{{NS['md']}}}CustomField"
        defined[f"{path.parent.parent.name}.{root.findtext('md:fullName', namespaces=NS)}"] = root
    assert set(defined) == CUSTOM_FIELDS

    def text_of(name: str, tag: str) -> str | None:
        return defined[name].findtext(f"md:{tag}", namespaces=NS)

    key = "Lead.Leadbridge_Id__c"
    assert (text_of(key, "type"), text_of(key, "length")) == ("Text", "64")
    assert (text_of(key, "externalId"), text_of(key, "unique")) == ("true", "true")
    contact = "Lead.HubSpot_Contact_Id__c"
    assert (text_of(contact, "type"), text_of(contact, "length")) == ("Text", "32")
    assert (text_of(contact, "externalId"), text_of(contact, "unique")) == ("true", "false")
    for name in ("Lead.Recycle_Reason__c", "Opportunity.Loss_Reason__c"):
        assert text_of(name, "type") == "Picklist"
        value_set = defined[name].find("md:valueSet", NS)
        assert value_set is not None
        assert value_set.findtext("md:restricted", namespaces=NS) == "true"
        values = [
            v.findtext("md:fullName", namespaces=NS) for v in value_set.iter(f"{{{NS['md']}}}value")
        ]
        assert "Other" in values
    assert "No Budget" in ET.tostring(defined["Lead.Recycle_Reason__c"], "unicode")

    statuses = parse(source / "standardValueSets" / "LeadStatus.standardValueSet-meta.xml")
    converted = {
        item.findtext("md:fullName", namespaces=NS): item.findtext("md:converted", namespaces=NS)
        for item in statuses.getroot().findall("md:standardValue", NS)
    }
    assert converted["Converted"] == "true"
    assert all(converted[status] == "false" for status in [*STATUSES, "Open", "Working"])

    permissions = parse(
        source / "permissionsets" / "Leadbridge_Integration.permissionset-meta.xml"
    ).getroot()
    fields = {
        item.findtext("md:field", namespaces=NS): item.findtext("md:editable", namespaces=NS)
        for item in permissions.findall("md:fieldPermissions", NS)
    }
    # Access to every custom field it reads: its own, and the org's own BANT fields, which
    # the package grants (read only) but never defines.
    bant = {f"Lead.{name}__c" for name in ("Budget", "Authority", "Need", "Timeline")}
    assert set(fields) == CUSTOM_FIELDS | bant
    assert all(fields[name] == "false" for name in bant)
    assert fields["Lead.Leadbridge_Id__c"] == "true"
    assert fields["Opportunity.Loss_Reason__c"] == "false"
    objects = {
        item.findtext("md:object", namespaces=NS): (
            item.findtext("md:allowCreate", namespaces=NS),
            item.findtext("md:allowEdit", namespaces=NS),
            item.findtext("md:viewAllRecords", namespaces=NS),
        )
        for item in permissions.findall("md:objectPermissions", NS)
    }
    assert objects["Lead"] == ("true", "true", "true")
    assert objects["Opportunity"] == ("false", "false", "true")

    manifest = parse(package / "manifest" / "package.xml").getroot()
    members = {
        t.findtext("md:name", namespaces=NS): {m.text for m in t.findall("md:members", NS)}
        for t in manifest.findall("md:types", NS)
    }
    assert members == {
        "CustomField": CUSTOM_FIELDS,
        "PermissionSet": {"Leadbridge_Integration"},
        "StandardValueSet": {"LeadStatus"},
    }


def test_from_an_unprepared_org_to_a_running_bridge_without_a_restart(
    world: Sandbox, tmp_path: Path
) -> None:
    """Issue 13's done-when: the daemon started before setup waits, says what is missing
    (log, /readyz, one Slack message) and writes nothing; setup and the manual steps bring
    the systems to what the mappings need, and the same process then syncs."""
    world.populate(6)
    world.clock.advance(60)
    database = f"sqlite:///{tmp_path / 'state.db'}"
    argv = ["--connectors", str(ROOT / "connectors"), "--mappings", str(ROOT / "mappings")]
    argv += ["--port", str(free_port()), "--recheck", "1", "--database", database]
    daemon = Daemon(argv, daemon_env(world.info()))
    try:
        url = daemon.url()
        said = daemon.wait_for("schema missing", 60)
        missing = {(entry["system"], entry["what"]) for entry in said["missing"]}
        assert ("HubSpot", "property leadbridge_stage") in missing
        assert ("Salesforce", "Lead.Leadbridge_Id__c") in missing
        assert all(entry["fix"] for entry in said["missing"])
        ready = requests.get(f"{url}/readyz", timeout=5)
        assert (
            ready.status_code == 200
        )  # ready means it takes webhooks; the check says why not more
        assert "nothing is decided or written" in ready.json()["checks"]["schema"]
        alerts = wait_until(
            lambda: [m for m in world.slack.messages if "schema" in (m.text or "")],
            90,
            "a health alert",
        )
        assert len(alerts) == 1, [m.text for m in alerts]

        # Setup: the package (HubSpot waits for its scopes), the admin's steps, setup again.
        assert _setup(tmp_path / "package", apply=True)[0] == 0
        _control(world, "salesforce", "/_sandbox/setup/deploy", _deploy_body(tmp_path / "package"))
        scopes = {"token": world.info()["hubspot"]["token"], "scopes": list(REQUIRED_SCOPES)}
        _control(world, "hubspot", "/_sandbox/private-apps", scopes)
        # Until then nothing was written: no contact holds a leadbridge stage.
        assert not _staged(world)
        assert _setup(tmp_path / "again", apply=True)[0] == 0

        daemon.wait_for("schema ready", 60)
        daemon.wait_for("synced", 90, lambda e: e.get("leads", 0) > 0)
        assert _staged(world)
        assert requests.get(f"{url}/readyz", timeout=5).status_code == 200
        assert daemon.process.poll() is None
    finally:
        stopped = daemon.stop()
    assert stopped == 0
