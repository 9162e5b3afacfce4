"""Rule values checked against what their field can hold, so a typo cannot make a rule dead.

A rule such as `changed_to: {deal_stage: closed_lost}` is well-formed, but if the
field's codes say `lost` it never fires and nobody is told. What a field can hold
is known wherever fields.yaml says it:
  - its `values:` codes (a closed vocabulary: a new value is added there first);
  - the picklist (fields.yaml `picklists:`) of each property or field it reads,
    translated through the `values:` spellings and the field's transforms (a `map`,
    `lower`, `number`), exactly as a value read at run time would be;
  - the stage names, for a field reading the HubSpot stage property.
A field that reads free text anywhere holds anything, and is not checked. Values
compare as the engine compares them (text without case, numbers as numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from leadbridge.config.conditions import Cond, Loc, Test, comparable, walk
from leadbridge.config.funnel import HUBSPOT_OBJECT, FieldMap, Rule
from leadbridge.config.suggest import nearest
from leadbridge.config.transforms import Unreadable
from leadbridge.model import System, Value

Picklists = Mapping[tuple[System, str, str], tuple[str, ...]]
Report = Callable[[Loc, str], None]
_SYSTEM = {System.HUBSPOT: "HubSpot", System.SALESFORCE: "Salesforce"}


@dataclass(frozen=True)
class Vocabulary:
    """What a field can hold, and how to name it when a rule asks for something else."""

    field: str
    held: Mapping[Any, str]  # compared form -> as shown
    spellings: Mapping[str, tuple[str, System]]  # a CRM's spelling -> (value it reads as, CRM)
    origin: str  # where the list comes from, for the message

    def holds(self, value: Value) -> bool:
        return comparable(value) in self.held

    def refusal(self, value: Value) -> str:
        """Why `value` is not one the field can hold, with the nearest one it can."""
        shown = _shown(value)
        spelled = self.spellings.get(shown)
        if spelled is not None and comparable(spelled[0]) in self.held:
            code, system = spelled
            return (
                f"{shown!r} is how {_SYSTEM[system]} spells {self.field}'s value {code!r}; "
                f"rules compare values as leadbridge reads them, expected {code}"
            )
        listed = ", ".join(self.held.values())
        candidates = {spelling: code for spelling, (code, _) in self.spellings.items()}
        meant = nearest(shown, {**candidates, **{v: v for v in self.held.values()}})
        hint = f"; did you mean {meant!r}? Expected" if meant is not None else ", expected"
        return (
            f"{shown!r} is not a value {self.field} can hold{hint} one of ({self.origin}): {listed}"
        )


def vocabulary(
    fmap: FieldMap,
    picklists: Picklists,
    stage_property: str | None,
    stage_names: Iterable[str],
) -> Vocabulary | None:
    """What `fmap` can hold once read, or None when it may hold any value."""
    sources = [(s, o, r) for s, o, r in fmap.remote() if s in fmap.reads_from()]
    if not sources:
        return None  # only rules set it (a reason field): its values are theirs
    held: dict[Any, str] = {}
    spellings: dict[str, tuple[str, System]] = {}
    origins: list[str] = []
    if fmap.values is not None:
        for code, per_system in fmap.values.items():
            _add(held, _read(fmap, code))
            for system, spelled in per_system.items():
                spellings.update({remote: (code, system) for remote in spelled})
        origins.append(f"fields.{fmap.name}.values")
    for system, obj, remote in sources:
        if system is System.HUBSPOT and obj == HUBSPOT_OBJECT and remote == stage_property:
            for name in stage_names:
                _add(held, name)
            origins.append("the stage names")
        elif (key := (system, obj, remote)) in picklists:
            for raw in picklists[key]:
                read = _read(fmap, fmap.read_maps.get(system, {}).get(raw, raw))
                if _add(held, read):
                    spellings.setdefault(raw, (_shown(read), system))
            origins.append(f"{_SYSTEM[system]} {obj}.{remote}")
        elif fmap.values is None:
            return None  # free text is read here: any value may come
    return Vocabulary(fmap.name, held, spellings, ", ".join(dict.fromkeys(origins)))


def _read(fmap: FieldMap, value: Value) -> Value:
    if fmap.transform is None:
        return value
    try:
        return fmap.transform(value)
    except Unreadable:
        return None


def _add(held: dict[Any, str], value: Value) -> bool:
    if value is None or value == "":
        return False
    held.setdefault(comparable(value), _shown(value))
    return True


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_rules(
    rules: Iterable[Rule],
    vocabularies: Mapping[str, Vocabulary],
    handoff: Any,
    report: Report,
) -> None:
    """Report every eq/in value of every rule that its field cannot hold, once per place.

    `handoff` is handoff.yaml as parsed, to find each value's own line: inline, in a
    list under the condition, or in a named list under `lists:`.
    """
    reported: set[tuple[Loc, str]] = set()  # a list used by several rules: said once
    for rule in rules:
        for test in _value_tests(rule.condition):
            found = vocabularies.get(test.field)
            if found is None:
                continue
            for where, value in _values_at(handoff, test):
                if found.holds(value):
                    continue
                message = found.refusal(value)
                if where[0] == "lists":
                    message += f" (list {where[1]!r} is used by rule {rule.name!r})"
                if (where, test.field) not in reported:
                    reported.add((where, test.field))
                    report(where, message)


def _value_tests(cond: Cond) -> list[Test]:
    return [found for found in walk(cond) if isinstance(found, Test) and found.op in ("eq", "in")]


def _values_at(handoff: Any, test: Test) -> list[tuple[Loc, Value]]:
    """Each value the test compares with, and the loc of the YAML holding it."""
    raw = _at(handoff, test.loc)
    loc: Loc = test.loc
    if isinstance(raw, dict) and len(raw) == 1:  # changed_to: {field: {in: ...}}
        ((op, raw),) = raw.items()
        loc = (*loc, op)
    if isinstance(raw, list):
        return [((*loc, j), item) for j, item in enumerate(raw)]
    if isinstance(raw, str) and test.op == "in":
        listed = _at(handoff, ("lists", raw))
        if isinstance(listed, list):
            return [(("lists", raw, j), item) for j, item in enumerate(listed)]
        return []  # an unknown list: reported where the list name is resolved
    return [(loc, raw)]


def _at(data: Any, loc: Loc) -> Any:
    for part in loc:
        held = isinstance(data, dict) and part in data
        held = held or (isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data))
        if not held:
            return None
        data = data[part]
    return data
