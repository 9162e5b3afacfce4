"""JSON Schemas of the YAML files, made from their pydantic models, for editors.

An editor with the YAML language server reads the schema a file's first line names, then
completes keys, shows what each means on hover, and marks a mistake while RevOps types.
The models stay the one source: pydantic's generator does the work, and this module says,
in one place, what pydantic cannot know from them:

- the shape of each custom type: a PlainValidator takes anything as far as pydantic knows,
  so every one is given its JSON shape here (a duration is text with a unit, a name is
  lowercase...). A custom type without one fails the generation, so a new type cannot
  ship as "anything";
- a condition is one mapping whose keys are the operators (the models are a union of
  one-key models, which an editor would offer one model at a time);
- in a connection file any value may be a ${VAR} reference, expanded at load time, and a
  secret must be one.

A schema helps and never overrules: it refuses nothing that loads. What needs more than
one file or the environment (a stage handoff.yaml names that stages.yaml lacks, an unset
variable) stays `leadbridge check`'s.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from leadbridge.config.settings import _REFERENCE
from leadbridge.config.values import _DURATION, spelled

JsonSchema = dict[str, Any]
# Draft 7: what the YAML language server (and JetBrains, Monaco) validate; pydantic writes
# 2020-12's $defs, which generate() renames, and no keyword draft 7 lacks.
DIALECT = "http://json-schema.org/draft-07/schema#"
_DEFS, _DRAFT7_DEFS = "#/$defs/", "#/definitions/"


class _Refused:
    """The shape of a key the loader only keeps to refuse with a hint (an older file's
    look_back): the schema leaves it out, so an editor neither offers nor accepts it."""


REFUSED = _Refused()
# A fixed schema, or one made from what pydantic generates for the validated type (for a
# BeforeValidator that widens what it takes: one name where a list is expected).
Shape = JsonSchema | Callable[[JsonSchema], JsonSchema] | _Refused


@dataclass(frozen=True)
class FileSchema:
    """How to make one YAML file's schema."""

    model: type[BaseModel]
    title: str  # the file's name, shown by editors
    description: str
    shapes: Mapping[Callable[..., Any], Shape]  # validator function -> its JSON shape
    # Hover texts for keys the models carry no description of: model -> key -> text.
    descriptions: Mapping[type[BaseModel], Mapping[str, str]] = field(default_factory=dict)
    # A connection file: every value may be a ${VAR}, and these keys' values must be one.
    secret_keys: frozenset[str] | None = None
    # The name a union of one-key models is given as one mapping (handoff's Condition).
    one_key_union: str | None = None


class MissingShape(TypeError):
    """A custom type in a model that this module has no JSON shape for."""


# --- fragments the files share --------------------------------------------------------

# values.duration strips the text and matches this, so the schema allows the same spaces.
DURATION_PATTERN = rf"^\s*{_DURATION.pattern[1:-1]}\s*$"
REFERENCE_PATTERN = _REFERENCE.pattern
SECRET_PATTERN = rf"^\s*{_REFERENCE.pattern}\s*$"
NULL: JsonSchema = {"type": "null"}


def text(description: str, **constraints: Any) -> JsonSchema:
    return {"type": "string", **constraints, "description": description}


def duration(examples: str) -> JsonSchema:
    return text(f"a duration: a number and a unit, such as {examples}", pattern=DURATION_PATTERN)


def seconds(examples: str) -> JsonSchema:
    """A number of seconds, or a duration (the connection files take either)."""
    return {
        "anyOf": [{"type": "number", "minimum": 0}, duration(examples)],
        "description": f"seconds, or a duration such as {examples}",
    }


def integer(description: str, minimum: int) -> JsonSchema:
    return {"type": "integer", "minimum": minimum, "description": description}


def optional(shape: JsonSchema) -> JsonSchema:
    """`shape`, or left empty (null, as `key:` with nothing after it reads)."""
    return {"anyOf": [*_alternatives(shape), NULL]}


def fixed(shape: JsonSchema) -> Callable[[JsonSchema], JsonSchema]:
    return lambda _generated: copy.deepcopy(shape)


# --- generation ---------------------------------------------------------------------------


def generate(spec: FileSchema) -> JsonSchema:
    """The file's JSON Schema (draft 7), as `leadbridge schema` prints it."""
    generator = _Generator(spec.shapes, spec.descriptions)
    schema = generator.generate(spec.model.__pydantic_core_schema__, mode="validation")
    if spec.one_key_union is not None:
        _merge_one_key_unions(schema, spec.one_key_union)
    if spec.secret_keys is not None:
        _allow_references(schema, spec.secret_keys)
    schema.pop("title", None)
    header = {"$schema": DIALECT, "title": spec.title, "description": spec.description}
    return _draft7({**header, **schema})


def _draft7(schema: JsonSchema) -> JsonSchema:
    for node in _nodes(schema):
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith(_DEFS):
            node["$ref"] = _DRAFT7_DEFS + node["$ref"].removeprefix(_DEFS)
    if "$defs" in schema:
        schema["definitions"] = schema.pop("$defs")
    return schema


class _Generator(GenerateJsonSchema):
    def __init__(
        self,
        shapes: Mapping[Callable[..., Any], Shape],
        descriptions: Mapping[type[BaseModel], Mapping[str, str]],
    ) -> None:
        super().__init__(by_alias=True)
        self._shapes = shapes
        self._descriptions = descriptions

    def _shape(self, function: Callable[..., Any]) -> Shape | None:
        return self._shapes.get(function)

    def function_plain_schema(
        self, schema: core_schema.PlainValidatorFunctionSchema
    ) -> JsonSchemaValue:
        function = schema["function"]["function"]
        shape = self._shape(function)
        if shape is None or isinstance(shape, _Refused):
            raise MissingShape(
                f"{function.__module__}.{function.__qualname__} validates a value whose JSON "
                "shape is unknown: give it one in the file's shapes (config/jsonschema.py)"
            )
        return shape({}) if callable(shape) else copy.deepcopy(shape)

    def function_before_schema(
        self, schema: core_schema.BeforeValidatorFunctionSchema
    ) -> JsonSchemaValue:
        shape = self._shape(schema["function"]["function"])
        generated = super().function_before_schema(schema)
        if shape is None or isinstance(shape, _Refused):
            return generated  # a before-validator that only normalises: the type's own shape
        return shape(generated) if callable(shape) else copy.deepcopy(shape)

    def field_is_present(self, field: core_schema.ModelField) -> bool:  # type: ignore[override]
        inner = field["schema"]
        while inner["type"] == "default":
            inner = inner["schema"]
        if inner["type"] == "function-plain":
            return not isinstance(self._shape(inner["function"]["function"]), _Refused)
        return super().field_is_present(field)

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "Move To" for move_to says nothing the key does not; keep hovers short

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        generated = super().model_schema(schema)
        properties = generated.get("properties", {})
        for key, description in self._descriptions.get(schema["cls"], {}).items():
            if key not in properties:
                raise KeyError(f"{schema['cls'].__name__} has no key {key!r} to describe")
            # The key's meaning first, then what the type says about how to write it.
            own = properties[key].get("description")
            properties[key]["description"] = f"{description}: {own}" if own else description
        return generated

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if isinstance(schema.get("default"), BaseModel):
            # A section's defaults in full would be offered as the section's value.
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)

    def encode_default(self, dft: Any) -> Any:
        # As a file would write it, since an editor offers the default as the value to type.
        if isinstance(dft, timedelta):
            return spelled(dft)
        if isinstance(dft, time):
            return dft.strftime("%H:%M")
        if isinstance(dft, Path):
            return str(dft)
        return super().encode_default(dft)

    def _common_dict_schema(self, schema: Any) -> JsonSchemaValue:
        generated = super()._common_dict_schema(schema)
        names = generated.get("propertyNames", {}).get("enum")
        values = generated.get("additionalProperties")
        if names is not None and isinstance(values, dict):
            # A fixed set of keys as properties: editors complete properties, not propertyNames.
            del generated["propertyNames"]
            generated["properties"] = {name: copy.deepcopy(values) for name in names}
            generated["additionalProperties"] = False
        elif "patternProperties" in generated:
            generated["additionalProperties"] = False  # a key of another shape is refused
        return generated


# --- post-processing -------------------------------------------------------------------


def _alternatives(schema: JsonSchema) -> list[JsonSchema]:
    return list(schema["anyOf"]) if set(schema) == {"anyOf"} else [schema]


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in the schema, outermost first."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nodes(item)


def _merge_one_key_unions(schema: JsonSchema, name: str) -> None:
    """A union of closed one-key models (all: [...] | eq: {...} | ...) becomes one mapping
    whose properties are those keys, of which exactly one is written: an editor then
    completes every operator at once and describes each."""
    defs: dict[str, JsonSchema] = schema.get("$defs", {})

    def one_key(choice: Any) -> str | None:
        ref = choice.get("$ref", "") if isinstance(choice, dict) else ""
        found = defs.get(ref.removeprefix("#/$defs/"))
        if found is None or found.get("additionalProperties") is not False:
            return None
        keys = list(found.get("properties", {}))
        return (
            ref.removeprefix("#/$defs/") if len(keys) == 1 and found["required"] == keys else None
        )

    merged: list[str] | None = None
    for node in _nodes(schema):
        choices = node.get("oneOf")
        if not isinstance(choices, list) or len(choices) < 2:
            continue
        names = [one_key(choice) for choice in choices]
        if None in names:
            continue
        if merged is not None and names != merged:
            raise ValueError(f"two unions of one-key models; only one can be called {name}")
        merged = [found for found in names if found is not None]
        del node["oneOf"]
        node["$ref"] = f"#/$defs/{name}"
    if merged is None:
        raise ValueError(f"no union of one-key models to call {name}")
    properties = {key: value for part in merged for key, value in defs[part]["properties"].items()}
    for part in merged:
        del defs[part]
    defs[name] = {
        "type": "object",
        "description": f"a {name.lower()}: a mapping with exactly one of {', '.join(properties)}",
        "properties": properties,
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
    }
    referenced = {node["$ref"] for node in _nodes(schema) if isinstance(node.get("$ref"), str)}
    assert not {f"#/$defs/{part}" for part in merged} & referenced


_REFERENCE_DEF = "EnvReference"
_ONLY_REFERENCE_DEF = "SecretReference"
_ANNOTATIONS = ("title", "description", "default", "examples", "deprecated")
# What a string may carry and still take any text (format is an annotation, not a check).
_TEXT_CONSTRAINTS = frozenset({"pattern", "enum", "const", "minLength", "maxLength"})


def _allow_references(schema: JsonSchema, secret_keys: frozenset[str]) -> None:
    """Any value that is not a list or a mapping may be a ${VAR} (settings.py expands every
    string before validating), and a secret key's text must be a reference and nothing else."""
    defs: dict[str, JsonSchema] = schema.setdefault("$defs", {})
    for key, value in list(defs.items()):
        defs[key] = _referable(value, secret_keys)
    _referable(schema, secret_keys)
    defs[_REFERENCE_DEF] = text(
        "a ${ENV_VAR} reference, or ${ENV_VAR:-default}: read from the environment at start",
        pattern=REFERENCE_PATTERN,
    )
    defs[_ONLY_REFERENCE_DEF] = text(
        "a ${ENV_VAR} reference, and nothing else: a secret never goes in this file",
        pattern=SECRET_PATTERN,
    )


def _ref(name: str) -> JsonSchema:
    return {"$ref": f"#/$defs/{name}"}


def _takes_any_text(schema: JsonSchema) -> bool:
    return schema.get("type") == "string" and not _TEXT_CONSTRAINTS & set(schema)


def _is_container(schema: JsonSchema) -> bool:
    return "$ref" in schema or schema.get("type") in ("object", "array")


def _referable(schema: JsonSchema, secret_keys: frozenset[str]) -> JsonSchema:
    if "$ref" in schema:
        return schema
    if schema.get("type") == "object":
        return _referable_object(schema, secret_keys)
    if schema.get("type") == "array":
        if isinstance(schema.get("items"), dict):
            schema["items"] = _referable(schema["items"], secret_keys)
        return schema
    if "anyOf" in schema or "oneOf" in schema:
        return _referable_union(schema, secret_keys)
    if not schema or _takes_any_text(schema) or schema.get("type") == "null":
        return schema
    return _or_reference(schema)


def _referable_object(schema: JsonSchema, secret_keys: frozenset[str]) -> JsonSchema:
    properties = schema.get("properties", {})
    for key, value in properties.items():
        properties[key] = _secret(value) if key in secret_keys else _referable(value, secret_keys)
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = _referable(schema["additionalProperties"], secret_keys)
    patterns = schema.get("patternProperties", {})
    for pattern, value in patterns.items():
        patterns[pattern] = _referable(value, secret_keys)
    return schema


def _referable_union(schema: JsonSchema, secret_keys: frozenset[str]) -> JsonSchema:
    union = "anyOf" if "anyOf" in schema else "oneOf"
    choices = [
        _referable(choice, secret_keys) if _is_container(choice) else choice
        for choice in schema[union]
    ]
    schema[union] = choices
    leaves = [choice for choice in choices if not _is_container(choice)]
    if any(_takes_any_text(leaf) or not leaf for leaf in leaves) or all(
        leaf.get("type") == "null" for leaf in leaves
    ):
        return schema  # a reference passes already, or only a list or a mapping goes here
    if union == "anyOf":
        schema["anyOf"] = [*choices, _ref(_REFERENCE_DEF)]
        return schema
    # A reference that also matched a text choice would break oneOf's "exactly one".
    return _or_reference(schema)


def _or_reference(schema: JsonSchema) -> JsonSchema:
    """The schema or a reference; what describes the value stays outside, where hovers look."""
    annotations = {key: schema.pop(key) for key in _ANNOTATIONS if key in schema}
    return {**annotations, "anyOf": [schema, _ref(_REFERENCE_DEF)]}


def _secret(schema: JsonSchema) -> JsonSchema:
    """Each text choice becomes a reference only; an empty value (null) stays allowed."""
    annotations = {key: schema.pop(key) for key in _ANNOTATIONS if key in schema}
    choices = [
        _ref(_ONLY_REFERENCE_DEF) if choice.get("type") == "string" else choice
        for choice in _alternatives(schema)
    ]
    if len(choices) == 1:
        return {**annotations, **choices[0]}
    return {**annotations, "anyOf": choices}
