"""`leadbridge doctor` against the sandbox: an unprepared portal and org, then prepared."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import requests

from leadbridge.cli import doctor
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.hubspot.scopes import REQUIRED_SCOPES
from leadbridge.connectors.hubspot.settings import load_hubspot_settings
from leadbridge.sandbox.world import Sandbox
from leadbridge.sync.runtime import sandbox_env

ROOT = Path(__file__).resolve().parents[2]
OWN = {
    "leadbridge_stage": "leadbridge stage",
    "leadbridge_handback_reason": "leadbridge reason",
    "leadbridge_score": "leadbridge score",
    "leadbridge_grade": "leadbridge grade",
    "leadbridge_score_reasons": "leadbridge score why",
}
CUSTOM_FIELDS = [
    "Lead.Leadbridge_Id__c",
    "Lead.HubSpot_Contact_Id__c",
    "Lead.Recycle_Reason__c",
    "Opportunity.Loss_Reason__c",
    "Lead.Leadbridge_Score__c",
    "Lead.Leadbridge_Grade__c",
]
STATUSES = ["Nurture", "Recycled", "Disqualified"]


def _world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> Iterator[Sandbox]:
    with Sandbox(seed=5, limits=False, tls_dir=tmp_path / "tls", **options) as world:
        for name, value in sandbox_env(world.info()).items():
            monkeypatch.setenv(name, value)
        yield world


@pytest.fixture
def unprepared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    yield from _world(tmp_path, monkeypatch, prepared=False)


@pytest.fixture
def prepared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    yield from _world(tmp_path, monkeypatch)


def _doctor(*, format: str = "text") -> tuple[int, str]:
    args = argparse.Namespace(
        mappings=ROOT / "mappings", connectors=ROOT / "connectors", format=format
    )
    out = io.StringIO()
    with redirect_stdout(out):
        code = doctor.run(args)
    return code, out.getvalue()


def _failing(text: str) -> set[str]:
    return {line.split("✗ ", 1)[1].split(":", 1)[0] for line in text.splitlines() if "✗ " in line}


def _control(world: Sandbox, service: str, path: str, body: Any) -> None:
    answer = requests.post(
        world.url(service) + path, json=body, verify=world.info()["ca_bundle"], timeout=10
    )
    assert answer.status_code == 200, answer.text


def _own_properties(world: Sandbox) -> None:
    settings = load_hubspot_settings(
        ROOT / "connectors" / "hubspot.yaml", sandbox_env(world.info())
    )
    HubSpotConnector(settings).ensure_properties(OWN)


def test_an_unprepared_portal_and_org_list_every_missing_piece(unprepared: Sandbox) -> None:
    served = unprepared.salesforce.state.schema.status()
    code, text = _doctor()
    assert code == 2, text
    assert _failing(text) == {
        "scope crm.schemas.contacts.read",
        "scope crm.schemas.contacts.write",
        "contact properties",
        "property leadbridge_stage",
        "property leadbridge_handback_reason",
        "property leadbridge_score",
        "property leadbridge_grade",
        "property leadbridge_score_reasons",
        *CUSTOM_FIELDS,
        *(f"Lead.Status value {status}" for status in STATUSES),
    }
    assert "fix: run `leadbridge setup --apply`, or create it by hand" in text
    assert "fix: add Nurture to Lead Status" in text
    assert "nothing was written anywhere" in text
    # Read only: the org and the portal are as they were.
    assert unprepared.salesforce.state.schema.status() == served
    assert unprepared.hubspot.state.find_by_email("nobody@example.com") is None

    # An admin deploys the fields, the statuses and the permission set, ticks the scopes, and
    # leadbridge's own properties are made.
    deploy = {
        "fields": CUSTOM_FIELDS,
        "leadStatuses": STATUSES,
        "permissionSet": {"name": "Leadbridge_Integration", "fields": CUSTOM_FIELDS},
    }
    _control(unprepared, "salesforce", "/_sandbox/setup/deploy", deploy)
    token = unprepared.info()["hubspot"]["token"]
    scopes = {"token": token, "scopes": list(REQUIRED_SCOPES)}
    _control(unprepared, "hubspot", "/_sandbox/private-apps", scopes)
    code, text = _doctor()
    assert _failing(text) == {f"property {name}" for name in OWN}
    _own_properties(unprepared)
    code, text = _doctor()
    assert code == 0, text
    assert text.endswith("checks passed; nothing was written anywhere\n")


def test_the_prepared_sandbox_passes_and_json_has_one_entry_per_check(prepared: Sandbox) -> None:
    _own_properties(prepared)
    code, text = _doctor()
    assert code == 0, text
    code, raw = _doctor(format="json")
    body = json.loads(raw)
    assert code == 0 and body["ok"] is True
    count = int(text.rsplit("all ", 1)[1].split(" ", 1)[0])
    assert len(body["checks"]) == count
    assert {"group", "name", "ok", "detail", "fix"} <= set(body["checks"][0])
    names = [(check["group"], check["name"]) for check in body["checks"]]
    assert len(names) == len(set(names))
    assert {
        ("HubSpot", "token"),
        ("HubSpot", "API usage"),
        ("Salesforce", "login"),
        ("Salesforce", "org id"),
        ("Salesforce", "external id Lead.Leadbridge_Id__c"),
        ("Salesforce", "API usage"),
        ("Slack", "alerts webhook"),
    } <= set(names)


def test_known_failures_are_lines_not_tracebacks(
    prepared: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBSPOT_TOKEN", "pat-na1-00000000-0000-0000-0000-000000000000")
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", "WRONG")
    code, raw = _doctor(format="json")
    assert code == 2
    failing = {c["name"]: c for c in json.loads(raw)["checks"] if not c["ok"]}
    assert "HUBSPOT_TOKEN" in failing["token"]["fix"]
    assert (
        "SALESFORCE_CLIENT_SECRET" in failing["login"]["fix"]
        or "SALESFORCE_URL" in (failing["login"]["fix"])
    )


def test_an_unreachable_host_and_another_org(
    prepared: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBSPOT_URL", "https://127.0.0.1:9")
    monkeypatch.setenv("SALESFORCE_ORG_ID", "00D000000000001AAA")
    code, raw = _doctor(format="json")
    assert code == 2
    failing = {c["name"]: c for c in json.loads(raw)["checks"] if not c["ok"]}
    assert "check HUBSPOT_URL" in failing["token"]["fix"]
    assert "SALESFORCE_ORG_ID=00D5g000004XyzAEAS" in failing["org id"]["fix"]
