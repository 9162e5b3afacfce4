"""Validate a YAML document against its pydantic model and place each error at file:line.

Pydantic reports errors by `loc` (a path of keys and indexes) in its own
words; RevOps needs the line to edit and plain words. The loc is walked
through the YAML node tree for the line, and each error type is rephrased
as "got X, expected Y". For an unknown key the expected keys are read off
the model itself, walking the same loc through the model's field types.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError
from pydantic_core import ErrorDetails

from leadbridge.config.problems import Problem
from leadbridge.config.source import Document
from leadbridge.config.suggest import did_you_mean

_M = TypeVar("_M", bound=BaseModel)

_EXPECTED: Mapping[str, str] = {
    "string_type": "text",
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}


def validate(document: Document, model: type[_M]) -> tuple[_M | None, list[Problem]]:
    try:
        return model.model_validate(document.data), []
    except ValidationError as exc:
        problems = [_problem(document, model, error) for error in exc.errors()]
        return None, sorted(set(problems))


def _problem(document: Document, model: type[BaseModel], error: ErrorDetails) -> Problem:
    loc = error["loc"]
    kind = error["type"]
    got = _shown(error.get("input"))
    ctx = error.get("ctx") or {}
    if kind == "leadbridge":
        message = error["msg"]
        # Our error may name the key at fault (an unknown operator): point at that key.
        loc = (*loc, ctx["at"]) if "at" in ctx else loc
    elif kind == "missing":
        message = "missing, expected this key to be set"
    elif kind == "extra_forbidden":
        allowed = _keys_at(model, loc[:-1])
        message = f"unknown key {loc[-1]!r}, expected " + (
            "one of: " + ", ".join(allowed) if allowed else "no other keys"
        )
        message += did_you_mean(str(loc[-1]), allowed)
    elif kind == "literal_error":
        message = f"got {got}, expected {ctx.get('expected', 'one of the listed values')}"
    elif kind == "too_short":
        message = f"got {got}, expected at least {ctx.get('min_length', 1)} entry"
    elif kind in _EXPECTED:
        message = f"got {got}, expected {_EXPECTED[kind]}"
    else:
        message = f"got {got}: {error['msg']}"
    return document.problem(loc, message)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _keys_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys the model accepts at `loc`, or [] when the walk loses its way."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [info.alias or name for name, info in current.model_fields.items()]
    return []


def _unwrap(hint: Any) -> Any:
    while get_origin(hint) is Annotated:
        hint = get_args(hint)[0]
    return hint


def _step(hint: Any, part: str | int) -> Any:
    hint = _unwrap(hint)
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        for member in get_args(hint):
            tags = [m for m in getattr(member, "__metadata__", ()) if isinstance(m, Tag)]
            if tags and tags[0].tag == part:
                return _unwrap(member)
        for member in get_args(hint):
            if member is not type(None) and (found := _step(member, part)) is not None:
                return found
        return None
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        for name, info in hint.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    if origin in (list, tuple) and isinstance(part, int):
        return get_args(hint)[0]
    if origin is dict:
        return get_args(hint)[1]
    return None
