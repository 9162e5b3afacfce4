"""The setup and configuration docs list what the code and the shipped files require.

Each list a person follows by hand (variables, YAML keys, custom fields, picklist values,
properties, scopes, webhook event types) is a table in docs/ whose first column holds the
names in backticks. These tests read those tables, not loose mentions anywhere on the
page, and compare them both ways with what the code, the connection files and the shipped
mappings say: a name added on one side only fails here.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from leadbridge.alerts.settings import SlackSettings
from leadbridge.config import Funnel, load_funnel
from leadbridge.config.schema import FieldsFile, HandoffFile, StagesFile
from leadbridge.config.scoring_schema import ScoringFile
from leadbridge.connectors.hubspot.scopes import REQUIRED_SCOPES as HUBSPOT_SCOPES
from leadbridge.connectors.hubspot.settings import HubSpotSettings, load_hubspot_settings
from leadbridge.connectors.salesforce.settings import SalesforceSettings, load_salesforce_settings
from leadbridge.model import System
from leadbridge.webhooks.hubspot import CONTACT_EVENTS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CONNECTORS = ROOT / "connectors"
MAPPINGS = ROOT / "mappings"
SRC = ROOT / "src" / "leadbridge"

# The HubSpot private app's scopes: the list `leadbridge doctor` checks the token against.
REQUIRED_SCOPES = frozenset(HUBSPOT_SCOPES)
# leadbridge's own HubSpot properties, made by `setup --apply` (Funnel.own_hubspot_properties).
OWN_PROPERTIES = frozenset({"leadbridge_stage", "leadbridge_handback_reason"})

_BACKTICKED = re.compile(r"`([^`]+)`")
_ENV_REFERENCE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")
# A variable's name as a string literal: the code reads it by that string, while a Python
# constant named LEADBRIDGE_* (the sandbox has some) is no variable.
_LEADBRIDGE_VAR = re.compile(r"[\"'](LEADBRIDGE_[A-Z_]+)[\"']")
_ENV_GET = re.compile(r"environ\.get\(\s*\"([A-Za-z_][A-Za-z0-9_]*)\"")
_CUSTOM_FIELD = re.compile(r"\b[A-Za-z][A-Za-z0-9_]*__c\b")
# A setting written out but commented out, as `# username: ${SALESFORCE_USERNAME}`.
_COMMENTED_SETTING = re.compile(r"^\s*#\s*[a-z_]+:\s*\$\{")

_FAKE_ENV = {
    "HUBSPOT_TOKEN": "pat-na1-docs-test",
    "SALESFORCE_URL": "https://docs.my.salesforce.com",
    "SALESFORCE_CLIENT_ID": "docs-test-client",
    "SALESFORCE_CLIENT_SECRET": "docs-test-secret",
}


# --- reading the docs -----------------------------------------------------------------


def _sections(path: Path) -> list[tuple[int, str, list[str]]]:
    """(heading level, heading text, lines) per heading, in order."""
    found: list[tuple[int, str, list[str]]] = [(0, "", [])]
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^(#{1,6})\s+(.*)$", line)
        if match:
            found.append((len(match[1]), match[2].strip(), []))
        else:
            found[-1][2].append(line)
    return found


def table_rows(path: Path, heading: str) -> list[list[str]]:
    """The body rows of every table under the first heading containing `heading`,
    subsections included, as lists of cells."""
    sections = _sections(path)
    start = next(
        (i for i, (level, text, _) in enumerate(sections) if level and heading in text), None
    )
    assert start is not None, f"{path.name} has no heading containing {heading!r}"
    level = sections[start][0]
    rows: list[list[str]] = []
    for index in range(start, len(sections)):
        if index > start and sections[index][0] <= level:
            break
        table: list[str] = []
        for line in [*sections[index][2], ""]:
            if line.lstrip().startswith("|"):
                table.append(line.strip())
                continue
            # A table's first row is its header and its second the |---| separator.
            rows += [_cells(row) for row in table[2:]]
            table = []
    assert rows, f"{path.name}: no table rows under {heading!r}"
    return rows


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip("|").split("|")]


def names(path: Path, heading: str) -> set[str]:
    """The backticked names in the first column of the tables under `heading`."""
    found: set[str] = set()
    for row in table_rows(path, heading):
        found.update(_BACKTICKED.findall(row[0]))
    return found


def row_for(path: Path, heading: str, name: str) -> list[str]:
    for row in table_rows(path, heading):
        if name in _BACKTICKED.findall(row[0]):
            return row
    raise AssertionError(f"{path.name}: no row for {name!r} under {heading!r}")


# --- what the code and the shipped files require ----------------------------------------


@pytest.fixture(scope="module")
def funnel() -> Funnel:
    return load_funnel(MAPPINGS)


def _live_yaml(path: Path) -> str:
    """The file without its comments, except settings written out but commented out
    (`# password: ${SALESFORCE_PASSWORD}`): prose such as "as ${ENV_VAR}" is not a variable."""
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if _COMMENTED_SETTING.match(line):
            kept.append(line.split("#", 1)[1])
        else:
            kept.append(re.sub(r"(^|\s)#.*$", "", line))
    return "\n".join(kept)


def yaml_references() -> dict[str, str | None]:
    """Every ${VAR} the connection files expand -> its default (None: none given)."""
    found: dict[str, str | None] = {}
    for path in sorted(CONNECTORS.glob("*.yaml")):
        for name, default in _ENV_REFERENCE.findall(_live_yaml(path)):
            found.setdefault(name, default or None)
    assert found, "no ${VAR} found in connectors/*.yaml"
    return found


def code_variables() -> set[str]:
    """LEADBRIDGE_* names quoted anywhere in src/, and names read with environ.get("...")."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found.update(_LEADBRIDGE_VAR.findall(text))
        found.update(_ENV_GET.findall(text))
    return found


def custom_fields() -> set[str]:
    found: set[str] = set()
    for path in [CONNECTORS / "salesforce.yaml", *sorted(MAPPINGS.glob("*.yaml"))]:
        found.update(_CUSTOM_FIELD.findall(_live_yaml(path)))
    return found


def custom_field_objects(funnel: Funnel) -> dict[str, set[str]]:
    """Custom field -> the Salesforce objects the connection file or the mappings put it on."""
    settings = load_salesforce_settings(CONNECTORS / "salesforce.yaml", _FAKE_ENV)
    where: dict[str, set[str]] = {}
    for obj in type(settings.objects).model_fields:
        listed = settings.objects.get(obj)
        for field in listed.fields if listed is not None else ():
            if field.endswith("__c"):
                where.setdefault(field, set()).add(obj)
    for fmap in funnel.fields.values():
        for obj, field in fmap.salesforce.items():
            if field.endswith("__c"):
                where.setdefault(field, set()).add(obj)
    where.setdefault(settings.external_id_field, set()).add("Lead")
    return where


def hubspot_properties(funnel: Funnel) -> set[str]:
    """Every contact property leadbridge reads or writes."""
    settings = load_hubspot_settings(CONNECTORS / "hubspot.yaml", _FAKE_ENV)
    mapped = {fmap.hubspot for fmap in funnel.fields.values() if fmap.hubspot}
    stage = {funnel.hubspot_stage_property} if funnel.hubspot_stage_property else set()
    own = set(funnel.own_hubspot_properties)  # with scoring.yaml's write targets
    return mapped | stage | OWN_PROPERTIES | own | set(settings.read_properties)


def _models_in(annotation: Any) -> list[tuple[str, type[BaseModel]]]:
    """The models an annotation holds, with how a key path reaches them ([] or .<name>)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("", annotation)]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _models_in(args[0])
    if origin in (list, tuple):
        return [
            ("[]" + via, m) for arg in args if arg is not Ellipsis for via, m in _models_in(arg)
        ]
    if origin is dict:
        return [(".<name>" + via, m) for via, m in _models_in(args[1])]
    return [found for arg in args for found in _models_in(arg)]


def model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every YAML key path of a settings model: `budget.headroom`, `stages[].sla`,
    `fields.<name>.direction`. A choice of several models (a rule's condition) is one key."""
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        key = prefix + (info.alias or name)
        keys.add(key)
        inner = _models_in(info.annotation)
        if len(inner) == 1:
            via, sub = inner[0]
            keys |= model_keys(sub, key + via + ".")
    return keys


# --- (a) environment variables ------------------------------------------------------------


def test_every_variable_the_files_and_code_read_is_documented() -> None:
    documented = names(DOCS / "configuration.md", "Environment variables")
    required = set(yaml_references()) | {
        name for name in code_variables() if name.startswith("LEADBRIDGE_")
    }
    assert required - documented == set(), "variables missing from docs/configuration.md"


def test_every_documented_variable_is_read_somewhere() -> None:
    documented = names(DOCS / "configuration.md", "Environment variables")
    known = set(yaml_references()) | code_variables()
    assert documented - known == set(), "docs/configuration.md lists variables nothing reads"


def test_documented_defaults_are_the_files_defaults() -> None:
    for name, default in yaml_references().items():
        if default:
            cell = row_for(DOCS / "configuration.md", "Environment variables", name)[2]
            assert f"`{default}`" in cell, f"{name}: default {default!r} not in {cell!r}"


# --- YAML keys --------------------------------------------------------------------------


def _normalised(key: str) -> str:
    # Objects has one key per object with the same shape; the doc names them <Object>.
    return re.sub(r"^objects\.[A-Za-z]+", "objects.<Object>", key)


@pytest.mark.parametrize(
    ("heading", "model"),
    [
        ("connectors/hubspot.yaml", HubSpotSettings),
        ("connectors/salesforce.yaml", SalesforceSettings),
        ("connectors/slack.yaml", SlackSettings),
        ("mappings/stages.yaml", StagesFile),
        ("mappings/fields.yaml", FieldsFile),
        ("mappings/handoff.yaml", HandoffFile),
        ("mappings/scoring.yaml", ScoringFile),
    ],
)
def test_every_yaml_key_is_documented_and_exists(heading: str, model: type[BaseModel]) -> None:
    keys = {_normalised(key) for key in model_keys(model)}
    documented = names(DOCS / "configuration.md", heading)
    assert keys - documented == set(), f"{heading}: keys missing from docs/configuration.md"
    assert documented - keys == set(), f"{heading}: docs/configuration.md lists unknown keys"


# --- (b) Salesforce custom fields -------------------------------------------------------


def test_custom_fields_match_the_files(funnel: Funnel) -> None:
    documented = names(DOCS / "setup-salesforce.md", "Custom fields")
    assert documented == custom_fields()
    for field, objects in custom_field_objects(funnel).items():
        cell = row_for(DOCS / "setup-salesforce.md", "Custom fields", field)[1]
        assert objects <= set(re.findall(r"[A-Za-z]+", cell)), f"{field}: objects {objects}"


def test_custom_picklist_values_are_documented(funnel: Funnel) -> None:
    for fmap in funnel.fields.values():
        for obj, field in fmap.salesforce.items():
            if not field.endswith("__c"):
                continue
            values = set(funnel.picklists.get((System.SALESFORCE, obj, field), ()))
            for spellings in (fmap.values or {}).values():
                values.update(spellings.get(System.SALESFORCE, ()))
            row = " ".join(row_for(DOCS / "setup-salesforce.md", "Custom fields", field))
            assert values <= set(_BACKTICKED.findall(row)), f"{field}: values not documented"


# --- (c) the stage values the shipped mappings write ------------------------------------


def _stage_values(funnel: Funnel, attribute: str) -> set[str]:
    found: set[str] = set()
    for stage in funnel.stages:
        value = getattr(stage, attribute)
        found.update([value] if isinstance(value, str) else value or ())
    return found


@pytest.mark.parametrize(
    ("doc", "heading", "attributes", "picklist"),
    [
        (
            "setup-salesforce.md",
            "Lead Status values",
            ("salesforce_status",),
            (System.SALESFORCE, "Lead", "Status"),
        ),
        (
            "setup-hubspot.md",
            "lifecyclestage values",
            ("hubspot_lifecycle", "hubspot_lifecycles"),
            (System.HUBSPOT, "contact", "lifecyclestage"),
        ),
        (
            "setup-hubspot.md",
            "hs_lead_status values",
            ("hubspot_lead_status",),
            (System.HUBSPOT, "contact", "hs_lead_status"),
        ),
    ],
)
def test_stage_values_are_documented(
    funnel: Funnel,
    doc: str,
    heading: str,
    attributes: tuple[str, ...],
    picklist: tuple[System, str, str],
) -> None:
    written = set().union(*(_stage_values(funnel, name) for name in attributes))
    documented = names(DOCS / doc, heading)
    assert written - documented == set(), f"{doc}: stage values missing"
    # Besides the stages' values, a doc may list other values of the same picklist
    # (Salesforce's converted status), never a value the mappings do not know.
    allowed = written | set(funnel.picklists.get(picklist, ()))
    assert documented - allowed == set(), f"{doc}: values the mappings do not know"


# --- (d) HubSpot properties ---------------------------------------------------------------


def test_hubspot_properties_match_the_mappings(funnel: Funnel) -> None:
    documented = names(DOCS / "setup-hubspot.md", "Contact properties")
    assert documented == hubspot_properties(funnel)


def test_own_properties_are_the_mappings_names(funnel: Funnel) -> None:
    # The names leadbridge creates are fixed in the code; the mappings must use them.
    assert funnel.hubspot_stage_property in OWN_PROPERTIES
    reason = funnel.fields[funnel.reason_field] if funnel.reason_field else None
    assert reason is not None and reason.hubspot in OWN_PROPERTIES


# --- (e) scopes, and the webhook event types ------------------------------------------------


def test_scopes_are_the_required_ones() -> None:
    assert names(DOCS / "setup-hubspot.md", "The private app") == REQUIRED_SCOPES


def test_webhook_event_types_are_the_accepted_ones() -> None:
    assert names(DOCS / "setup-hubspot.md", "Webhooks") == set(CONTACT_EVENTS)


def test_readme_links_the_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for doc in ("setup-hubspot.md", "setup-salesforce.md", "configuration.md"):
        assert f"(docs/{doc})" in readme, f"README.md does not link docs/{doc}"
