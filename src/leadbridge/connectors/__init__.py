"""Connectors: HubSpot and Salesforce behind one protocol (base.Connector).

They own transport, auth, paging, rate limits and retries, and nothing else: the
policy table (errors) maps every failure to one action, the budget paces calls.
"""

from leadbridge.connectors.base import Connector, Cursor, Page, WriteResult
from leadbridge.connectors.budget import BudgetPaused
from leadbridge.connectors.errors import Action, Failure, RemoteError

__all__ = [
    "Action",
    "BudgetPaused",
    "Connector",
    "Cursor",
    "Failure",
    "Page",
    "RemoteError",
    "WriteResult",
]
