"""Shared helpers for the Salesforce connector's tests: the shipped connection file pointed at a
running simulated org, short retry waits, and a reader that drains a window."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from leadbridge.config import load_funnel
from leadbridge.config.defaults import shipped
from leadbridge.connectors.base import Cursor, Page, Removal
from leadbridge.connectors.salesforce.connector import RetryTuning, SalesforceConnector
from leadbridge.connectors.salesforce.settings import SalesforceSettings, load_salesforce_settings
from leadbridge.model import Change, RecordWrite, System
from leadbridge.sandbox.tls import TLSFiles
from tests.sandbox.salesforce_fixtures import CLIENT_ID, CLIENT_SECRET, RunningOrg

SHIPPED = Path(__file__).resolve().parents[3] / "connectors" / "salesforce.yaml"
# The production policy with its waits scaled down to milliseconds, so a test with faults stays
# quick. The sandbox's REQUEST_LIMIT bursts last a number of requests, not seconds: eight
# attempts span about two minutes at production waits, a few milliseconds here, so a burst
# landing on a retry chain can outlast them; twelve attempts stand in for that time.
FAST = RetryTuning(attempts=12, base=0.002, cap=0.02, seed=3)


def env_for(org: RunningOrg, tls: TLSFiles, **extra: str) -> dict[str, str]:
    return {
        "SALESFORCE_URL": org.url,
        "SALESFORCE_CLIENT_ID": CLIENT_ID,
        "SALESFORCE_CLIENT_SECRET": CLIENT_SECRET,
        "SALESFORCE_ORG_ID": org.sim.org_id,
        "SALESFORCE_CA_BUNDLE": str(tls.ca_bundle),
        **extra,
    }


def shipped_settings(env: Mapping[str, str], **changes: Any) -> SalesforceSettings:
    """The shipped connectors/salesforce.yaml, loaded against `env` and reading what the
    shipped mappings use (as sync.runtime wires it), with `changes` applied
    (benchmarks/connectors_salesforce.py uses it too)."""
    loaded = load_salesforce_settings(SHIPPED, env).for_mappings(load_funnel(shipped("mappings")))
    return loaded.model_copy(update=changes)


def settings_for(org: RunningOrg, tls: TLSFiles, **changes: Any) -> SalesforceSettings:
    """The shipped connectors/salesforce.yaml, loaded against this org, with `changes` applied."""
    return shipped_settings(env_for(org, tls), **changes)


def connector_for(
    org: RunningOrg, tls: TLSFiles, tuning: RetryTuning = FAST, **changes: Any
) -> SalesforceConnector:
    return SalesforceConnector(settings_for(org, tls, **changes), tuning=tuning)


@dataclass
class Drained:
    """Everything one window delivered, and the cursor its last page carried."""

    pages: list[Page] = field(default_factory=list)
    cursor: Cursor | None = None

    @property
    def changes(self) -> list[Change]:
        return [c for page in self.pages for c in page.changes]

    @property
    def removals(self) -> list[Removal]:
        return [r for page in self.pages for r in page.removals]

    def pairs(self) -> list[tuple[str, str]]:
        return [(c.id, str(c.fields["SystemModstamp"])) for c in self.changes]


def drain(
    connector: SalesforceConnector, sobject: str, cursor: Cursor | None, now: datetime
) -> Drained:
    out = Drained(cursor=cursor)
    for page in connector.changes(sobject, cursor, now=now):
        out.pages.append(page)
        if page.cursor is not None:
            out.cursor = page.cursor
    return out


def lead_update(record_id: str, **values: Any) -> RecordWrite:
    return RecordWrite(System.SALESFORCE, "Lead", record_id, (values,))


def lead_create(
    key: str, external_id_field: str = "Leadbridge_Id__c", **values: Any
) -> RecordWrite:
    return RecordWrite(System.SALESFORCE, "Lead", None, (values,), key=(external_id_field, key))


def by_external_id(org: RunningOrg) -> Mapping[str, int]:
    """How many live leads hold each external id: every count must be 1."""
    counts: dict[str, int] = {}
    for record in org.sim.state.records("Lead"):
        key = record.get("Leadbridge_Id__c")
        if key:
            counts[key] = counts.get(key, 0) + 1
    return counts


def ids(changes: Iterable[Change]) -> list[str]:
    return [change.id for change in changes]
