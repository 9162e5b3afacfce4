"""The I/O of the doctor: ask each system what the checks need, reading only.

Known failures (refused, unreachable, 401/403, the budget spent) become facts the checks
turn into ✗ lines; nothing here writes, and nothing is retried for long.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leadbridge.config.funnel import HUBSPOT_OBJECT
from leadbridge.connectors.budget import BudgetPaused
from leadbridge.connectors.errors import Failure, RemoteError
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.salesforce.auth import LoginRefused, request_token
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.connectors.salesforce.soql import identifier
from leadbridge.model import System
from leadbridge.preflight.hubspot import HubSpotFacts
from leadbridge.preflight.salesforce import SalesforceFacts, SObject, parse_describe

_Known = (RemoteError, LoginRefused)


def _paused(system: System, exc: BudgetPaused) -> Failure:
    return Failure(system, 429, "BUDGET_PAUSED", str(exc))


def hubspot_facts(connector: HubSpotConnector) -> HubSpotFacts:
    """Token introspection, then the contact properties (one call each)."""
    token = token_failure = schema = schema_failure = None
    try:
        token = connector.token_info()
    except _Known as exc:
        token_failure = exc.failure
    except BudgetPaused as exc:
        token_failure = _paused(System.HUBSPOT, exc)
    try:
        schema = connector.describe(HUBSPOT_OBJECT)
    except _Known as exc:
        schema_failure = exc.failure
    except BudgetPaused as exc:
        schema_failure = _paused(System.HUBSPOT, exc)
    return HubSpotFacts(token, token_failure, schema, schema_failure)


def salesforce_facts(connector: SalesforceConnector, objects: Sequence[str]) -> SalesforceFacts:
    """One login (to learn the org it lands in), then one describe per object, unless the
    credentials lead to another org than salesforce.yaml names."""
    settings = connector.settings
    expected = settings.org_id
    anywhere = settings.model_copy(update={"org_id": None})
    try:
        token = request_token(connector.client.session, anywhere)
    except _Known as exc:
        return SalesforceFacts(login_failure=exc.failure, expected_org=expected)
    facts = SalesforceFacts(org_id=token.org_id, expected_org=expected)
    if facts.wrong_org:
        return facts
    described: dict[str, SObject | Failure] = {}
    for obj in objects:
        described[obj] = _describe(connector, obj)
    return SalesforceFacts(org_id=token.org_id, expected_org=expected, objects=described)


def _describe(connector: SalesforceConnector, obj: str) -> SObject | Failure:
    path = f"sobjects/{identifier(obj)}/describe"
    try:
        answer: Any = connector.client.call(lambda sf: sf.restful(path))
    except _Known as exc:
        return exc.failure
    except BudgetPaused as exc:
        return _paused(System.SALESFORCE, exc)
    return parse_describe(answer if isinstance(answer, dict) else {})
