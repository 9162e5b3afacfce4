"""The webhook receiver: HubSpot webhooks and Salesforce Outbound Messages in, hints out.

`create_app` builds the ASGI app the daemon serves with uvicorn; see app.py.
"""

from leadbridge.webhooks.app import Readiness, Receiver, create_app
from leadbridge.webhooks.salesforce import SalesforceHooks, hooks_from

__all__ = ["Readiness", "Receiver", "SalesforceHooks", "create_app", "hooks_from"]
