"""The simulated org's SOQL: the subset leadbridge sends, Salesforce's type rules and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from simple_salesforce.format import format_soql, quote_soql_value

from leadbridge.sandbox.salesforce.soql import (
    Comparison,
    InList,
    SoqlError,
    parse_soql,
    unknown_sobject_error,
)
from leadbridge.sandbox.salesforce.soql_eval import run_query

SCHEMA = {
    "Id": "id",
    "Email": "email",
    "Status": "picklist",
    "SystemModstamp": "datetime",
    "IsConverted": "boolean",
    "LastName": "string",
    "AnnualRevenue": "currency",
    "NumberOfEmployees": "int",
    "ConvertedDate": "date",
    "OwnerId": "reference",
}
NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
INCREMENTAL = (
    "SELECT Id, Email, Status, SystemModstamp FROM Lead "
    "WHERE SystemModstamp > 2026-01-01T00:00:00Z ORDER BY SystemModstamp ASC LIMIT 2000"
)


def lead_id(n: int) -> str:
    # 00Q + zeros: only the Q is upper case, so the case checksum is "EAA".
    return f"00Q00000000000{n}EAA"


def lead(n: int, modstamp: str, **fields: Any) -> dict[str, Any]:
    base = {name: None for name in SCHEMA} | {"IsConverted": False, "Status": "Open"}
    return base | {"Id": lead_id(n), "SystemModstamp": modstamp} | fields


LEADS = [
    lead(1, "2025-12-31T23:59:59.000+0000", Email="a@x.com", LastName="O'Brien",
         AnnualRevenue=1000.5, NumberOfEmployees=10),
    lead(2, "2026-01-01T00:00:00.000+0000", Email="B@X.com", Status="Working",
         LastName="Smith", NumberOfEmployees=200),
    lead(3, "2026-01-05T09:00:00.000+0000", Email="o'brien@x.com", IsConverted=True,
         Status="Closed - Converted", LastName="100% Sure", ConvertedDate="2026-01-09",
         AnnualRevenue=50),
    lead(4, "2026-01-10T08:00:00.000+0000", Status="Working", NumberOfEmployees=5),
    # Not the REST form: 23:30 at -01:00 is 00:30 UTC on the 10th.
    lead(5, "2026-01-09T23:30:00.000-0100", Email="x_y@x.com", LastName="smith",
         ConvertedDate="2026-01-10"),
]  # fmt: skip


def ids(soql: str, records: list[dict[str, Any]] = LEADS) -> list[int]:
    rows = run_query(parse_soql(soql), records, SCHEMA, NOW)
    return [int(row["Id"][14]) for row in rows]


def where(condition: str) -> list[int]:
    return ids(f"SELECT Id FROM Lead WHERE {condition}")  # noqa: S608 # SOQL under test


def refusal(soql: str) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        run_query(parse_soql(soql), LEADS, SCHEMA, NOW)
    return caught.value


def test_the_incremental_query_parses_to_its_parts() -> None:
    query = parse_soql(INCREMENTAL)
    assert (query.sobject, query.fields, query.count_only) == (
        "Lead",
        ("Id", "Email", "Status", "SystemModstamp"),
        False,
    )
    assert isinstance(query.where, Comparison)
    assert (query.where.field.name, query.where.op) == ("SystemModstamp", ">")
    assert (query.where.value.kind, query.where.value.value) == (
        "datetime",
        "2026-01-01T00:00:00.000",
    )
    assert [(o.field.name, o.descending, o.nulls_first) for o in query.order_by] == [
        ("SystemModstamp", False, True)
    ]
    assert (query.limit, query.offset) == (2000, None)
    assert parse_soql(INCREMENTAL) is query  # cached: the same text is parsed once


def test_the_incremental_query_answers_later_leads_in_order_projected() -> None:
    rows = run_query(parse_soql(INCREMENTAL), LEADS, SCHEMA, NOW)
    assert rows == [
        {"Id": lead_id(3), "Email": "o'brien@x.com", "Status": "Closed - Converted",
         "SystemModstamp": "2026-01-05T09:00:00.000+0000"},
        {"Id": lead_id(5), "Email": "x_y@x.com", "Status": "Open",
         "SystemModstamp": "2026-01-09T23:30:00.000-0100"},
        {"Id": lead_id(4), "Email": None, "Status": "Working",
         "SystemModstamp": "2026-01-10T08:00:00.000+0000"},
    ]  # fmt: skip


def test_keywords_and_field_names_are_case_insensitive_results_use_canonical_names() -> None:
    query = parse_soql("select email, ID, status from lead where email != null order by EMAIL desc")
    assert query.fields == ("email", "ID", "status")
    rows = run_query(query, LEADS, SCHEMA, NOW)
    assert [list(row) for row in rows] == [["Email", "Id", "Status"]] * 4
    assert [row["Email"] for row in rows] == ["x_y@x.com", "o'brien@x.com", "B@X.com", "a@x.com"]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("SystemModstamp > 2026-01-01T00:00:00Z", [3, 4, 5]),
        ("SystemModstamp >= 2026-01-01T00:00:00Z", [2, 3, 4, 5]),
        ("SystemModstamp > 2026-01-01T01:00:00+01:00", [3, 4, 5]),
        ("SystemModstamp > 2025-12-31T16:00:00-08:00", [3, 4, 5]),
        ("SystemModstamp < 2026-01-01T00:00:00.001Z", [1, 2]),
        ("SystemModstamp = 2026-01-10T00:30:00.000+0000", [5]),
        ("Email IN ('a@x.com','o\\'brien@x.com')", [1, 3]),
        ("Email = 'b@x.com'", [2]),
        ("Email NOT IN ('a@x.com')", [2, 3, 4, 5]),
        ("Email != 'a@x.com'", [2, 3, 4, 5]),
        ("Email <> 'a@x.com'", [2, 3, 4, 5]),
        ("Email = null", [4]),
        ("Email != null", [1, 2, 3, 5]),
        ("Email IN ('a@x.com', null)", [1, 4]),
        ("(Status = 'Open' OR Status = 'Working') AND IsConverted = false", [1, 2, 4, 5]),
        ("Status = 'open' AND LastName = 'SMITH' AND Email != null", [5]),
        ("Status = 'Closed - Converted' OR NumberOfEmployees > 100 OR Email = null", [2, 3, 4]),
        ("NOT Status = 'Open'", [2, 3, 4]),
        ("NOT (Status = 'Open' OR Status = 'Working')", [3]),
        ("Status = 'Open' AND NOT (Email LIKE 'x%')", [1]),
        ("Status < 'P'", [1, 3, 5]),
        ("LastName LIKE 'smi%'", [2, 5]),
        ("LastName LIKE '%\\%%'", [3]),
        ("LastName LIKE 'O\\'%'", [1]),
        ("Email LIKE '_@x.com'", [1, 2]),
        ("Email LIKE 'x\\_y@%'", [5]),
        ("LastName = ''", [4]),
        ("AnnualRevenue > 100", [1]),
        ("AnnualRevenue >= 50.0", [1, 3]),
        ("AnnualRevenue < 1000.5", [3]),
        ("NumberOfEmployees IN (10, 5)", [1, 4]),
        ("NumberOfEmployees > -1", [1, 2, 4]),
        ("IsConverted = true", [3]),
        ("IsConverted != TRUE", [1, 2, 4, 5]),
        ("ConvertedDate = 2026-01-09", [3]),
        ("ConvertedDate = TODAY", [5]),
        ("ConvertedDate = YESTERDAY", [3]),
        ("ConvertedDate = LAST_N_DAYS:1", [3, 5]),
        ("ConvertedDate < TODAY", [3]),
        ("SystemModstamp = TODAY", [4, 5]),
        ("SystemModstamp = LAST_N_DAYS:5", [3, 4, 5]),
        ("SystemModstamp < YESTERDAY", [1, 2, 3]),
        ("SystemModstamp > YESTERDAY", [4, 5]),
        ("SystemModstamp != TODAY", [1, 2, 3]),
        ("SystemModstamp = LAST_N_DAYS:99999999999", [1, 2, 3, 4, 5]),
        ("Id = '00Q000000000003'", [3]),
        ("Id = '00q000000000003eaa'", [3]),
        ("Id IN ('00Q000000000001EAA', '00Q000000000002')", [1, 2]),
        ("OwnerId = null", [1, 2, 3, 4, 5]),
    ],
)
def test_where_selects_the_records_salesforce_would(condition: str, expected: list[int]) -> None:
    assert where(condition) == expected


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("ORDER BY Email", [4, 1, 2, 3, 5]),
        ("ORDER BY Email ASC NULLS FIRST", [4, 1, 2, 3, 5]),
        ("ORDER BY Email DESC", [5, 3, 2, 1, 4]),
        ("ORDER BY Email ASC NULLS LAST", [1, 2, 3, 5, 4]),
        ("ORDER BY Email DESC NULLS FIRST", [4, 5, 3, 2, 1]),
        ("ORDER BY Status, SystemModstamp DESC", [3, 5, 1, 4, 2]),
        ("ORDER BY AnnualRevenue", [2, 4, 5, 3, 1]),
        ("ORDER BY IsConverted DESC, Id DESC", [3, 5, 4, 2, 1]),
        ("ORDER BY SystemModstamp DESC LIMIT 2 OFFSET 1", [5, 3]),
        ("ORDER BY SystemModstamp LIMIT 0", []),
        ("ORDER BY Id OFFSET 3", [4, 5]),
        ("ORDER BY Id OFFSET 2000", []),
        ("LIMIT 3", [1, 2, 3]),  # without ORDER BY the org's own order holds
        ("WHERE Status = 'Working' LIMIT 1", [2]),
    ],
)
def test_order_limit_and_offset(tail: str, expected: list[int]) -> None:
    assert ids(f"SELECT Id FROM Lead {tail}") == expected  # noqa: S608


def test_count_answers_one_empty_row_per_record() -> None:
    count = parse_soql("select count() from Lead WHERE Status = 'Open'")
    assert (count.count_only, count.fields) == (True, ())
    assert run_query(count, LEADS, SCHEMA, NOW) == [{}, {}]
    assert len(run_query(parse_soql("SELECT COUNT() FROM Lead LIMIT 4"), LEADS, SCHEMA, NOW)) == 4


@pytest.mark.parametrize(
    ("literal", "utc"),
    [
        ("2026-01-05T09:00:00Z", "2026-01-05T09:00:00.000"),
        ("2026-01-05T09:00:00.123Z", "2026-01-05T09:00:00.123"),
        ("2026-01-05T09:00:00.5Z", "2026-01-05T09:00:00.500"),
        ("2026-01-05T09:00:00+01:00", "2026-01-05T08:00:00.000"),
        ("2026-01-05T09:00:00-08:00", "2026-01-05T17:00:00.000"),
        ("2026-01-05T09:00:00.000+0000", "2026-01-05T09:00:00.000"),
    ],
)
def test_datetime_literals_are_instants(literal: str, utc: str) -> None:
    query = parse_soql(f"SELECT Id FROM Lead WHERE SystemModstamp > {literal}")  # noqa: S608
    assert isinstance(query.where, Comparison)
    assert query.where.value.value == utc


@pytest.mark.parametrize(
    ("soql_literal", "decoded"),
    [
        (r"'O\'Brien'", "O'Brien"),
        (r"'back\\slash'", "back\\slash"),
        (r"'say \"hi\"'", 'say "hi"'),
        (r"'a\nb\Nc'", "a\nb\nc"),
        (r"'\r\R\t\T\b\B\f\F'", "\r\r\t\t\b\b\f\f"),
        (r"'caf\u00e9'", "café"),
        ("'100%_'", "100%_"),
        ("-7", -7),
        ("-0.25", -0.25),
        ("null", None),
        ("FALSE", False),
    ],
)
def test_literals_decode_salesforce_escapes(soql_literal: str, decoded: object) -> None:
    query = parse_soql(f"SELECT Id FROM Lead WHERE LastName = {soql_literal}")  # noqa: S608
    assert isinstance(query.where, Comparison)
    assert query.where.value.value == decoded


@given(st.text())
def test_a_value_quoted_by_simple_salesforce_parses_back_to_itself(value: str) -> None:
    query = parse_soql(format_soql("SELECT Id FROM Lead WHERE LastName = {}", value))
    assert isinstance(query.where, Comparison)
    assert query.where.value.value == value
    records = [lead(1, "2026-01-01T00:00:00.000+0000", LastName=value)]
    # '' is null to Salesforce, in the query and in the record alike, so it still matches.
    assert ids(query.text, records) == [1]


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_an_in_list_quoted_by_simple_salesforce_holds_each_value(values: list[str]) -> None:
    in_list = quote_soql_value(values)
    query = parse_soql(f"SELECT Id FROM Lead WHERE LastName NOT IN {in_list}")  # noqa: S608
    assert isinstance(query.where, InList)
    assert [v.value for v in query.where.values] == values


@given(st.text(min_size=1))
def test_a_like_pattern_escaped_by_simple_salesforce_matches_only_its_own_text(value: str) -> None:
    soql = format_soql("SELECT Id FROM Lead WHERE LastName LIKE '{:like}'", value)
    others = [value + "x", "x" + value, value.replace("_", "Z").replace("%", "Z")]
    records = [lead(1, "2026-01-01T00:00:00.000+0000", LastName=value)] + [
        lead(n, "2026-01-01T00:00:00.000+0000", LastName=other)
        for n, other in enumerate(others, start=2)
        if other != value
    ]
    assert ids(soql, records) == [1]


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_datetimes_compare_as_instants_whatever_their_offset(
    stored: datetime, asked: datetime, offset_minutes: int
) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    stored = stored.replace(microsecond=stored.microsecond // 1000 * 1000, tzinfo=UTC)
    asked = asked.replace(microsecond=0, tzinfo=UTC)
    local = stored.astimezone(zone)
    text = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    text += local.strftime("%z")
    soql = format_soql("SELECT Id FROM Lead WHERE SystemModstamp > {}", asked)
    assert ids(soql, [lead(1, text)]) == ([1] if stored > asked else [])


def test_field_errors_read_like_salesforce() -> None:
    error = refusal("SELECT Idd FROM Lead")
    assert error.error_code == "INVALID_FIELD"
    assert error.message == (
        "\nSELECT Idd FROM Lead\n       ^\nERROR at Row:1:Column:8\n"
        "No such column 'Idd' on entity 'Lead'. If you are attempting to use a custom field, "
        "be sure to append the '__c' after the custom field name. Please reference your WSDL "
        "or the describe call for the appropriate names."
    )
    quoted = refusal(
        "SELECT Id, Email FROM Lead WHERE SystemModstamp > '2026-01-01T00:00:00Z' LIMIT 10"
    )
    assert quoted.message == (
        "\nFROM Lead WHERE SystemModstamp > '2026-01-01T00:00:00Z' LIMIT 10\n"
        "                                 ^\nERROR at Row:1:Column:51\n"
        "value of filter criterion for field 'SystemModstamp' must be of type dateTime "
        "and should not be enclosed in quotes"
    )


@pytest.mark.parametrize(
    ("soql", "code", "detail"),
    [
        ("SELECT Id FROM Lead WHERE SystemModstamp > '2026-01-01T00:00:00Z'", "INVALID_FIELD",
         "field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE systemmodstamp > 2026-01-01", "INVALID_FIELD",
         "field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE ConvertedDate > 2026-01-01T00:00:00Z", "INVALID_FIELD",
         "field 'ConvertedDate' must be of type date and should not be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE Email = 5", "INVALID_FIELD",
         "field 'Email' must be of type string and should be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE LastName IN ('a', 2)", "INVALID_FIELD",
         "field 'LastName' must be of type string and should be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE LastName = TODAY", "INVALID_FIELD",
         "field 'LastName' must be of type string and should be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE IsConverted = 'false'", "INVALID_FIELD",
         "field 'IsConverted' must be of type boolean and should not be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE IsConverted = 0", "INVALID_FIELD",
         "field 'IsConverted' must be of type boolean and should not be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE NumberOfEmployees = 1.5", "INVALID_FIELD",
         "field 'NumberOfEmployees' must be of type integer and should not be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE AnnualRevenue > '5'", "INVALID_FIELD",
         "field 'AnnualRevenue' must be of type currency and should not be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE OwnerId = 5", "INVALID_FIELD",
         "field 'OwnerId' must be of type id and should be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE Id = 'foo'", "INVALID_QUERY_FILTER_OPERATOR",
         "invalid ID field: foo"),
        ("SELECT Id FROM Lead WHERE Id LIKE '00Q%'", "INVALID_QUERY_FILTER_OPERATOR",
         "invalid operator on id field"),
        ("SELECT Id FROM Lead WHERE IsConverted LIKE 'tr%'", "INVALID_QUERY_FILTER_OPERATOR",
         "invalid operator on boolean field"),
        ("SELECT Id FROM Lead WHERE IsConverted > false", "INVALID_QUERY_FILTER_OPERATOR",
         "invalid operator on boolean field"),
        ("SELECT Id FROM Lead WHERE Rating = 'Hot'", "INVALID_FIELD",
         "No such column 'Rating' on entity 'Lead'."),
        ("SELECT Id FROM Lead ORDER BY CreatedDate", "INVALID_FIELD",
         "No such column 'CreatedDate' on entity 'Lead'."),
        ("SELECT Id, Email, EMAIL FROM Lead", "INVALID_FIELD", "duplicate field selected: Email"),
        ("SELECT Id FROM Lead ORDER BY Id OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE",
         "Maximum SOQL offset allowed is 2000"),
    ],
)  # fmt: skip
def test_type_and_field_errors(soql: str, code: str, detail: str) -> None:
    error = refusal(soql)
    assert (error.error_code, detail in error.message) == (code, True), error.message
    # Checked before any record is read: an empty org refuses the same query.
    with pytest.raises(SoqlError):
        run_query(parse_soql(soql), [], SCHEMA, NOW)


@pytest.mark.parametrize(
    ("soql", "detail", "column"),
    [
        ("SELECT Id FROM Lead GROUP BY Status", "unexpected token: 'GROUP'", 21),
        ("SELECT Id FROM Lead HAVING COUNT() > 1", "unexpected token: 'HAVING'", 21),
        ("SELECT Status, COUNT(Id) FROM Lead", "unexpected token: '('", 21),
        ("SELECT SUM(AnnualRevenue) FROM Lead", "unexpected token: '('", 11),
        ("SELECT COUNT(Id) FROM Lead", "unexpected token: 'Id'", 14),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "unexpected token: '('", 12),
        ("SELECT Id FROM Lead WHERE Id IN (SELECT LeadId FROM CampaignMember)",
         "unexpected token: 'SELECT'", 34),
        ("SELECT Owner.Name FROM Lead", "unexpected token: '.'", 13),
        ("SELECT TYPEOF What WHEN Account THEN Name END FROM Event",
         "unexpected token: 'TYPEOF'", 8),
        ("SELECT Id FROM Lead WITH SECURITY_ENFORCED", "unexpected token: 'WITH'", 21),
        ("SELECT Id FROM Lead FOR UPDATE", "unexpected token: 'FOR'", 21),
        ("SELECT Id FROM Lead;", "unexpected token: ';'", 20),
        ("SELECT Id FROM Lead LIMIT 5 garbage", "unexpected token: 'garbage'", 29),
        ("SELECT Id, Email", "unexpected token: '<EOF>'", 17),
        ("SELECT FROM Lead", "unexpected token: 'FROM'", 8),
        ("SELECT * FROM Lead", "unexpected token: '*'", 8),
        ("UPDATE Lead SET Status = 'Open'", "unexpected token: 'UPDATE'", 1),
        ("SELECT Id FROM Lead WHERE Status = 'Open' AND Email = null OR IsConverted = true",
         "unexpected token: 'OR'", 60),
        ("SELECT Id FROM Lead WHERE Email = :email", "unexpected token: ':'", 35),
        ("SELECT Id FROM Lead WHERE Status = Open", "unexpected token: 'Open'", 36),
        ("SELECT Id FROM Lead WHERE Status = \"Open\"",
         "line 1:36 no viable alternative at character '\"'", 36),
        ("SELECT Id FROM Lead WHERE Status = 'Open",
         "mismatched character '<EOF>' expecting '''", 36),
        ("SELECT Id FROM Lead WHERE LastName = 'a\\qb'",
         "Illegal character sequence '\\q' in string literal.", 38),
        ("SELECT Id FROM Lead WHERE LastName = '100\\%'",
         "Illegal character sequence '\\%' in string literal.", 38),
        ("SELECT Id FROM Lead WHERE Email LIKE 5", "unexpected token: '5'", 38),
        ("SELECT Id FROM Lead WHERE Email NOT LIKE 'x%'", "unexpected token: 'LIKE'", 37),
        ("SELECT Id FROM Lead WHERE ConvertedDate IN (TODAY)", "unexpected token: 'TODAY'", 45),
        ("SELECT Id FROM Lead WHERE ConvertedDate = 2026-02-30", "invalid date: 2026-02-30", 43),
        ("SELECT Id FROM Lead LIMIT 10 ORDER BY Email", "unexpected token: 'ORDER'", 30),
        ("SELECT Id FROM Lead LIMIT -1", "unexpected token: '-1'", 27),
        ("SELECT Id FROM Lead ORDER BY Email NULLS", "unexpected token: '<EOF>'", 41),
        ("SELECT Id FROM Lead WHERE SystemModstamp > 2026-01-05T24:00:00Z",
         "invalid dateTime: 2026-01-05T24:00:00Z", 44),
    ],
)  # fmt: skip
def test_anything_outside_the_subset_is_malformed(soql: str, detail: str, column: int) -> None:
    with pytest.raises(SoqlError) as caught:
        parse_soql(soql)
    error = caught.value
    assert error.error_code == "MALFORMED_QUERY"
    assert error.message.endswith(detail), error.message
    assert f"ERROR at Row:1:Column:{column}\n" in error.message


def test_an_error_on_a_later_line_names_its_row_and_quotes_that_line() -> None:
    error = refusal("SELECT Id\nFROM Lead\nWHERE Foo = 1")
    assert error.message.startswith("\nWHERE Foo = 1\n      ^\nERROR at Row:3:Column:7\n")


def test_an_empty_query_is_refused_like_salesforce() -> None:
    with pytest.raises(SoqlError, match="SOQL statements cannot be empty or null"):
        parse_soql("  ")


def test_an_unknown_sobject_is_invalid_type_where_the_app_says_so() -> None:
    error = unknown_sobject_error(parse_soql("SELECT Id FROM Leads WHERE Email = 'a@x.com'"))
    assert error.error_code == "INVALID_TYPE"
    assert error.message.startswith(
        "\nSELECT Id FROM Leads WHERE Email = 'a@x.com'\n               ^\n"
        "ERROR at Row:1:Column:16\nsObject type 'Leads' is not supported."
    )
