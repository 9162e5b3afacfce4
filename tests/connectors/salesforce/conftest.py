"""Fixtures the Salesforce connector tests share: a served org and a connector on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.sandbox.tls import TLSFiles
from tests.connectors.salesforce.support import connector_for
from tests.sandbox.salesforce_fixtures import RunningOrg, running_org


@pytest.fixture
def org(tls_files: TLSFiles) -> Iterator[RunningOrg]:
    with running_org(tls_files) as running:
        yield running


@pytest.fixture
def salesforce(org: RunningOrg, tls_files: TLSFiles) -> Iterator[SalesforceConnector]:
    with connector_for(org, tls_files) as connector:
        yield connector
