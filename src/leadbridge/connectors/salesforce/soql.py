"""SOQL text built so that no value can ever leave its quotes.

Every value goes through `literal()`: strings are quoted with SOQL's escapes
(backslash first, then the quote characters and the control characters SOQL
names), datetimes are written unquoted in UTC, numbers in plain decimal.
Names (objects, fields) cannot be quoted in SOQL at all, so they are checked
against the identifier shape instead and refused otherwise: a field list from
a YAML file must not be able to smuggle a clause into a query.

`=` and `IN` compare text literally, so `%` and `_` need no escape here; only
LIKE patterns would, and leadbridge never builds one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import quote_plus

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# The escape sequences Salesforce documents for SOQL string literals. The
# backslash must be escaped too, or a value ending in one would eat our quote.
_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "'": "\\'",
        '"': '\\"',
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        "\b": "\\b",
        "\f": "\\f",
    }
)

_Literal = str | int | float | bool | date | datetime | None


def identifier(name: str) -> str:
    """`name` itself when it is a SOQL name (Lead, Leadbridge_Id__c); ValueError otherwise."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a Salesforce object or field name: {name!r}")
    return name


def quote(text: str) -> str:
    """A SOQL string literal that reads back as exactly `text`."""
    return "'" + text.translate(_ESCAPES) + "'"


def soql_datetime(moment: datetime) -> str:
    """A dateTime literal in UTC: seconds when whole, milliseconds otherwise (never quoted)."""
    if moment.tzinfo is None:
        raise ValueError("a SOQL dateTime needs a time zone; naive datetimes are ambiguous")
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond // 1000:03d}"
    return text + "Z"


def literal(value: _Literal) -> str:
    """Any value as SOQL writes it on the right of `=` or inside `IN (...)`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"SOQL has no literal for {value}")
        # repr() would write 1e-07; SOQL wants plain decimal digits.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return soql_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"no SOQL literal for {type(value).__name__}")


def select(
    sobject: str,
    fields: Sequence[str],
    where: str | None = None,
    order_by: Sequence[str] = (),
) -> str:
    """SELECT fields FROM sobject [WHERE ...] [ORDER BY ...]; names checked, `where` prebuilt."""
    names = ", ".join(identifier(f) for f in fields)
    # Names are checked identifiers and values reach `where` only through literal().
    parts = [f"SELECT {names} FROM {identifier(sobject)}"]  # noqa: S608
    if where:
        parts.append(f"WHERE {where}")
    if order_by:
        parts.append("ORDER BY " + ", ".join(identifier(f) for f in order_by))
    return " ".join(parts)


def in_list(field: str, values: Iterable[_Literal]) -> str:
    return f"{identifier(field)} IN ({', '.join(literal(v) for v in values)})"


def chunks_by_length(values: Sequence[str], fixed: str, budget: int) -> Iterator[Sequence[str]]:
    """Runs of `values` whose `IN (...)` list keeps the URL-encoded query under `budget` bytes.

    A query travels in the URL of a GET (`?q=`), and Salesforce refuses URLs
    over about 16 KB; `fixed` is the rest of the query, counted once.
    """
    room = budget - len(quote_plus(fixed))
    start, used = 0, 0
    for index, value in enumerate(values):
        cost = len(quote_plus(literal(value))) + len(quote_plus(", "))
        if index > start and used + cost > room:
            yield values[start:index]
            start, used = index, 0
        used += cost
    if start < len(values):
        yield values[start:]
