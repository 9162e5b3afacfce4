"""Rule conditions: a small tree read from handoff.yaml, compiled once into closures.

The tree is interpreted from data, never evaluated as code. Each field test
compiles to a predicate on one value; the same predicates serve the engine
at run time and the flapping analysis at load time, so the two cannot
disagree on what a condition means. A compiled condition is called as
`test(before, after, now, entered)`: the lead's canonical fields before and
after the change, the decision time, and when the lead entered its stage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import reduce
from typing import Any

from leadbridge.config import schema
from leadbridge.model import Value, Values

Loc = tuple[str | int, ...]
Predicate = Callable[[Values, Values, datetime, datetime], bool]
STAGE_ENTERED = "stage_entered"  # pseudo-field for older_than: when the lead entered its stage
DEALS_PREFIX = "deals."  # pseudo-fields counting the lead's opportunities per deal stage


def comparable(value: Any) -> Any:
    """Text compares without case, booleans as the words HubSpot uses, numbers as floats."""
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return float(value)
    return value


def as_number(value: Value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class Test:
    """A test on one field's value: eq, in, gte, lte, present, absent or domain_in."""

    op: str
    field: str
    arg: Any  # eq: a value; in, domain_in: a tuple of values; gte, lte: a float
    shown: str  # the argument as written (a list keeps its name)
    loc: Loc = dataclasses.field(compare=False)
    holds: Callable[[Value], bool] = dataclasses.field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "holds", _predicate(self.op, self.arg))

    def samples(self) -> list[Value]:
        """Values on every side of this test's boundaries (see flapping.py)."""
        if self.op == "eq":
            return [self.arg]
        if self.op == "in":
            return list(self.arg)
        if self.op in ("gte", "lte"):
            return [self.arg - 1e-6, self.arg, self.arg + 1e-6]
        if self.op == "domain_in":
            return [*(f"x@{d}" for d in self.arg), *(f"x@sub.{d}" for d in self.arg)]
        return ["x"]

    def render(self, with_field: bool = True) -> str:
        words = {
            "eq": f"= {self.shown}",
            "in": f"in {self.shown}",
            "gte": f">= {self.shown}",
            "lte": f"<= {self.shown}",
            "present": "present",
            "absent": "absent",
            "domain_in": f"domain in {self.shown}",
        }[self.op]
        return f"{self.field} {words}" if with_field else words


def _predicate(op: str, arg: Any) -> Callable[[Value], bool]:
    # Every change runs dozens of these (rules, then scoring's criteria): the commonest
    # value types (text, and numbers after the `number` transform) skip comparable() and
    # as_number(), which give those the same answer.
    if op == "eq":
        wanted: object = comparable(arg)

        def equals(v: Value) -> bool:
            if type(v) is str:
                return v.casefold() == wanted
            return v is not None and comparable(v) == wanted

        return equals
    if op == "in":
        members = frozenset(comparable(item) for item in arg)

        def member(v: Value) -> bool:
            if type(v) is str:
                return v.casefold() in members
            return v is not None and comparable(v) in members

        return member
    bound: float = arg  # gte, lte: a number
    if op == "gte":

        def at_least(v: Value) -> bool:
            if type(v) is float or type(v) is int:  # not bool: its type is bool
                return float(v) >= bound
            return (n := as_number(v)) is not None and n >= bound

        return at_least
    if op == "lte":

        def at_most(v: Value) -> bool:
            if type(v) is float or type(v) is int:  # not bool: its type is bool
                return float(v) <= bound
            return (n := as_number(v)) is not None and n <= bound

        return at_most
    if op == "present":
        return lambda v: v is not None and v != ""
    if op == "absent":
        return lambda v: v is None or v == ""
    domains = tuple(str(d).casefold() for d in arg)
    suffixes = tuple("." + d for d in domains)

    def in_domains(v: Value) -> bool:
        if not isinstance(v, str):
            return False
        found = v.rpartition("@")[2].strip().casefold()  # the address's domain
        return found in domains or found.endswith(suffixes)

    return in_domains


@dataclass(frozen=True)
class Atom:
    test: Test


@dataclass(frozen=True)
class Became:
    """changed_to: the test fails on the value before the change and holds after it."""

    test: Test


@dataclass(frozen=True)
class Aged:
    field: str
    age: timedelta
    loc: Loc = dataclasses.field(compare=False)

    def holds(self, value: Value, now: datetime) -> bool:
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day, tzinfo=UTC)
        return isinstance(value, datetime) and now - value >= self.age


@dataclass(frozen=True)
class All:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Not:
    item: Cond


Cond = Atom | Became | Aged | All | AnyOf | Not
Report = Callable[[Loc, str], None]


def build(spec: Any, loc: Loc, lists: Mapping[str, tuple[Value, ...]], report: Report) -> Cond:
    """Turn a validated schema condition into the tree; list names are resolved here."""

    def values(arg: Any, where: Loc) -> tuple[tuple[Value, ...], str]:
        if isinstance(arg, str):
            if arg not in lists:
                known = ", ".join(lists) or "none defined"
                report(where, f"unknown list {arg!r}, expected a name under lists: ({known})")
                return (), arg
            return lists[arg], arg
        return tuple(arg), "[" + ", ".join(str(item) for item in arg) + "]"

    def test(op: str, name: str, arg: Any, where: Loc) -> Test:
        if op in ("in", "domain_in"):
            members, shown = values(arg, where)
            return Test(op, name, members, shown, where)
        if op == "eq" and isinstance(arg, str) and arg in lists:
            report(where, f"{arg!r} is the name of a list, expected {{in: {arg}}} to use the list")
        shown = (
            _number_text(arg)
            if op in ("gte", "lte")
            else str(comparable(arg) if isinstance(arg, bool) else arg)
        )
        return Test(op, name, arg, shown, where)

    def joined(items: list[Cond]) -> Cond:
        return items[0] if len(items) == 1 else All(tuple(items))

    if isinstance(spec, schema.AllOf):
        return All(
            tuple(build(c, (*loc, "all", i), lists, report) for i, c in enumerate(spec.all_))
        )
    if isinstance(spec, schema.AnyOf):
        items = spec.any_
        return AnyOf(tuple(build(c, (*loc, "any", i), lists, report) for i, c in enumerate(items)))
    if isinstance(spec, schema.NotOf):
        return Not(build(spec.not_, (*loc, "not"), lists, report))
    if isinstance(spec, schema.Present | schema.Absent):
        op = "present" if isinstance(spec, schema.Present) else "absent"
        names = spec.present if isinstance(spec, schema.Present) else spec.absent
        return joined([Atom(test(op, n, None, (*loc, op))) for n in names])
    if isinstance(spec, schema.OlderThan):
        return joined([Aged(n, age, (*loc, "older_than", n)) for n, age in spec.older_than.items()])
    if isinstance(spec, schema.ChangedTo):
        return joined(
            [
                Became(test(op, n, arg, (*loc, "changed_to", n)))
                for n, (op, arg) in spec.changed_to.items()
            ]
        )
    op, entries = _atom_entries(spec)
    return joined([Atom(test(op, n, arg, (*loc, op, n))) for n, arg in entries.items()])


def _atom_entries(spec: Any) -> tuple[str, Mapping[str, Any]]:
    for op, attribute in (("eq", "eq"), ("in", "in_"), ("gte", "gte"), ("lte", "lte")):
        if hasattr(spec, attribute):
            return op, getattr(spec, attribute)
    return "domain_in", spec.domain_in


def compile_condition(cond: Cond, level: bool = False) -> Predicate:
    """A closure for the engine. `level` reads changed_to as "is now so", for holding rules."""
    if isinstance(cond, Atom) or (level and isinstance(cond, Became)):
        holds, name = cond.test.holds, cond.test.field
        return lambda before, after, now, entered: holds(after.get(name))
    if isinstance(cond, Became):
        holds, name = cond.test.holds, cond.test.field
        return lambda before, after, now, entered: (
            holds(after.get(name)) and not holds(before.get(name))
        )
    if isinstance(cond, Aged):
        aged, name, age = cond.holds, cond.field, cond.age
        if name == STAGE_ENTERED:
            return lambda before, after, now, entered: now - entered >= age
        return lambda before, after, now, entered: aged(after.get(name), now)
    if isinstance(cond, Not):
        inner = compile_condition(cond.item, level)
        return lambda before, after, now, entered: not inner(before, after, now, entered)
    tests = _tests_of_now(cond.items, level)
    if tests is not None:
        # Tests of the fields as they are now (the BANT fields present, both ends of a
        # range): one closure calls each test, rather than one closure per test and pair.
        return _every(tests) if isinstance(cond, All) else _some(tests)
    # Folded pairwise rather than looped with all()/any(): no generator per call.
    parts = [compile_condition(item, level) for item in cond.items]
    return reduce(_both if isinstance(cond, All) else _either, parts)


_Tests = tuple[tuple[Callable[[Value], bool], str], ...]


def _tests_of_now(items: tuple[Cond, ...], level: bool) -> _Tests | None:
    """(test, field) of each item, when each only tests a field's value after the change."""
    tests = []
    for item in items:
        if not (isinstance(item, Atom) or (level and isinstance(item, Became))):
            return None
        tests.append((item.test.holds, item.test.field))
    return tuple(tests)


def _every(tests: _Tests) -> Predicate:
    def every(before: Values, after: Values, now: datetime, entered: datetime) -> bool:
        for holds, name in tests:  # noqa: SIM110 - all() would build a generator per call
            if not holds(after.get(name)):
                return False
        return True

    return every


def _some(tests: _Tests) -> Predicate:
    def some(before: Values, after: Values, now: datetime, entered: datetime) -> bool:
        for holds, name in tests:  # noqa: SIM110 - any() would build a generator per call
            if holds(after.get(name)):
                return True
        return False

    return some


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda before, after, now, entered: (
        first(before, after, now, entered) and second(before, after, now, entered)
    )


def _either(first: Predicate, second: Predicate) -> Predicate:
    return lambda before, after, now, entered: (
        first(before, after, now, entered) or second(before, after, now, entered)
    )


def walk(cond: Cond) -> list[Test | Aged]:
    """Every field test in the tree, for the cross-file checks."""
    if isinstance(cond, Atom | Became):
        return [cond.test]
    if isinstance(cond, Aged):
        return [cond]
    if isinstance(cond, Not):
        return walk(cond.item)
    return [found for item in cond.items for found in walk(item)]


def render(cond: Cond) -> str:
    if isinstance(cond, Atom):
        return cond.test.render()
    if isinstance(cond, Became):
        return f"{cond.test.field} became {cond.test.render(with_field=False)}"
    if isinstance(cond, Aged):
        return f"{cond.field} older than {render_duration(cond.age)}"
    if isinstance(cond, Not):
        return f"not ({render(cond.item)})"
    word = " and " if isinstance(cond, All) else " or "
    return word.join(
        f"({render(item)})" if isinstance(item, All | AnyOf) else render(item)
        for item in cond.items
    )


def _number_text(number: float) -> str:
    return str(int(number)) if number.is_integer() else repr(number)


def render_duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
