"""The fixed set of named transforms a field mapping may apply to values it reads.

Transforms are data (a name and maybe an argument), never code: RevOps can
only pick from this set, and the set is compiled once into one function per
field. A value a transform cannot read raises `Unreadable`; the mapping turns
that into a blank value and a note, so one bad value never stops a sync.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any

from leadbridge.model import Value

Transform = Callable[[Value], Value]

# name -> what its argument must be ("" when it takes none)
_TRANSFORMS: Mapping[str, str] = {
    "lower": "",
    "upper": "",
    "strip": "",
    "number": "",
    "date": "",
    "datetime": "",
    "default": "a single value",
    "truncate": "a whole number of characters, 1 or more",
    "map": "a mapping of values read to values kept",
}


class Unreadable(ValueError):
    """A remote value the transform cannot turn into what the field declares."""


@dataclass(frozen=True)
class TransformSpec:
    name: str
    arg: Any = None

    def describe(self) -> str:
        if self.name == "map":
            return f"map({len(self.arg)} values)"
        return self.name if self.arg is None else f"{self.name}({self.arg})"


def parse_transform(raw: Any) -> TransformSpec:
    """`lower`, or a one-key mapping such as `{truncate: 80}`; ValueError says what is wrong."""
    known = ", ".join(_TRANSFORMS)
    if isinstance(raw, str):
        name, arg, has_arg = raw, None, False
    elif isinstance(raw, dict) and len(raw) == 1:
        ((name, arg),) = raw.items()
        has_arg = True
    else:
        raise ValueError(f"got {raw!r}, expected a transform name or a one-key mapping: {known}")
    if name not in _TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}, expected one of: {known}")
    needs = _TRANSFORMS[name]
    if not needs and has_arg:
        raise ValueError(f"transform {name!r} takes no argument, expected just `{name}`")
    if needs and not has_arg:
        raise ValueError(f"transform {name!r} needs an argument, expected {{{name}: {needs}}}")
    if name == "truncate" and not (isinstance(arg, int) and not isinstance(arg, bool) and arg > 0):
        raise ValueError(f"truncate got {arg!r}, expected {needs}")
    if name == "map" and not (isinstance(arg, dict) and arg):
        raise ValueError(f"map got {arg!r}, expected {needs}")
    if name == "default" and isinstance(arg, list | dict):
        raise ValueError(f"default got {arg!r}, expected {needs}")
    return TransformSpec(name, arg)


def compile_transforms(specs: Sequence[TransformSpec]) -> Transform | None:
    """One function applying the transforms in order; None when there are none."""
    steps = [_step(spec) for spec in specs]
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def chain(value: Value) -> Value:
        for step in steps:
            value = step(value)
        return value

    return chain


def compile_reader(
    placeholder: str | None,
    read_map: Mapping[str, str] | None,
    transform: Transform | None,
    specs: Sequence[TransformSpec] = (),
) -> Transform:
    """A remote value in canonical form: value map first, then transforms; raises Unreadable.

    A blank reads as None, and so does the field's placeholder (what leadbridge wrote for a
    required value nobody gave). Compiled once per field and system: merge reads every
    field of every change, and most fields have no placeholder and no value map. `specs`
    are the transforms `transform` was compiled from: text-only ones read in one step.
    """
    if placeholder is None and read_map is None:
        if transform is None:
            return lambda raw: None if raw == "" else raw
        if specs and all(spec.name in _TEXT_STEPS for spec in specs):
            return _text_reader(tuple(_text_step(spec) for spec in specs))
        step = transform

        def transformed(raw: Value) -> Value:
            value = step(None if raw == "" else raw)
            return None if value == "" else value

        return transformed

    def read(raw: Value) -> Value:
        value = None if raw == "" or (placeholder is not None and raw == placeholder) else raw
        if read_map is not None and isinstance(value, str):
            value = read_map.get(value, value)
        if transform is not None:
            value = transform(value)
        return None if value == "" else value

    return read


# Transforms of text that leave other values alone, as str methods (no Python frame each).
_TEXT_METHODS: Mapping[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "strip": str.strip,
}
_TEXT_STEPS = (*_TEXT_METHODS, "truncate")


def _text_step(spec: TransformSpec) -> Callable[[str], str]:
    if spec.name == "truncate":
        cut: Callable[[str], str] = itemgetter(slice(None, spec.arg))
        return cut
    return _TEXT_METHODS[spec.name]


def _text_reader(steps: tuple[Callable[[str], str], ...]) -> Transform:
    """The reader of a field whose transforms all work on text: what the general reader
    gives, in one call. Text that is or becomes blank reads as None (strip's blank is
    None, and later text steps keep a blank blank); anything else passes untouched."""
    if len(steps) == 1:
        (only,) = steps
        return lambda raw: (only(raw) or None) if isinstance(raw, str) else raw

    def read_text(raw: Value) -> Value:
        if not isinstance(raw, str):
            return raw
        for step in steps:
            raw = step(raw)
        return raw or None

    return read_text


def _step(spec: TransformSpec) -> Transform:
    name, arg = spec.name, spec.arg
    if name == "lower":
        return lambda v: v.lower() if isinstance(v, str) else v
    if name == "upper":
        return lambda v: v.upper() if isinstance(v, str) else v
    if name == "strip":
        return lambda v: (v.strip() or None) if isinstance(v, str) else v
    if name == "default":
        return lambda v: arg if v is None or v == "" else v
    if name == "truncate":
        return lambda v: v[:arg] if isinstance(v, str) else v
    if name == "map":
        table = dict(arg)
        return lambda v: table.get(v, v) if isinstance(v, str | int | float) else v
    return {"number": _to_number, "date": _to_date, "datetime": _to_datetime}[name]


def _to_number(value: Value) -> Value:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            pass
    raise Unreadable(f"number: {value!r} is not a number")


def _to_date(value: Value) -> Value:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    moment = _to_datetime(value)
    return moment.date() if isinstance(moment, datetime) else None


def _to_datetime(value: Value) -> Value:
    """ISO-8601 (Salesforce, HubSpot's search answers) or epoch milliseconds (HubSpot dates)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.isdigit():
                return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
            parsed = datetime.fromisoformat(text)
        except (ValueError, OverflowError):
            raise Unreadable(f"datetime: {value!r} is not a date or time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise Unreadable(f"datetime: {value!r} is not a date or time")
