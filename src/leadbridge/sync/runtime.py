"""Builds what a sync cycle runs on: the funnel, the state store, and both connectors.

Everything comes in as arguments (directories, a database URL, the
environment the connection files' ${VARS} expand from, a clock), so the
embedded default is just another environment: the cli starts the sandbox and
hands its URLs and credentials over as variables. Nothing here imports the
sandbox (DESIGN.md: only cli may).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadbridge.config import load_funnel
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.hubspot.settings import load_hubspot_settings
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.connectors.salesforce.settings import load_salesforce_settings
from leadbridge.model import System
from leadbridge.store import Store
from leadbridge.store.migrate import upgrade
from leadbridge.sync.pipeline import Pipeline


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    pipeline: Pipeline
    hubspot: HubSpotConnector
    salesforce: SalesforceConnector

    def close(self) -> None:
        self.salesforce.close()
        self.pipeline.store.close()


def build(
    mappings: Path,
    connectors: Path,
    database: str | None,
    env: Mapping[str, str],
    *,
    clock: Callable[[], datetime] = utc_now,
    read_only: bool = False,
) -> Runtime:
    """The pipeline for these files; the database is brought to the latest schema first.

    Raises what start-up can meet: ConfigError (the files), SQLAlchemy's OperationalError
    (the database). Whatever it opened before failing is closed, so a caller may simply
    try again (daemon.startup). It calls neither CRM. `read_only` (a dry run) creates
    nothing: no migration, no file.
    """
    funnel = load_funnel(mappings)
    # What is read is derived from the mappings; the connection files only add extras.
    hubspot_settings = load_hubspot_settings(connectors / "hubspot.yaml", env).for_mappings(funnel)
    salesforce_file = connectors / "salesforce.yaml"
    salesforce_settings = load_salesforce_settings(salesforce_file, env).for_mappings(funnel)
    hubspot = HubSpotConnector(hubspot_settings, clock=clock)
    # The CRMs' schema is never made here: `leadbridge setup` makes it, with consent, and
    # the daemon's schema gate (daemon.schema) waits until it exists.
    if not read_only:
        upgrade(database)
    # A dry run (`plan`) reads the database as it is: never migrated, never created here.
    store = Store.open(database, clock=clock, existing=read_only)
    salesforce = SalesforceConnector(salesforce_settings)
    pipeline = Pipeline(
        store=store,
        funnel=funnel,
        connectors={System.HUBSPOT: hubspot, System.SALESFORCE: salesforce},
        clock=clock,
        external_id_field=salesforce_settings.external_id_field,
    )
    return Runtime(pipeline, hubspot, salesforce)


def sandbox_env(info: Mapping[str, Any]) -> dict[str, str]:
    """The variables the shipped connection files expand, from `leadbridge sandbox`'s info."""
    hubspot, salesforce = info["hubspot"], info["salesforce"]
    return {
        "HUBSPOT_URL": hubspot["url"],
        "HUBSPOT_TOKEN": hubspot["token"],
        "HUBSPOT_CA_BUNDLE": info["ca_bundle"],
        "SALESFORCE_URL": salesforce["url"],
        "SALESFORCE_CLIENT_ID": salesforce["client_id"],
        "SALESFORCE_CLIENT_SECRET": salesforce["client_secret"],
        "SALESFORCE_ORG_ID": salesforce["org_id"],
        "SALESFORCE_CA_BUNDLE": info["ca_bundle"],
        "SALESFORCE_INSTANCE_URL": salesforce["url"],
        "SLACK_WEBHOOK_URL": info["slack"]["webhook_url"],
    }
