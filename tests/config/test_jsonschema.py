"""The JSON Schemas editors read (`leadbridge schema`): committed as generated, named by each
shipped file's first line, passing the shipped files and refusing broken ones.

Every broken file here is refused by the loader too, and every variant the schema must
pass also loads: the schema and `leadbridge check` agree on them, so an editor neither
stays silent about these mistakes nor marks a file that works.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import pytest
import yaml
from jsonschema import Draft7Validator
from pydantic import BaseModel, PlainValidator

from leadbridge.alerts.settings import load_slack_settings
from leadbridge.cli import main
from leadbridge.cli.schema import FILES, SCHEMA_DIR, modeline, render, run_schema, schema_file
from leadbridge.config import ConfigError, funnel_from_texts
from leadbridge.config.jsonschema import REFUSED, FileSchema, MissingShape, generate
from leadbridge.config.source import load_document
from leadbridge.config.values import duration
from leadbridge.connectors.hubspot.settings import load_hubspot_settings
from leadbridge.connectors.salesforce.settings import load_salesforce_settings

REPO = Path(__file__).resolve().parents[2]
MAPPING_FILES = ("stages", "fields", "handoff")
# What the connection files' required ${VARS} hold at load time in these tests.
ENV = {
    "HUBSPOT_TOKEN": "pat-na1-schema-test",
    "SALESFORCE_URL": "https://schema.my.salesforce.com",
    "SALESFORCE_CLIENT_ID": "schema-test-client",
    "SALESFORCE_CLIENT_SECRET": "schema-test-secret",
}
_LOADERS: Mapping[str, Callable[[Path, Mapping[str, str]], object]] = {
    "hubspot": load_hubspot_settings,
    "salesforce": load_salesforce_settings,
    "slack": load_slack_settings,
}


def shipped(name: str) -> Path:
    return REPO / FILES[name][0] / f"{name}.yaml"


def committed(name: str) -> Path:
    return REPO / FILES[name][0] / SCHEMA_DIR / schema_file(name)


def data(name: str) -> Any:
    """The shipped file as the loader reads it (the same YAML 1.2 booleans as editors)."""
    document, problems = load_document(shipped(name))
    assert document is not None and not problems
    return copy.deepcopy(document.data)


def validator(name: str) -> Draft7Validator:
    schema = json.loads(committed(name).read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def loads(name: str, content: Any, tmp_path: Path) -> bool:
    """Whether the loader takes `content` as file `name` (the other mappings as shipped)."""
    text = yaml.safe_dump(content, sort_keys=False)
    if name in MAPPING_FILES:
        texts = {other: shipped(other).read_text(encoding="utf-8") for other in MAPPING_FILES}
        texts["scoring"] = (REPO / "mappings" / "scoring.yaml").read_text(encoding="utf-8")
        texts[name] = text
        try:
            funnel_from_texts(texts)
        except ConfigError:
            return False
        return True
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        _LOADERS[name](path, ENV)
    except ConfigError:
        return False
    return True


# --- the committed files ----------------------------------------------------------------


@pytest.mark.parametrize("name", list(FILES))
def test_the_committed_schema_is_what_leadbridge_schema_makes_now(name: str) -> None:
    assert committed(name).read_text(encoding="utf-8") == render(name), (
        f"{committed(name)} is stale: run "
        f"`leadbridge schema {FILES[name][0]} --out {FILES[name][0]}/{SCHEMA_DIR}`"
    )


@pytest.mark.parametrize("name", list(FILES))
def test_each_shipped_file_names_its_schema_on_its_first_line(name: str) -> None:
    first = shipped(name).read_text(encoding="utf-8").splitlines()[0]
    assert first == modeline(name)
    named = first.split("$schema=", 1)[1]
    assert (shipped(name).parent / named).resolve() == committed(name).resolve()
    assert committed(name).is_file()


# Keywords of drafts after 7, which the YAML language server would not apply.
_LATER_KEYWORDS = frozenset(
    {"$defs", "prefixItems", "dependentRequired", "dependentSchemas", "unevaluatedProperties",
     "unevaluatedItems", "$anchor", "$dynamicRef", "minContains", "maxContains"}
)  # fmt: skip
_ANNOTATIONS = frozenset({"$ref", "description", "default", "title", "examples"})


def _mappings(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value, *(found for item in value.values() for found in _mappings(item))]
    if isinstance(value, list):
        return [found for item in value for found in _mappings(item)]
    return []


@pytest.mark.parametrize("name", list(FILES))
def test_each_schema_is_plain_draft_7(name: str) -> None:
    schema = json.loads(committed(name).read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    for node in _mappings(schema):
        assert not _LATER_KEYWORDS & set(node)
        if "$ref" in node:
            # Draft 7 ignores whatever sits beside a $ref: only words for hovers may.
            assert set(node) <= _ANNOTATIONS, node
            assert node["$ref"].startswith("#/definitions/")


def test_nothing_else_sits_in_the_schema_directories() -> None:
    for directory in ("mappings", "connectors"):
        names = {name for name, (found, _) in FILES.items() if found == directory}
        on_disk = {path.name for path in (REPO / directory / SCHEMA_DIR).iterdir()}
        assert on_disk == {schema_file(name) for name in names}


@pytest.mark.parametrize("name", list(FILES))
def test_each_shipped_file_passes_its_schema(name: str) -> None:
    errors = [error.message for error in validator(name).iter_errors(data(name))]
    assert errors == []


def test_the_connection_files_pass_with_their_references_unexpanded() -> None:
    content = data("hubspot")
    # Not a vacuous pass: these are ${VAR} text where a URL and a boolean are expected.
    assert content["base_url"].startswith("${") and content["push"]["enabled"].startswith("${")
    assert validator("hubspot").is_valid(content)
    assert validator("salesforce").is_valid(data("salesforce"))


# --- broken files -----------------------------------------------------------------------

Mutation = Callable[[Any], None]


def _set(*path: str | int, value: Any) -> Mutation:
    def mutate(content: Any) -> None:
        for part in path[:-1]:
            content = content[part]
        content[path[-1]] = value

    return mutate


def _drop(*path: str | int) -> Mutation:
    def mutate(content: Any) -> None:
        for part in path[:-1]:
            content = content[part]
        del content[path[-1]]

    return mutate


def _update(path: tuple[str | int, ...], **values: Any) -> Mutation:
    def mutate(content: Any) -> None:
        for part in path:
            content = content[part]
        content.update(values)

    return mutate


def _first_rule_when(condition: Any) -> Mutation:
    return _set("rules", 0, "when", value=condition)


BROKEN: list[tuple[str, str, Mutation]] = [
    ("stages", "an unknown top-level key", _set("stage_property", value="leadbridge_stage")),
    ("stages", "a misspelt owner", _set("stages", 2, "owner", value="marketting")),
    ("stages", "a stage without a name", _drop("stages", 0, "name")),
    ("stages", "an sla without a unit", _set("stages", 2, "sla", value=2)),
    ("stages", "an sla in words", _set("stages", 2, "sla", value="two days")),
    ("stages", "a stage name with capitals", _set("stages", 0, "name", value="Subscriber")),
    ("stages", "a list where a mapping goes", _set("stages", 0, "hubspot", value=["lead"])),
    ("stages", "no stages", _set("stages", value=[])),
    ("stages", "business hours in words", _set("business_hours", value="nine to five")),
    ("fields", "a direction spelt two-way", _set("fields", "email", "direction", value="two-way")),
    ("fields", "a field without direction", _drop("fields", "email", "direction")),
    ("fields", "an unknown transform", _set("fields", "email", "transforms", value=["trim"])),
    (
        "fields",
        "truncate without a length",
        _set("fields", "email", "transforms", value=[{"truncate": "long"}]),
    ),
    (
        "fields",
        "an object leadbridge does not map",
        _set("fields", "email", "salesforce", value={"Account": "Email"}),
    ),
    ("fields", "a field name with capitals", _set("fields", "Email", value={"direction": "none"})),
    ("fields", "a picklist of an unknown system", _set("picklists", "marketo", value={})),
    ("handoff", "an unknown condition operator", _first_rule_when({"gt": {"score": 60}})),
    (
        "handoff",
        "two operators in one condition",
        _first_rule_when({"eq": {"source": "x"}, "gte": {"score": 60}}),
    ),
    ("handoff", "an empty all", _first_rule_when({"all": []})),
    ("handoff", "a number test on text", _first_rule_when({"gte": {"score": "high"}})),
    (
        "handoff",
        "an unknown operator inside not",
        _first_rule_when({"not": {"contains": {"email": "x"}}}),
    ),
    (
        "handoff",
        "an unknown operator in changed_to",
        _first_rule_when({"changed_to": {"score": {"gt": 60}}}),
    ),
    ("handoff", "an older_than without a unit", _first_rule_when({"older_than": {"x": 30}})),
    ("handoff", "a rule without then", _drop("rules", 0, "then")),
    ("handoff", "a block of an unknown system", _set("rules", 0, "then", "block", value=["sap"])),
    ("handoff", "no rules", _set("rules", value=[])),
    ("hubspot", "a token pasted into the file", _set("token", value="pat-na1-0123456789")),
    ("hubspot", "the old look_back", _set("look_back", value="30s")),
    ("hubspot", "a poll interval in words", _set("poll_interval", value="every minute")),
    ("hubspot", "a headroom above 1", _set("budget", "headroom", value=2)),
    ("hubspot", "an unknown signature version", _set("push", "signature_versions", value=["v4"])),
    ("hubspot", "an unknown key in a section", _set("retry", "tries", value=3)),
    ("salesforce", "an unknown grant", _set("auth", "grant", value="oauth")),
    ("salesforce", "a pasted client secret", _set("auth", "client_secret", value="s3cr3t")),
    ("salesforce", "an object not read", _set("objects", "Case", value={"fields": ["Id"]})),
    ("salesforce", "a login URL over http", _set("login_url", value="http://login.example.com")),
    ("salesforce", "a number of seconds", _set("timeout", value=120)),
    ("slack", "a webhook URL pasted in", _set("webhook_url", value="https://hooks.slack.com/x")),
    ("slack", "a digest time in words", _set("digest", "at", value="9am")),
    ("slack", "no parked threshold", _set("health", "parked_threshold", value=0)),
]


@pytest.mark.parametrize(
    ("name", "mutate"),
    [(name, mutate) for name, _, mutate in BROKEN],
    ids=[i for _, i, _ in BROKEN],
)
def test_the_schema_refuses_a_broken_file_the_loader_refuses(
    name: str, mutate: Mutation, tmp_path: Path
) -> None:
    content = data(name)
    mutate(content)
    assert not loads(name, content, tmp_path), "not broken: the loader takes it"
    assert not validator(name).is_valid(content)


# --- what loads passes ------------------------------------------------------------------

WORKING: list[tuple[str, str, Mutation]] = [
    ("stages", "an sla with a fraction", _set("stages", 2, "sla", value="1.5d")),
    (
        "stages",
        "business hours",
        _update(
            ("stages", 2),
            sla="16h",
            business_hours="Mon-Thu 08:00-18:00, Fri 08:00-12:00",
            time_zone="Europe/Berlin",
        ),
    ),
    ("stages", "every hour", _update(("stages", 2), business_hours="24/7", time_zone="UTC")),
    ("handoff", "present with one field", _set("rules", 5, "when", value={"present": "email"})),
    (
        "handoff",
        "changed_to with an operator",
        _set("rules", 5, "when", value={"changed_to": {"score": {"gte": 60}}}),
    ),
    ("handoff", "a list name", _set("rules", 5, "when", value={"in": {"title": "not_a_buyer"}})),
    (
        "fields",
        "transforms with arguments",
        _set(
            "fields", "email", "transforms", value=["strip", {"truncate": 80}, {"default": "n/a"}]
        ),
    ),
    ("hubspot", "seconds as a number", _set("poll_interval", value=45)),
    ("hubspot", "a referenced duration", _set("timeout", value="${HUBSPOT_TIMEOUT:-45s}")),
    ("salesforce", "an unquoted API version", _set("api_version", value=59.0)),
    ("salesforce", "a referenced duration", _set("poll_interval", value="${SF_POLL:-2m}")),
    ("slack", "a referenced boolean", _set("digest", "enabled", value="${SLACK_DIGEST:-true}")),
    ("slack", "a portal id as a number", _set("links", "hubspot_portal_id", value=2424242)),
]


@pytest.mark.parametrize(
    ("name", "mutate"),
    [(name, mutate) for name, _, mutate in WORKING],
    ids=[i for _, i, _ in WORKING],
)
def test_the_schema_passes_what_the_loader_takes(
    name: str, mutate: Mutation, tmp_path: Path
) -> None:
    content = data(name)
    mutate(content)
    assert loads(name, content, tmp_path)
    assert [error.message for error in validator(name).iter_errors(content)] == []


@pytest.mark.parametrize(
    "written", ["2d", "90m", " 12h ", "1.5w", "500ms", "2 d", "2", "2 days", "d", "-1d", "2D", ""]
)
def test_the_duration_pattern_takes_what_the_loader_takes(written: str) -> None:
    try:
        duration(written)
    except ValueError:
        takes = False
    else:
        takes = True
    content = data("stages")
    content["stages"][2]["sla"] = written
    assert validator("stages").is_valid(content) is takes


# --- the generator and the command -----------------------------------------------------------


def _anything(value: Any) -> Any:
    return value


class _Unshaped(BaseModel):
    value: Annotated[str, PlainValidator(_anything)]


def test_a_custom_type_without_a_shape_is_an_error_not_anything() -> None:
    spec = FileSchema(_Unshaped, "x.yaml", "", shapes={})
    with pytest.raises(MissingShape, match="_anything"):
        generate(spec)
    shaped = generate(FileSchema(_Unshaped, "x.yaml", "", shapes={_anything: {"type": "string"}}))
    assert shaped["properties"]["value"] == {"type": "string"}
    refused = generate(FileSchema(_Unshaped, "x.yaml", "", shapes={_anything: REFUSED}))
    assert "value" not in refused.get("properties", {})


def test_the_condition_completes_every_operator_with_a_description() -> None:
    condition = json.loads(committed("handoff").read_text())["definitions"]["Condition"]
    assert list(condition["properties"]) == [
        "all", "any", "not", "eq", "in", "gte", "lte", "present", "absent", "domain_in",
        "changed_to", "older_than",
    ]  # fmt: skip
    assert all(prop["description"] for prop in condition["properties"].values())
    assert condition["maxProperties"] == condition["minProperties"] == 1


def test_out_writes_every_schema_as_committed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "--out", str(tmp_path)]) == 0
    written = capsys.readouterr().out.split()
    assert written == [str(tmp_path / schema_file(name)) for name in FILES]
    for name in FILES:
        assert (tmp_path / schema_file(name)).read_text() == committed(name).read_text()


def test_one_file_is_printed_and_no_name_prints_the_index() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run_schema(["handoff"], None, out, err) == 0
    assert json.loads(out.getvalue())["title"] == "handoff.yaml"
    out = io.StringIO()
    assert run_schema([], None, out, err) == 0
    for name in FILES:
        assert f"{FILES[name][0]}/{SCHEMA_DIR}/{schema_file(name)}" in out.getvalue()


def test_an_unknown_name_or_several_to_print_is_refused() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run_schema(["stage"], None, out, err) == 2
    assert "no file named stage" in err.getvalue() and "stages" in err.getvalue()
    assert run_schema(["mappings"], None, out, err) == 2
    assert "--out DIR" in err.getvalue()
    assert out.getvalue() == ""
