"""The Salesforce checks (pure): from what the mappings and salesforce.yaml need and what the
org answered (login, describes) to a checklist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leadbridge.connectors.errors import Failure
from leadbridge.preflight.checks import Check, failed, failed_on, passed, said, transport_fix
from leadbridge.preflight.needs import (
    CHOICE,
    CREATED,
    DATE,
    EXTERNAL_ID,
    NUMBER,
    STAGE,
    TEXT,
    Need,
    Needs,
)
from leadbridge.preflight.values import fits, value_checks

GROUP = "Salesforce"
_DOCS = "docs/setup-salesforce.md"
_PERMISSIONS = "the leadbridge integration permission set"
_TEXTS = {"string", "textarea", "email", "phone", "url", "picklist", "combobox"}
_TYPES = {
    TEXT: frozenset({*_TEXTS, "encryptedstring"}),
    NUMBER: frozenset({"double", "int", "currency", "percent", "long"}),
    DATE: frozenset({"date", "datetime"}),
    CHOICE: frozenset({"picklist", "multipicklist", "combobox", "string", "textarea"}),
    STAGE: frozenset({"picklist"}),
    EXTERNAL_ID: frozenset({"string"}),
}
_EXPECTED = {
    TEXT: "text",
    NUMBER: "number",
    DATE: "date",
    CHOICE: "picklist or text",
    STAGE: "picklist",
    EXTERNAL_ID: "Text(64)",
}


@dataclass(frozen=True)
class SField:
    name: str
    type: str
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    options: tuple[str, ...] = ()
    restricted: bool = False


@dataclass(frozen=True)
class SObject:
    """An object's describe, as the run-as user sees it (fields it cannot read are absent)."""

    name: str
    queryable: bool = True
    createable: bool = True
    updateable: bool = True
    fields: Mapping[str, SField] = field(default_factory=dict)


@dataclass(frozen=True)
class SalesforceFacts:
    login_failure: Failure | None = None
    org_id: str | None = None  # the org the credentials logged in to
    expected_org: str | None = None  # salesforce.yaml's org_id
    objects: Mapping[str, SObject | Failure] = field(default_factory=dict)

    @property
    def wrong_org(self) -> bool:
        return (
            self.expected_org is not None
            and self.org_id is not None
            and self.org_id[:15] != self.expected_org[:15]
        )


def parse_describe(raw: Mapping[str, Any]) -> SObject:
    """sobjects/X/describe's answer, the parts the checks read."""
    fields = {}
    for item in raw.get("fields") or ():
        values = item.get("picklistValues") or ()
        fields[str(item["name"])] = SField(
            name=str(item["name"]),
            type=str(item.get("type") or ""),
            createable=bool(item.get("createable")),
            updateable=bool(item.get("updateable")),
            external_id=bool(item.get("externalId")),
            unique=bool(item.get("unique")),
            options=tuple(str(v["value"]) for v in values if v.get("active", True)),
            restricted=bool(item.get("restrictedPicklist")),
        )
    return SObject(
        name=str(raw.get("name") or ""),
        queryable=bool(raw.get("queryable", True)),
        createable=bool(raw.get("createable", True)),
        updateable=bool(raw.get("updateable", True)),
        fields=fields,
    )


def check_salesforce(needs: Needs | None, facts: SalesforceFacts) -> list[Check]:
    if facts.login_failure is not None:
        return [_login_refused(facts.login_failure)]
    checks = [passed(GROUP, "login", f"logged in to org {facts.org_id}"), _org(facts)]
    if facts.wrong_org or needs is None:
        return checks
    for obj in needs.objects:
        described = facts.objects.get(obj)
        wanted = [n for (o, _), n in needs.salesforce.items() if o == obj]
        checks.append(object_check(obj, described, wanted))
        if isinstance(described, SObject):
            for need in wanted:
                checks += field_checks(need, described.fields.get(need.name))
    lead, key = needs.external_id
    described = facts.objects.get(lead)
    if isinstance(described, SObject) and key in described.fields:
        checks.append(external_id_check(lead, described.fields[key]))
    return checks


def _login_refused(failure: Failure) -> Check:
    fix = transport_fix(failure, "SALESFORCE_URL", "SALESFORCE_CA_BUNDLE")
    if fix is None and failure.code in ("invalid_client_id", "invalid_client"):
        fix = (
            "copy the connected app's Consumer Key and Consumer Secret into "
            f"SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET ({_DOCS} section 2)"
        )
    if fix is None:
        fix = (
            "check SALESFORCE_URL (the org's My Domain URL), the app's Client Credentials Flow "
            f"and its Run As user, or the username and password ({_DOCS} section 2)"
        )
    return failed_on(GROUP, "login", f"refused: {said(failure)}", fix, failure)


def _org(facts: SalesforceFacts) -> Check:
    got, expected = facts.org_id, facts.expected_org
    if expected is None:
        detail = (
            f"org_id is not set in salesforce.yaml, so any org is accepted; set "
            f"SALESFORCE_ORG_ID={got} to refuse every other"
        )
        return passed(GROUP, "org id", detail)
    if not facts.wrong_org:
        return passed(GROUP, "org id", f"{got} matches salesforce.yaml's org_id")
    fix = (
        f"use the credentials of org {expected}'s connected app, or, if {got} is the org you "
        f"mean, set SALESFORCE_ORG_ID={got} ({_DOCS} section 2, step 7)"
    )
    detail = f"the credentials log in to org {got}, but salesforce.yaml's org_id is {expected}"
    return failed(GROUP, "org id", detail + "; nothing else was checked", fix)


def object_check(obj: str, described: SObject | Failure | None, wanted: list[Need]) -> Check:
    name = f"object {obj}"
    if not isinstance(described, SObject):
        detail = f"could not be described: {said(described)}" if described else "not described"
        fix = (
            transport_fix(described, "SALESFORCE_URL", "SALESFORCE_CA_BUNDLE")
            if described
            else None
        )
        fix = fix or f"give {_PERMISSIONS} Read and View All on {obj} ({_DOCS} section 4)"
        if described is None:
            return failed(GROUP, name, detail, fix)
        return failed_on(GROUP, name, detail, fix, described)
    rights = {"Read": described.queryable}
    if any(need.creates for need in wanted) and obj == CREATED:
        rights["Create"] = described.createable
    if any(need.writes for need in wanted):
        rights["Edit"] = described.updateable
    lacking = [right for right, ok in rights.items() if not ok]
    if lacking:
        fix = f"give {_PERMISSIONS} {', '.join(lacking)} on {obj} ({_DOCS} section 4)"
        return failed(GROUP, name, f"the run-as user lacks {', '.join(lacking)}", fix)
    return passed(GROUP, name, f"{', '.join(rights)} allowed")


def field_checks(need: Need, found: SField | None) -> list[Check]:
    label = f"{need.object}.{need.name}"
    if found is None:
        return [_missing(need, label)]
    lacking = []
    if need.creates and not found.createable:
        lacking.append("create")
    if need.writes and not found.updateable and need.kind != EXTERNAL_ID:
        lacking.append("update")
    if lacking:
        detail = f"the run-as user cannot {' or '.join(lacking)} it, and leadbridge writes it"
        fix = f"give {_PERMISSIONS} Edit on {label} (Field Permissions, {_DOCS} section 4)"
        return [failed(GROUP, label, detail, fix)]
    if need.writes and not fits(need.kind, found.type, _TYPES):
        expected = _EXPECTED.get(need.kind, need.kind)
        detail = f"it is {found.type}, but leadbridge writes {expected} to it"
        fix = f"map {', '.join(need.uses)} to a {expected} field"
        return [failed(GROUP, label, detail, fix)]
    how = "read and written" if need.reads and need.writes else "written" if need.writes else "read"
    checks = [passed(GROUP, label, f"exists ({found.type}), {how}")]
    return checks + value_checks(
        GROUP,
        label,
        need,
        found.options,
        found.restricted,
        lambda values: _value_fix(need, values),
    )


def _missing(need: Need, label: str) -> Check:
    detail = "missing, or the run-as user may not read it"
    grant = f"give {_PERMISSIONS} {'Edit' if need.writes else 'Read'} on it ({_DOCS} section 4)"
    if need.custom:
        fix = (
            f"create {label} (Setup > Object Manager > {need.object} > Fields & Relationships > "
            f"New; {_DOCS} section 3) and {grant}"
        )
    else:
        fix = grant[0].upper() + grant[1:]
    return failed(GROUP, label, detail, fix)


def _value_fix(need: Need, values: str) -> str:
    if need.kind == STAGE and need.name == "Status":
        return (
            f"add {values} to Lead Status (Setup > Object Manager > Lead > Fields & "
            f"Relationships > Lead Status > New), not marked Converted ({_DOCS} section 5)"
        )
    return (
        f"add {values} to {need.object}.{need.name}'s values (Setup > Object Manager > "
        f"{need.object} > Fields & Relationships), or change {', '.join(need.uses)}"
    )


def external_id_check(obj: str, found: SField) -> Check:
    label = f"external id {obj}.{found.name}"
    lacking = [
        flag
        for flag, ok in (("External ID", found.external_id), ("Unique", found.unique))
        if not ok
    ]
    if not lacking:
        return passed(GROUP, label, "External ID and Unique: a retried create finds its Lead")
    fix = (
        f"Setup > Object Manager > {obj} > Fields & Relationships > {found.name} > Edit: tick "
        f"{' and '.join(lacking)} ({_DOCS} section 3)"
    )
    detail = (
        f"not {' or '.join(lacking)}: a create retried after a lost answer could make a second Lead"
    )
    return failed(GROUP, label, detail, fix)
