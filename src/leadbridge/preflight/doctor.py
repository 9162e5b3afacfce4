"""`leadbridge doctor`'s checks against the live systems: load the files, build the
connectors (no state database, no property creation: nothing is written anywhere), gather
what each system answers, and turn it into one checklist."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from leadbridge.config import ConfigError, Funnel, load_funnel
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.hubspot.settings import HubSpotSettings, Retry, load_hubspot_settings
from leadbridge.connectors.salesforce.client import RetryTuning
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.connectors.salesforce.settings import SalesforceSettings, load_salesforce_settings
from leadbridge.preflight import hubspot, salesforce
from leadbridge.preflight.checks import Check, failed, passed
from leadbridge.preflight.gather import hubspot_facts, salesforce_facts
from leadbridge.preflight.needs import Needs, needs
from leadbridge.preflight.usage import USAGE, budget_check

CONFIGURATION = "Configuration"
# A doctor answers within seconds: a service that does not answer is a ✗, not a long wait.
_HUBSPOT_RETRY = Retry(attempts=2, base=0.5, cap=2.0)
_SALESFORCE_RETRY = RetryTuning(attempts=2, base=0.5, cap=2.0)
_SHOWN_PROBLEMS = 5

_T = TypeVar("_T")


def diagnose(mappings: Path, connectors: Path, env: Mapping[str, str]) -> list[Check]:
    """Every check of the mappings, HubSpot and Salesforce (Slack is the caller's: its
    settings live in alerts)."""
    checks: list[Check] = []
    funnel = _loaded(checks, "mappings", mappings, lambda: load_funnel(mappings), _funnel)
    hs_file, sf_file = connectors / "hubspot.yaml", connectors / "salesforce.yaml"
    hs_settings = _loaded(
        checks, "hubspot.yaml", hs_file, lambda: load_hubspot_settings(hs_file, env), _file
    )
    sf_settings = _loaded(
        checks, "salesforce.yaml", sf_file, lambda: load_salesforce_settings(sf_file, env), _file
    )
    wanted = None
    if funnel is not None and hs_settings is not None and sf_settings is not None:
        wanted = needs(funnel, hs_settings, sf_settings)
    if hs_settings is not None:
        checks += _hubspot(hs_settings, wanted, str(hs_file))
    if sf_settings is not None:
        checks += _salesforce(sf_settings, wanted, str(sf_file))
    return checks


def blocking(checks: list[Check]) -> list[Check]:
    """The ✗ that keep the sync from deciding and writing: everything but the API usage,
    which the connectors' budgets pause on by themselves."""
    return [check for check in checks if not check.ok and check.name != USAGE]


def _hubspot(settings: HubSpotSettings, wanted: Needs | None, file: str) -> list[Check]:
    connector = HubSpotConnector(settings.model_copy(update={"retry": _HUBSPOT_RETRY}))
    facts = hubspot_facts(connector)
    checks = hubspot.check_hubspot(wanted, facts)
    return [*checks, budget_check(hubspot.GROUP, file, connector.health().budget)]


def _salesforce(settings: SalesforceSettings, wanted: Needs | None, file: str) -> list[Check]:
    with SalesforceConnector(settings, tuning=_SALESFORCE_RETRY) as connector:
        objects = wanted.objects if wanted is not None else ()
        facts = salesforce_facts(connector, objects)
        checks = salesforce.check_salesforce(wanted, facts)
        if facts.login_failure is None:
            checks.append(budget_check(salesforce.GROUP, file, connector.governor.state()))
    return checks


def _loaded(
    checks: list[Check],
    name: str,
    path: Path,
    load: Callable[[], _T],
    summary: Callable[[_T, Path], str],
) -> _T | None:
    try:
        found = load()
    except ConfigError as exc:
        problems = [str(problem) for problem in exc.problems]
        shown = "; ".join(problems[:_SHOWN_PROBLEMS])
        more = len(problems) - _SHOWN_PROBLEMS
        detail = shown + (f"; and {more} more" if more > 0 else "")
        fix = f"correct the lines named (`leadbridge check --mappings {path}` lists them all)"
        if name != "mappings":
            fix = f"correct the lines named in {path}, or set the variables they name"
        checks.append(failed(CONFIGURATION, name, detail, fix))
        return None
    checks.append(passed(CONFIGURATION, name, summary(found, path)))
    return found


def _funnel(funnel: Funnel, path: Path) -> str:
    return (
        f"{path}/ is valid: {len(funnel.stages)} stages, {len(funnel.fields)} fields, "
        f"{len(funnel.rules)} rules"
    )


def _file(_: object, path: Path) -> str:
    return f"{path} loads"
