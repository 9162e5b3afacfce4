"""SOQL text to a typed query, with Salesforce's MALFORMED_QUERY answers.

The grammar (soql.lark, package data) fixes the subset; this module decodes
literals and turns lark's complaints into Salesforce-shaped messages: the
offending stretch of the query, a caret under the spot, its row and column.
Field names are checked later, against the sObject's schema, by soql_eval.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, Literal

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

__all__ = [
    "And", "Comparison", "Condition", "FieldRef", "InList", "Like", "Not", "Or", "OrderItem",
    "Query", "SoqlError", "Value", "error_at", "parse_soql", "unknown_sobject_error", "utc_key",
]  # fmt: skip


class SoqlError(Exception):
    """A query Salesforce would refuse: `error_code` and `message` as its REST body carries them."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


ValueKind = Literal[
    "string", "integer", "decimal", "boolean", "null", "date", "datetime", "date_literal"
]


@dataclass(frozen=True)
class FieldRef:
    name: str  # as written; soql_eval resolves it case-insensitively
    at: int  # offset in the query text, for error carets


@dataclass(frozen=True)
class Value:
    """A literal. `value` is str, int, float, bool, None, an ISO date, a
    `utc_key` for datetimes, or (name, n) for TODAY / YESTERDAY / LAST_N_DAYS:n."""

    kind: ValueKind
    value: Any
    text: str
    at: int


@dataclass(frozen=True)
class Comparison:
    field: FieldRef
    op: str  # = != < <= > >=  ("<>" is normalised to "!=")
    value: Value


@dataclass(frozen=True)
class InList:
    field: FieldRef
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    field: FieldRef
    regex: str  # full-match, case-insensitive source; % and _ already translated
    text: str


@dataclass(frozen=True)
class And:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


Condition = Comparison | InList | Like | And | Or | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool
    nulls_first: bool  # Salesforce's default: first on ASC, last on DESC


@dataclass(frozen=True)
class Query:
    sobject: str
    fields: tuple[str, ...]  # as written, SELECT order; empty for COUNT()
    count_only: bool
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
    field_refs: tuple[FieldRef, ...] = ()
    sobject_at: int = 0
    text: str = field(default="", repr=False)


def parse_soql(text: str) -> Query:
    """Parse one SOQL statement; SoqlError(MALFORMED_QUERY) for anything outside the subset."""
    return _parse_cached(text)


def error_at(text: str, offset: int, error_code: str, detail: str) -> SoqlError:
    """A SoqlError whose message points at `offset` the way Salesforce's do."""
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end < 0 else line_end
    start, end = _window(text, offset, line_start, line_end)
    excerpt = text[start:end]
    caret = " " * (offset - start) + "^"
    row = text.count("\n", 0, offset) + 1
    column = offset - line_start + 1
    return SoqlError(
        error_code, f"\n{excerpt}\n{caret}\nERROR at Row:{row}:Column:{column}\n{detail}"
    )


def unknown_sobject_error(query: Query) -> SoqlError:
    """INVALID_TYPE for an sObject the org does not have (the app knows which it has)."""
    return error_at(
        query.text,
        query.sobject_at,
        "INVALID_TYPE",
        f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
        "custom object, be sure to append the '__c' after the entity name. Please reference "
        "your WSDL or the describe call for the appropriate names.",
    )


def utc_key(moment: datetime) -> str:
    """A datetime as fixed-width UTC text to the millisecond; these sort as instants do."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}"


# Words Salesforce reserves: met where a field name belongs they are reported
# as the unexpected token, as Salesforce does, rather than the token after.
_RESERVED = frozenset(
    {
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC",
        "DESC", "NULLS", "LIMIT", "OFFSET", "TRUE", "FALSE", "NULL", "GROUP", "HAVING", "WITH",
        "TYPEOF", "FOR", "USING", "SCOPE", "INCLUDES", "EXCLUDES", "ROLLUP", "CUBE",
    }
)  # fmt: skip
# Characters SOQL knows but this subset does not (relationship paths, bind
# variables, statement ends): Salesforce calls them unexpected tokens.
_SOQL_PUNCTUATION = frozenset(".;:*+-/[]{}")
_ESCAPES = {
    "n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t",
    "b": "\b", "B": "\b", "f": "\f", "F": "\f", '"': '"', "'": "'", "\\": "\\",
}  # fmt: skip


class _Refusal(Exception):
    def __init__(self, offset: int, detail: str) -> None:
        super().__init__(detail)
        self.offset = offset
        self.detail = detail


def _retype_reserved(token: Token) -> Token:
    if token.upper() in _RESERVED:
        return Token.new_borrow_pos("RESERVED", token.value, token)
    return token


@functools.cache
def _parser() -> Lark:
    grammar = resources.files(__package__ or "").joinpath("soql.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        transformer=_Builder(),
        lexer_callbacks={"NAME": _retype_reserved},
    )


@functools.lru_cache(maxsize=2048)
def _parse_cached(text: str) -> Query:
    if not text.strip():
        raise SoqlError("MALFORMED_QUERY", "SOQL statements cannot be empty or null")
    try:
        query = _parser().parse(text)
    except _Refusal as refusal:
        raise error_at(text, refusal.offset, "MALFORMED_QUERY", refusal.detail) from None
    except UnexpectedToken as exc:
        tok = exc.token
        at_end = tok.type == "$END"
        offset = len(text) if at_end else _at(tok)
        shown = "<EOF>" if at_end else tok.value
        raise error_at(text, offset, "MALFORMED_QUERY", f"unexpected token: '{shown}'") from None
    except UnexpectedCharacters as exc:
        offset = exc.pos_in_stream or 0
        char = text[offset]
        if char == "'":
            detail = f"line {exc.line}:{exc.column} mismatched character '<EOF>' expecting '''"
        elif char in _SOQL_PUNCTUATION:
            detail = f"unexpected token: '{char}'"
        else:
            detail = f"line {exc.line}:{exc.column} no viable alternative at character '{char}'"
        raise error_at(text, offset, "MALFORMED_QUERY", detail) from None
    except UnexpectedInput as exc:  # any other lark refusal, located as lark saw it
        raise error_at(text, len(text), "MALFORMED_QUERY", str(exc).strip()) from None
    assert isinstance(query, Query)
    return dataclasses.replace(query, text=text)


def _window(text: str, offset: int, line_start: int, line_end: int) -> tuple[int, int]:
    """Salesforce quotes a few tokens either side of the error, not the whole query."""
    spans: list[tuple[int, int]] = []
    try:
        for tok in _parser().lex(text):
            spans.append((_at(tok), tok.end_pos or _at(tok)))
    except UnexpectedInput as exc:
        stuck = exc.pos_in_stream or 0
        if stuck <= offset:  # an unlexable stretch holds the error: quote it to the line's end
            spans.append((stuck, line_end))
    spans = [(s, e) for s, e in spans if line_start <= s and e <= line_end]
    here = next((i for i, (_, e) in enumerate(spans) if e > offset), len(spans))
    start = spans[max(0, here - 5)][0] if spans else line_start
    end = spans[min(len(spans), here + 6) - 1][1] if spans else line_end
    return min(start, offset), min(max(end, offset + 1), max(line_end, offset))


def _decode_string(tok: Token, like: bool) -> str:
    """The text of a quoted literal, or for LIKE the regex it stands for."""
    raw = tok.value[1:-1]
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char != "\\":
            out.append(_like_char(char) if like else char)
            i += 1
            continue
        escaped = raw[i + 1]
        if escaped in _ESCAPES:
            decoded = _ESCAPES[escaped]
            out.append(re.escape(decoded) if like else decoded)
            i += 2
        elif escaped in "_%" and like:
            out.append(re.escape(escaped))
            i += 2
        elif escaped == "u" and _is_hex4(raw[i + 2 : i + 6]):
            decoded = chr(int(raw[i + 2 : i + 6], 16))
            out.append(re.escape(decoded) if like else decoded)
            i += 6
        else:
            sequence = raw[i : i + 2]
            raise _Refusal(
                _at(tok),
                f"Invalid string literal '{raw}'. Illegal character sequence "
                f"'{sequence}' in string literal.",
            )
    return "".join(out)


def _like_char(char: str) -> str:
    if char == "%":
        return ".*"
    if char == "_":
        return "."
    return re.escape(char)


def _is_hex4(chars: str) -> bool:
    return len(chars) == 4 and all(c in "0123456789abcdefABCDEF" for c in chars)


def _value(tok: Token) -> Value:
    kind, at, text = tok.type, _at(tok), tok.value
    if kind == "STRING":
        return Value("string", _decode_string(tok, like=False), text, at)
    if kind == "NUMBER":
        if "." in text:
            return Value("decimal", float(text), text, at)
        return Value("integer", int(text), text, at)
    if kind in ("TRUE", "FALSE"):
        return Value("boolean", kind == "TRUE", text, at)
    if kind == "NULL":
        return Value("null", None, text, at)
    if kind == "DATE":
        return Value("date", _date(text, at).isoformat(), text, at)
    if kind == "DATETIME":
        return Value("datetime", utc_key(_datetime(text, at)), text, at)
    if kind == "LAST_N_DAYS":
        return Value("date_literal", ("LAST_N_DAYS", int(text.split(":")[1])), text, at)
    return Value("date_literal", (kind, 0), text, at)  # TODAY, YESTERDAY


def _date(text: str, at: int) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _Refusal(at, f"invalid date: {text}") from None


def _datetime(text: str, at: int) -> datetime:
    # The grammar has fixed the shape; this checks the calendar, clock and offset.
    try:
        moment = datetime.fromisoformat(text)
        moment.astimezone(UTC)  # an offset can push the first or last day off the calendar
    except (ValueError, OverflowError):
        raise _Refusal(at, f"invalid dateTime: {text}") from None
    return moment


def _ref(tok: Token) -> FieldRef:
    return FieldRef(tok.value, _at(tok))


def _at(tok: Token) -> int:
    return tok.start_pos or 0


class _Builder(Transformer[Token, Any]):
    """Builds the typed query while lark parses (inline, so no tree is kept)."""

    def start(self, children: list[Any]) -> Query:
        count_only, refs = children[0]
        sobject: Token = children[1]
        clauses = dict(children[2:])  # the optional clauses arrive as (name, content)
        return Query(
            sobject=sobject.value,
            fields=tuple(ref.name for ref in refs),
            count_only=count_only,
            where=clauses.get("where"),
            order_by=clauses.get("order_by", ()),
            limit=clauses.get("limit"),
            offset=clauses.get("offset"),
            field_refs=refs,
            sobject_at=_at(sobject),
        )

    def count_only(self, children: list[Token]) -> tuple[bool, tuple[FieldRef, ...]]:
        return True, ()

    def field_list(self, children: list[Token]) -> tuple[bool, tuple[FieldRef, ...]]:
        return False, tuple(_ref(tok) for tok in children)

    def where(self, children: list[Condition]) -> tuple[str, Condition]:
        return "where", children[0]

    def and_chain(self, children: list[Condition]) -> And:
        return And(tuple(children))

    def or_chain(self, children: list[Condition]) -> Or:
        return Or(tuple(children))

    def negation(self, children: list[Condition]) -> Not:
        return Not(children[0])

    def comparison(self, children: list[Token]) -> Comparison:
        name, op, value = children
        return Comparison(_ref(name), "!=" if op.value == "<>" else op.value, _value(value))

    def in_list(self, children: list[Any]) -> InList:
        return InList(_ref(children[0]), children[1], negated=False)

    def not_in_list(self, children: list[Any]) -> InList:
        return InList(_ref(children[0]), children[1], negated=True)

    def in_values(self, children: list[Token]) -> tuple[Value, ...]:
        return tuple(_value(tok) for tok in children)

    def like(self, children: list[Token]) -> Like:
        name, pattern = children
        return Like(_ref(name), _decode_string(pattern, like=True), pattern.value)

    def order_by(self, children: list[OrderItem]) -> tuple[str, tuple[OrderItem, ...]]:
        return "order_by", tuple(children)

    def order_item(self, children: list[Token]) -> OrderItem:
        kinds = {tok.type for tok in children[1:]}
        descending = "DESC" in kinds
        nulls_first = "FIRST" in kinds or ("LAST" not in kinds and not descending)
        return OrderItem(_ref(children[0]), descending, nulls_first)

    def limit(self, children: list[Token]) -> tuple[str, int]:
        return "limit", int(children[0])

    def offset(self, children: list[Token]) -> tuple[str, int]:
        return "offset", int(children[0])
