"""`leadbridge setup`: what the doctor found missing, and what can be made of it.

`gather` asks the systems exactly what the doctor asks (the same facts, reading only);
`plan` (pure) turns the ✗s into actions: leadbridge's own HubSpot properties and the
enumeration options the mappings write, made through the API; the Salesforce custom
fields, Lead Status values and permission set, as a metadata package for an admin to
deploy. Every other ✗ stays a step for a person, with the doctor's fix. `apply_hubspot`
makes the HubSpot part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from leadbridge.config import Funnel, load_funnel
from leadbridge.connectors.base import FieldSchema
from leadbridge.connectors.errors import RemoteError
from leadbridge.connectors.hubspot import properties
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.hubspot.scopes import SCHEMAS_READ, SCHEMAS_WRITE
from leadbridge.connectors.hubspot.settings import (
    HubSpotSettings,
    Retry,
    load_hubspot_settings,
)
from leadbridge.connectors.hubspot.transport import Transport
from leadbridge.connectors.salesforce.client import RetryTuning
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.connectors.salesforce.settings import SalesforceSettings, load_salesforce_settings
from leadbridge.model import System
from leadbridge.preflight import hubspot, salesforce
from leadbridge.preflight.checks import Check, said
from leadbridge.preflight.gather import hubspot_facts, salesforce_facts
from leadbridge.preflight.hubspot import HubSpotFacts
from leadbridge.preflight.metadata import CustomField, ObjectAccess, Package, StatusValue
from leadbridge.preflight.needs import (
    CHOICE,
    CREATED,
    DATE,
    EXTERNAL_ID,
    NUMBER,
    SALESFORCE_STATUS,
    STAGE,
    Need,
    Needs,
    needs,
)
from leadbridge.preflight.salesforce import SalesforceFacts, SField, SObject

_HUBSPOT_RETRY = Retry(attempts=2, base=0.5, cap=2.0)
_SALESFORCE_RETRY = RetryTuning(attempts=2, base=0.5, cap=2.0)
_APP = "Settings > Integrations > Private Apps > leadbridge > Scopes"
# What docs/setup-salesforce.md section 3 defines; other custom fields get a type from
# how the mappings use them.
_KNOWN = {
    ("Lead", "Leadbridge_Id__c"): CustomField(
        "Lead", "Leadbridge_Id__c", "Text", 64, external_id=True, unique=True
    ),
    ("Lead", "HubSpot_Contact_Id__c"): CustomField(
        "Lead", "HubSpot_Contact_Id__c", "Text", 32, external_id=True
    ),
    ("Lead", "Recycle_Reason__c"): CustomField(
        "Lead",
        "Recycle_Reason__c",
        "Picklist",
        values=(
            "Bad Timing",
            "No Budget",
            "No Authority",
            "Went Dark",
            "Lost to Competitor",
            "On Hold",
            "Other",
        ),
        restricted=True,
    ),
    ("Opportunity", "Loss_Reason__c"): CustomField(
        "Opportunity",
        "Loss_Reason__c",
        "Picklist",
        values=("Price", "Competitor", "No Decision", "Timing", "Product Fit", "Other"),
        restricted=True,
    ),
}
# Its access follows the Opportunity's: a permission set names no rights on it.
_NO_OBJECT_RIGHTS = frozenset({"OpportunityContactRole"})
_STOPPERS = {(hubspot.GROUP, "token"), (salesforce.GROUP, "login"), (salesforce.GROUP, "org id")}


@dataclass(frozen=True)
class Found:
    """What the doctor would have gathered, and its checklist."""

    funnel: Funnel
    needs: Needs
    hubspot: HubSpotFacts
    salesforce: SalesforceFacts
    checks: tuple[Check, ...]
    hubspot_settings: HubSpotSettings
    salesforce_settings: SalesforceSettings


@dataclass(frozen=True)
class Plan:
    create: Mapping[str, str] = field(default_factory=dict)  # own property -> label
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # property -> values
    package: Package = field(default_factory=Package)
    blocked: tuple[str, ...] = ()  # HubSpot actions it cannot take yet, and why
    stoppers: tuple[Check, ...] = ()  # ✗s that keep it from knowing what is missing
    manual: tuple[Check, ...] = ()  # other ✗s: a person's steps

    @property
    def hubspot_actions(self) -> bool:
        return bool(self.create or self.options)


def gather(mappings: Path, connectors: Path, env: Mapping[str, str]) -> Found:
    """Load the files (ConfigError as the doctor would list it) and ask both systems."""
    funnel = load_funnel(mappings)
    hs_settings = load_hubspot_settings(connectors / "hubspot.yaml", env)
    sf_settings = load_salesforce_settings(connectors / "salesforce.yaml", env)
    wanted = needs(funnel, hs_settings, sf_settings)
    hs_settings = hs_settings.model_copy(update={"retry": _HUBSPOT_RETRY})
    hs_facts = hubspot_facts(HubSpotConnector(hs_settings))
    with SalesforceConnector(sf_settings, tuning=_SALESFORCE_RETRY) as connector:
        sf_facts = salesforce_facts(connector, wanted.objects)
    checks = (
        *hubspot.check_hubspot(wanted, hs_facts),
        *salesforce.check_salesforce(wanted, sf_facts),
    )
    return Found(funnel, wanted, hs_facts, sf_facts, checks, hs_settings, sf_settings)


def plan(found: Found) -> Plan:
    handled: set[tuple[str, str]] = set()
    create, options, blocked = _hubspot_plan(found, handled)
    package = _package(found, handled)
    stoppers = tuple(c for c in found.checks if not c.ok and (c.group, c.name) in _STOPPERS)
    manual = tuple(
        c
        for c in found.checks
        if not c.ok and (c.group, c.name) not in handled and c not in stoppers
    )
    return Plan(create, options, package, tuple(blocked), stoppers, manual)


def apply_hubspot(settings: HubSpotSettings, planned: Plan) -> tuple[list[str], list[str]]:
    """Make the planned properties and options: (what was done, what failed), one line each."""
    transport = Transport(settings)
    done: list[str] = []
    failures: list[str] = []
    if planned.create:
        try:
            made = properties.ensure(transport, planned.create)
        except RemoteError as exc:
            failures.append(f"creating {', '.join(planned.create)}: {said(exc.failure)}")
        else:
            done += [f"created contact property {name} (single-line text)" for name in made]
    for name, values in planned.options.items():
        try:
            added = properties.add_options(transport, name, values)
        except RemoteError as exc:
            failures.append(f"adding {', '.join(values)} to {name}: {said(exc.failure)}")
            continue
        if added:
            done.append(f"added {', '.join(added)} to the options of {name}")
    return done, failures


# -- HubSpot


def _hubspot_plan(
    found: Found, handled: set[tuple[str, str]]
) -> tuple[dict[str, str], dict[str, tuple[str, ...]], list[str]]:
    facts, wanted = found.hubspot, found.needs
    if facts.token is None:
        return {}, {}, []
    schema = facts.schema
    if schema is None:
        handled.add((hubspot.GROUP, "contact properties"))
        handled.update((hubspot.GROUP, f"property {name}") for name in wanted.own)
        handled.update((hubspot.GROUP, f"scope {s}") for s in (SCHEMAS_READ, SCHEMAS_WRITE))
        return {}, {}, [_blocked(facts, SCHEMAS_READ)]
    labels = found.funnel.own_hubspot_properties
    create = {name: labels.get(name, name) for name in wanted.own if name not in schema.fields}
    handled.update((hubspot.GROUP, f"property {name}") for name in create)
    options: dict[str, tuple[str, ...]] = {}
    for need in wanted.hubspot.values():
        missing = _missing_options(need, schema.fields.get(need.name))
        if missing:
            options[need.name] = missing
            handled.update(_option_checks(need, missing))
    if (create or options) and SCHEMAS_WRITE not in facts.token.scopes:
        handled.add((hubspot.GROUP, f"scope {SCHEMAS_WRITE}"))
        return {}, {}, [_blocked(facts, SCHEMAS_WRITE)]
    return create, options, []


def _blocked(facts: HubSpotFacts, scope: str) -> str:
    lacking = [
        s for s in (SCHEMAS_READ, SCHEMAS_WRITE) if facts.token and s not in facts.token.scopes
    ]
    why = f"the private app lacks {', '.join(lacking) or scope}"
    if facts.schema is None and facts.schema_failure is not None:
        why = f"the contact properties could not be listed ({said(facts.schema_failure)})"
    return (
        f"HubSpot: {why}: tick {' and '.join(lacking) or scope} on {_APP} and commit, then run "
        "`leadbridge setup --apply` again to create leadbridge's own properties and the "
        "missing options"
    )


def _missing_options(need: Need, found: object) -> tuple[str, ...]:
    """The values leadbridge writes (or reads as a stage) that an enumeration lacks, where
    the doctor fails on them: a stage's, or any value of a restricted one."""
    if not isinstance(found, FieldSchema) or found.type != "enumeration" or not found.writable:
        return ()
    if need.kind != STAGE and not found.restricted:
        return ()
    wanted = dict.fromkeys((*need.values, *need.counted))
    return tuple(value for value in wanted if value not in found.options)


def _option_checks(need: Need, missing: tuple[str, ...]) -> set[tuple[str, str]]:
    if need.kind == STAGE:
        return {(hubspot.GROUP, f"{need.name} value {value}") for value in missing}
    return {(hubspot.GROUP, f"property {need.name} values")}


# -- Salesforce


def _package(found: Found, handled: set[tuple[str, str]]) -> Package:
    facts, wanted = found.salesforce, found.needs
    if facts.login_failure is not None or facts.wrong_org:
        return Package()
    fields: list[CustomField] = []
    access: dict[str, bool] = {}
    statuses: tuple[StatusValue, ...] = ()
    for (obj, name), need in wanted.salesforce.items():
        described = facts.objects.get(obj)
        if not isinstance(described, SObject):
            continue
        label = f"{obj}.{name}"
        have = described.fields.get(name)
        if need.custom:
            access[label] = access.get(label, False) or need.writes
        if have is None:
            access[label] = need.writes
            if need.custom:
                fields.append(_field(found.funnel, need))
            handled.add((salesforce.GROUP, label))
        elif _locked(need, have):
            access[label] = True
            handled.add((salesforce.GROUP, label))
        elif (obj, name) == SALESFORCE_STATUS and need.kind == STAGE:
            statuses = _statuses(need, have, handled)
    fields += _external_id(found, handled)
    flagged = fields or statuses or any((salesforce.GROUP, k) in handled for k in access)
    if not flagged:
        return Package()
    objects = tuple(
        _object_access(obj, wanted) for obj in wanted.objects if obj not in _NO_OBJECT_RIGHTS
    )
    fields.sort(key=lambda custom: (custom.object, custom.name))
    return Package(tuple(fields), statuses, objects, access)


def _locked(need: Need, have: SField) -> bool:
    """Read, but leadbridge writes it: field-level security, which the permission set opens."""
    if need.creates and not have.createable:
        return True
    return need.writes and not have.updateable and need.kind != EXTERNAL_ID


def _statuses(need: Need, have: SField, handled: set[tuple[str, str]]) -> tuple[StatusValue, ...]:
    wanted = dict.fromkeys((*need.values, *need.counted))
    missing = [value for value in wanted if value not in have.options]
    if not missing:
        return ()
    handled.update((salesforce.GROUP, f"{need.object}.{need.name} value {v}") for v in missing)
    # A StandardValueSet deploy replaces the set: every value the org has, then the new ones.
    existing = [
        StatusValue(value, converted="convert" in value.lower(), default=i == 0)
        for i, value in enumerate(have.options)
    ]
    return (*existing, *(StatusValue(value) for value in missing))


def _external_id(found: Found, handled: set[tuple[str, str]]) -> list[CustomField]:
    """The external id field held as plain text: redefined External ID and Unique."""
    obj, name = found.needs.external_id
    described = found.salesforce.objects.get(obj)
    if not isinstance(described, SObject) or not name.endswith("__c"):
        return []
    have = described.fields.get(name)
    if have is None or (have.external_id and have.unique):
        return []
    handled.add((salesforce.GROUP, f"external id {obj}.{name}"))
    need = found.needs.salesforce[(obj, name)]
    return [_field(found.funnel, need)]


def _field(funnel: Funnel, need: Need) -> CustomField:
    known = _KNOWN.get((need.object, need.name))
    listed = funnel.picklists.get((System.SALESFORCE, need.object, need.name), ())
    if known is not None:
        return known if not listed or not known.values else _with_values(known, listed)
    obj, name = need.object, need.name
    if need.kind == EXTERNAL_ID:
        return CustomField(obj, name, "Text", 64, external_id=True, unique=True)
    values = listed or (need.values if need.kind == CHOICE else ())
    if values:
        return CustomField(obj, name, "Picklist", values=tuple(values), restricted=True)
    if need.kind == NUMBER:
        return CustomField(obj, name, "Number")
    if need.kind == DATE:
        return CustomField(obj, name, "Date")
    return CustomField(obj, name, "Text", 255)


def _with_values(known: CustomField, values: tuple[str, ...]) -> CustomField:
    return replace(known, values=tuple(values))


def _object_access(obj: str, wanted: Needs) -> ObjectAccess:
    used = [need for (o, _), need in wanted.salesforce.items() if o == obj]
    creates = obj == CREATED and any(need.creates for need in used)
    return ObjectAccess(obj, create=creates, edit=any(need.writes for need in used))
