"""CRM search: filter groups (OR of ANDs), typed comparisons, one sort, offset paging to 10,000."""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

from leadbridge.sandbox.hubspot.errors import bad_request
from leadbridge.sandbox.hubspot.properties import Catalog
from leadbridge.sandbox.hubspot.records import Contact, render, selected_names
from leadbridge.sandbox.hubspot.values import to_millis

MAX_GROUPS, MAX_PER_GROUP, MAX_FILTERS = 5, 6, 18
MAX_LIMIT, MAX_RESULTS, DEFAULT_LIMIT = 200, 10_000, 10
NUMERIC_TYPES = frozenset({"number", "datetime", "date"})
# Where a free-text `query` looks, as HubSpot's default searchable contact properties.
QUERY_FIELDS = ("firstname", "lastname", "email", "phone", "company", "hs_additional_emails")
_TOKEN_SPLIT = re.compile(r"[\s@.,;:_\-/()+]+")

Predicate = Callable[[dict[str, str]], bool]


@dataclass(frozen=True)
class Query:
    groups: list[list[Predicate]]
    sort: tuple[str, bool] | None  # (property, descending)
    names: tuple[str, ...]
    limit: int
    after: int
    text: str


def parse(body: Any, catalog: Catalog) -> Query:
    if not isinstance(body, dict):
        raise bad_request("Invalid input JSON: expected an object")
    raw_groups = body.get("filterGroups") or []
    if not isinstance(raw_groups, list):
        raise bad_request("filterGroups must be a list")
    if len(raw_groups) > MAX_GROUPS:
        raise bad_request(
            f"Too many filter groups ({len(raw_groups)}); the maximum is {MAX_GROUPS}."
        )
    total = 0
    groups: list[list[Predicate]] = []
    for group in raw_groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise bad_request("Each filter group needs a list of filters")
        if len(filters) > MAX_PER_GROUP:
            raise bad_request(
                f"Too many filters in a group ({len(filters)}); the maximum is {MAX_PER_GROUP}."
            )
        total += len(filters)
        groups.append([_compile(item, catalog) for item in filters])
    if total > MAX_FILTERS:
        raise bad_request(
            f"Too many filters ({total}); the maximum across all groups is {MAX_FILTERS}."
        )
    limit = _integer(body.get("limit", DEFAULT_LIMIT), "limit")
    if not 0 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be between 0 and {MAX_LIMIT}, got {limit}")
    after = _integer(body.get("after") or 0, "after")
    if after < 0:
        raise bad_request(f"after must be a paging cursor from an earlier answer, got {after}")
    if after >= MAX_RESULTS:
        raise bad_request(
            f"Search results are limited to {MAX_RESULTS} records; after={after} is past that."
        )
    properties = body.get("properties") or []
    if not isinstance(properties, list):
        raise bad_request("properties must be a list of property names")
    return Query(
        groups,
        _sort(body.get("sorts") or [], catalog),
        selected_names([str(name) for name in properties]),
        limit,
        after,
        str(body.get("query") or "").strip().lower(),
    )


def run(query: Query, contacts: Sequence[Contact], catalog: Catalog) -> dict[str, Any]:
    # Every search looks at every contact: a large portal's searches (the cycle after a
    # first sync of 100,000 makes ~500) spent their time here. One closure per query, no
    # generator per contact, and only the page's worth of the order is sorted.
    match = _matcher(query)
    matches = [c for c in contacts if match(c.props)]
    end = min(query.after + query.limit, MAX_RESULTS)
    ranked: list[Contact] = matches
    if query.sort is not None:
        name, descending = query.sort
        key = _sort_key(name, catalog)
        present = [c for c in matches if c.props.get(name)]
        absent = [c for c in matches if not c.props.get(name)]
        pick = heapq.nlargest if descending else heapq.nsmallest
        # Ids are unique: the first `end` of this order are those a full sort would give.
        first = pick(end, present, key=lambda c: (key(c.props[name]), c.id))
        ranked = first + absent  # no value sorts last either way
    answer: dict[str, Any] = {
        "total": len(matches),
        "results": [render(c, query.names) for c in ranked[query.after : end]],
    }
    if query.after + query.limit < len(matches):
        answer["paging"] = {"next": {"after": str(query.after + query.limit)}}
    return answer


def _matcher(query: Query) -> Predicate:
    """The query as one predicate: the text (if any), then any group whose filters all hold."""
    groups = [_every(group) for group in query.groups]
    if not groups:
        found: Predicate = lambda props: True  # noqa: E731
    elif len(groups) == 1:
        found = groups[0]
    else:
        found = lambda props: any(group(props) for group in groups)  # noqa: E731
    text = query.text
    if not text:
        return found
    return lambda props: _text_match(text, props) and found(props)


def _every(tests: list[Predicate]) -> Predicate:
    if not tests:
        return lambda props: True
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda props: first(props) and second(props)
    return lambda props: all(test(props) for test in tests)


def _text_match(text: str, props: dict[str, str]) -> bool:
    words = text.split()
    tokens = [t for name in QUERY_FIELDS for t in _tokens(props.get(name, "").lower())]
    return all(any(token.startswith(word) for token in tokens) for word in words)


def _tokens(value: str) -> list[str]:
    return [token for token in _TOKEN_SPLIT.split(value) if token]


def _integer(raw: Any, name: str) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an integer, got {raw!r}") from None


def _sort(raw: Any, catalog: Catalog) -> tuple[str, bool] | None:
    if not isinstance(raw, list):
        raise bad_request("sorts must be a list")
    if len(raw) > 1:
        raise bad_request("Only one sort is allowed per search.")
    if not raw:
        return None
    item = raw[0]
    if isinstance(item, str):  # the client models sorts as strings; "-name" sorts descending
        name, descending = item.lstrip("-"), item.startswith("-")
    elif isinstance(item, dict) and item.get("propertyName"):
        direction = str(item.get("direction", "ASCENDING")).upper()
        if direction not in ("ASCENDING", "DESCENDING"):
            raise bad_request(f"Invalid sort direction {direction!r}")
        name, descending = str(item["propertyName"]), direction == "DESCENDING"
    else:
        raise bad_request("Each sort needs a propertyName")
    if catalog.get(name) is None:
        raise bad_request(f"Unable to sort by unknown property {name}")
    return name, descending


def _sort_key(name: str, catalog: Catalog) -> Callable[[str], Any]:
    definition = catalog.get(name)
    if definition is not None and definition.type in NUMERIC_TYPES:
        return lambda value: _number(value) or 0.0
    return str.lower


# Every search of a large portal reads every contact's stamps: each parsed once, not once a
# search (a 100,000-contact portal's searches spent most of their time re-parsing them).
@lru_cache(maxsize=1 << 18)
def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return to_millis(value)


def _compile(item: Any, catalog: Catalog) -> Predicate:
    if not isinstance(item, dict) or not item.get("propertyName") or not item.get("operator"):
        raise bad_request("Each filter needs a propertyName and an operator")
    name, operator = str(item["propertyName"]), str(item["operator"])
    definition = catalog.get(name)
    if definition is None:
        raise bad_request(f"Unable to filter by unknown property {name}")
    numeric = definition.type in NUMERIC_TYPES

    def operand(raw: Any) -> Any:
        if raw is None:
            raise bad_request(f"Operator {operator} on {name} needs a value")
        if not numeric:
            return str(raw).lower()
        number = _number(str(raw))
        if number is None:
            raise bad_request(f"{raw!r} is not a valid value for {definition.type} property {name}")
        return number

    def stored(props: dict[str, str]) -> Any:
        value = props.get(name)
        if not value:
            return None
        return _number(value) if numeric else value.lower()

    if operator in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        wanted = operator == "HAS_PROPERTY"
        return lambda props: bool(props.get(name)) is wanted
    if operator in ("EQ", "NEQ", "LT", "LTE", "GT", "GTE"):
        target = operand(item.get("value"))
        if operator == "NEQ":  # a contact without the property is "not equal" too
            return lambda props: (v := stored(props)) is None or v != target
        compare = _COMPARE[operator]
        return lambda props: (v := stored(props)) is not None and compare(v, target)
    if operator == "BETWEEN":
        low, high = operand(item.get("value")), operand(item.get("highValue"))
        return lambda props: (v := stored(props)) is not None and low <= v <= high
    if operator in ("IN", "NOT_IN"):
        raw_values = item.get("values")
        if not isinstance(raw_values, list) or not raw_values:
            raise bad_request(f"Operator {operator} on {name} needs a list of values")
        if definition.type == "string":
            # HubSpot's docs: IN on a string property matches lowercase values only.
            choices = {str(v) for v in raw_values}
        else:
            choices = {operand(v) for v in raw_values}
        if operator == "IN":
            return lambda props: (v := stored(props)) is not None and v in choices
        return lambda props: (v := stored(props)) is None or v not in choices
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        needle = str(item.get("value") or "").lower()
        if not needle:
            raise bad_request(f"Operator {operator} on {name} needs a value")
        if operator == "CONTAINS_TOKEN":
            return lambda props: _contains_token(props.get(name, "").lower(), needle)
        return lambda props: not _contains_token(props.get(name, "").lower(), needle)
    raise bad_request(f"Unknown operator {operator!r}")


def _contains_token(value: str, needle: str) -> bool:
    if not value:
        return False
    if "*" in needle:
        return fnmatchcase(value, needle) or any(fnmatchcase(t, needle) for t in _tokens(value))
    return needle == value or needle in _tokens(value)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": lambda a, b: a == b,
    "LT": lambda a, b: a < b,
    "LTE": lambda a, b: a <= b,
    "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b,
}
