"""Salesforce: OAuth (auth), the REST client with retries and pacing (client), SOQL
reads (reads, soql), sObject Collections writes (writes), salesforce.yaml (settings)."""

from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.connectors.salesforce.settings import (
    SalesforceSettings,
    load_salesforce_settings,
)

__all__ = ["SalesforceConnector", "SalesforceSettings", "load_salesforce_settings"]
