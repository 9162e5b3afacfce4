"""Compiled conditions mean what the tree says: compile_condition and each test's predicate
against a plain reading of the tree, on values of every kind a lead's fields hold."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from leadbridge.config.conditions import (
    Aged,
    All,
    AnyOf,
    Atom,
    Became,
    Cond,
    Not,
    as_number,
    comparable,
    compile_condition,
)
from leadbridge.config.conditions import Test as FieldTest  # not a test class
from leadbridge.model import Value

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
FIELDS = ("a", "b", "c")
VALUES: list[Value] = [
    None,
    "",
    "x",
    "X",
    " x",
    "Dana@Gmail.com",
    "dana@mail.gmail.com",
    "60",
    0,
    1,
    60,
    59.5,
    60.0,
    float("nan"),
    True,
    False,
    date(2026, 3, 1),
    NOW - timedelta(days=3),
]


def plainly(op: str, arg: Any, value: Value) -> bool:
    """What each test means, written without any shortcut."""
    if op == "eq":
        return value is not None and comparable(value) == comparable(arg)
    if op == "in":
        return value is not None and comparable(value) in {comparable(item) for item in arg}
    if op in ("gte", "lte"):
        number = as_number(value)
        return number is not None and (number >= arg if op == "gte" else number <= arg)
    if op == "present":
        return value is not None and value != ""
    if op == "absent":
        return value is None or value == ""
    if not isinstance(value, str):
        return False
    domain = value.rpartition("@")[2].strip().casefold()
    return any(domain == d.casefold() or domain.endswith("." + d.casefold()) for d in arg)


def reading(cond: Cond, before: dict[str, Value], after: dict[str, Value], level: bool) -> bool:
    if isinstance(cond, Atom) or (level and isinstance(cond, Became)):
        return plainly(cond.test.op, cond.test.arg, after.get(cond.test.field))
    if isinstance(cond, Became):
        test = cond.test
        return plainly(test.op, test.arg, after.get(test.field)) and not plainly(
            test.op, test.arg, before.get(test.field)
        )
    if isinstance(cond, Aged):
        return cond.holds(after.get(cond.field), NOW)
    if isinstance(cond, Not):
        return not reading(cond.item, before, after, level)
    found = [reading(item, before, after, level) for item in cond.items]
    return all(found) if isinstance(cond, All) else any(found)


ARGS = {
    "eq": st.sampled_from(["x", "X", 60.0, True, "dana@gmail.com"]),
    "in": st.sampled_from([("x", "y"), ("X", 60.0), (True, "60"), ()]),
    "gte": st.sampled_from([0.0, 59.5, 60.0]),
    "lte": st.sampled_from([0.0, 59.5, 60.0]),
    "present": st.none(),
    "absent": st.none(),
    "domain_in": st.sampled_from([("gmail.com",), ("GMAIL.com", "x.io"), ()]),
}


@st.composite
def field_tests(draw: st.DrawFn) -> FieldTest:
    op = draw(st.sampled_from(sorted(ARGS)))
    return FieldTest(op, draw(st.sampled_from(FIELDS)), draw(ARGS[op]), "", ())


def conditions() -> st.SearchStrategy[Cond]:
    leaves = st.one_of(
        field_tests().map(Atom),
        field_tests().map(Became),
        st.sampled_from(FIELDS).map(lambda name: Aged(name, timedelta(days=2), ())),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            inner.map(Not),
            st.lists(inner, min_size=1, max_size=4).map(lambda items: All(tuple(items))),
            st.lists(inner, min_size=1, max_size=4).map(lambda items: AnyOf(tuple(items))),
        ),
        max_leaves=8,
    )


values = st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(VALUES))


@settings(max_examples=400, deadline=None)
@given(conditions(), values, values, st.booleans())
def test_a_compiled_condition_reads_as_its_tree(
    cond: Cond, before: dict[str, Value], after: dict[str, Value], level: bool
) -> None:
    test = compile_condition(cond, level)
    assert bool(test(before, after, NOW, NOW)) == reading(cond, before, after, level)


@settings(max_examples=200, deadline=None)
@given(field_tests(), st.sampled_from(VALUES))
def test_each_predicate_holds_as_written(test: FieldTest, value: Value) -> None:
    assert test.holds(value) == plainly(test.op, test.arg, value)
