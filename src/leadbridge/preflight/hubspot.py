"""The HubSpot checks (pure): from what the mappings need and what the portal answered
(token introspection, the contact properties) to a checklist."""

from __future__ import annotations

from dataclasses import dataclass

from leadbridge.connectors.base import FieldSchema, ObjectSchema
from leadbridge.connectors.errors import Failure
from leadbridge.connectors.hubspot.scopes import (
    REQUIRED_SCOPES,
    SCHEMAS_READ,
    SCHEMAS_WRITE,
    TokenInfo,
)
from leadbridge.preflight.checks import Check, failed, failed_on, passed, said, transport_fix
from leadbridge.preflight.needs import CHOICE, DATE, NUMBER, OWN, STAGE, TEXT, Need, Needs
from leadbridge.preflight.values import fits, value_checks

GROUP = "HubSpot"
_APP = "Settings > Integrations > Private Apps > leadbridge"
_TYPES = {
    TEXT: frozenset({"string", "phone_number"}),
    NUMBER: frozenset({"number"}),
    DATE: frozenset({"date", "datetime"}),
    CHOICE: frozenset({"enumeration", "string"}),
    STAGE: frozenset({"enumeration"}),
    OWN: frozenset({"string"}),
}
_EXPECTED = {
    TEXT: "text (string)",
    NUMBER: "number",
    DATE: "date",
    CHOICE: "enumeration or text",
    STAGE: "enumeration",
    OWN: "single-line text (string)",
}


@dataclass(frozen=True)
class HubSpotFacts:
    """What the portal answered; a failure where it refused or did not answer."""

    token: TokenInfo | None = None
    token_failure: Failure | None = None
    schema: ObjectSchema | None = None
    schema_failure: Failure | None = None


def own_fix(name: str) -> str:
    return (
        "run `leadbridge setup --apply`, or create it by hand: Settings > Data Management > "
        "Properties > Contact properties > Create property, object Contact, group Contact "
        f"information, field type Single-line text, internal name {name} "
        "(docs/setup-hubspot.md section 2)"
    )


def check_hubspot(needs: Needs | None, facts: HubSpotFacts) -> list[Check]:
    checks = [_token(facts)]
    if facts.token is not None:
        checks += _scopes(needs, facts)
    if facts.schema is None:
        checks += _unlisted(needs, facts)
        return checks
    if needs is not None:
        for need in needs.hubspot.values():
            checks += property_checks(need, facts.schema.fields.get(need.name))
    return checks


def _token(facts: HubSpotFacts) -> Check:
    if facts.token is not None:
        info = facts.token
        return passed(GROUP, "token", f"valid: portal {info.hub_id}, private app {info.app_id}")
    failure = facts.token_failure
    if failure is None:
        return failed(GROUP, "token", "not checked", "run leadbridge doctor again")
    fix = transport_fix(failure, "HUBSPOT_URL", "HUBSPOT_CA_BUNDLE")
    if fix is None:
        fix = (
            f"copy the access token from {_APP} > Auth into HUBSPOT_TOKEN "
            "(a rotated token invalidates the old one at once)"
        )
    return failed_on(GROUP, "token", f"refused: {said(failure)}", fix, failure)


def _scopes(needs: Needs | None, facts: HubSpotFacts) -> list[Check]:
    granted = facts.token.scopes if facts.token is not None else frozenset()
    own_exist = (
        needs is not None
        and facts.schema is not None
        and all(name in facts.schema.fields for name in needs.own)
    )
    checks = []
    for scope in REQUIRED_SCOPES:
        name = f"scope {scope}"
        if scope in granted:
            checks.append(passed(GROUP, name, "granted"))
        elif scope == SCHEMAS_WRITE and own_exist:
            detail = "not granted; not needed while leadbridge's own properties exist"
            checks.append(passed(GROUP, name, detail))
        else:
            fix = (
                f"tick {scope} on {_APP} > Scopes and commit the change; the token stays the "
                "same (docs/setup-hubspot.md section 1)"
            )
            checks.append(failed(GROUP, name, "not granted to the private app", fix))
    return checks


def _unlisted(needs: Needs | None, facts: HubSpotFacts) -> list[Check]:
    """The properties could not be listed: say why once, and that the own ones are unknown."""
    failure = facts.schema_failure
    detail = f"could not be listed: {said(failure)}" if failure else "not listed"
    fix = None
    if failure is not None:
        fix = transport_fix(failure, "HUBSPOT_URL", "HUBSPOT_CA_BUNDLE")
    if fix is None:
        fix = (
            f"grant {SCHEMAS_READ} ({_APP} > Scopes), then run leadbridge doctor again: "
            "until then no property, type or option can be checked"
        )
    checks = [
        failed_on(GROUP, "contact properties", detail, fix, failure)
        if failure is not None
        else failed(GROUP, "contact properties", detail, fix)
    ]
    for name in needs.own if needs is not None else ():
        unknown = "cannot tell whether it exists: the properties could not be listed"
        checks.append(failed(GROUP, f"property {name}", unknown, own_fix(name)))
    return checks


def property_checks(need: Need, found: FieldSchema | None) -> list[Check]:
    name = f"property {need.name}"
    if found is None:
        return [_missing(need)]
    problems = []
    if need.writes and not found.writable:
        problems.append("HubSpot computes it (read-only), but leadbridge writes it")
    if need.writes and not fits(need.kind, found.type, _TYPES):
        problems.append(
            f"it is {found.type}, but leadbridge writes {_EXPECTED.get(need.kind, need.kind)} to it"
        )
    if problems:
        return [failed(GROUP, name, "; ".join(problems), _wrong_fix(need))]
    how = "read and written" if need.reads and need.writes else "written" if need.writes else "read"
    checks = [passed(GROUP, name, f"exists ({found.type}), {how}")]
    label = need.name if need.kind == STAGE else f"property {need.name}"
    return checks + value_checks(
        GROUP,
        label,
        need,
        found.options,
        found.restricted,
        lambda values: (
            f"add {values} to the options of {need.name} (Settings > Data Management > "
            f"Properties > Contact properties > {found.label or need.name} > Edit), or change "
            f"the value in {', '.join(need.uses)} (docs/setup-hubspot.md section 3)"
        ),
    )


def _missing(need: Need) -> Check:
    name = f"property {need.name}"
    if need.kind == OWN:
        return failed(GROUP, name, "missing: leadbridge's own property", own_fix(need.name))
    if need.writes:
        expected = _EXPECTED.get(need.kind, need.kind)
        fix = (
            f"create the contact property {need.name} (Settings > Data Management > Properties "
            f"> Create property) as {expected}, or map {', '.join(need.uses)} to "
            "a property that exists"
        )
        return failed(GROUP, name, "missing, and leadbridge writes it", fix)
    detail = (
        f"not in the portal: reads as blank, so a rule on it never holds "
        f"({', '.join(need.uses)}; create it if you use it)"
    )
    return passed(GROUP, name, detail)


def _wrong_fix(need: Need) -> str:
    if need.kind == OWN:
        return (
            f"delete {need.name} and run `leadbridge setup --apply`, or recreate it by hand as "
            "single-line text (docs/setup-hubspot.md section 2)"
        )
    expected = _EXPECTED.get(need.kind, need.kind)
    return (
        f"map {', '.join(need.uses)} to a writable {expected} property, or make "
        "the field read-only there (direction always_hubspot in mappings/fields.yaml)"
    )
