"""Every value put into SOQL is escaped: table-driven, and any string round-trips via the org."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from urllib.parse import quote_plus

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.connectors.salesforce.soql import (
    chunks_by_length,
    identifier,
    in_list,
    literal,
    quote,
    select,
    soql_datetime,
)
from leadbridge.sandbox.tls import TLSFiles
from tests.connectors.salesforce.support import connector_for, ids
from tests.sandbox.salesforce_fixtures import RunningOrg, running_org


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "'plain'"),
        ("o'brien@x.com", r"'o\'brien@x.com'"),
        ("back\\slash", r"'back\\slash'"),
        ("ends with \\", r"'ends with \\'"),
        ("\\'", r"'\\\''"),
        ('say "hi"', r"'say \"hi\"'"),
        ("two\nlines\r\tand\b\f", r"'two\nlines\r\tand\b\f'"),
        ("50% off_now", "'50% off_now'"),
        ("Zoë 日本 🚀", "'Zoë 日本 🚀'"),
        ("' OR Name != '", r"'\' OR Name != \''"),
    ],
)
def test_quote_escapes_what_soql_would_read_otherwise(text: str, expected: str) -> None:
    assert quote(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-7, "-7"),
        (1e-7, "0.0000001"),
        (1200.5, "1200.5"),
        (date(2026, 1, 5), "2026-01-05"),
        (datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "2026-01-05T09:00:00Z"),
        (datetime(2026, 1, 5, 10, 0, 0, 250_000, tzinfo=timezone(timedelta(hours=1))),
         "2026-01-05T09:00:00.250Z"),
        ("x", "'x'"),
    ],
)  # fmt: skip
def test_literal_writes_each_type_as_soql_does(value: object, expected: str) -> None:
    assert literal(value) == expected  # type: ignore[arg-type]


def test_values_soql_cannot_hold_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        soql_datetime(datetime(2026, 1, 5))
    with pytest.raises(ValueError, match="no literal"):
        literal(float("nan"))
    with pytest.raises(TypeError):
        literal([1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["Email, (SELECT", "Owner.Name", "", "1Field", "a b", "x'--"])
def test_names_cannot_carry_soql(name: str) -> None:
    with pytest.raises(ValueError, match="not a Salesforce object or field name"):
        identifier(name)
    with pytest.raises(ValueError, match="not a Salesforce"):
        select("Lead", ["Id", name])


def test_select_and_in_list() -> None:
    assert (
        select("Lead", ["Id", "Email"], in_list("Email", ["a@x.com", "o'b@x.com"]), ["Id"])
        == r"SELECT Id, Email FROM Lead WHERE Email IN ('a@x.com', 'o\'b@x.com') ORDER BY Id"
    )


def test_chunks_keep_each_query_under_the_url_budget() -> None:
    values = [f"00Q{n:015d}" for n in range(2000)]
    fixed = "SELECT Id FROM Lead WHERE Id IN ()"
    chunks = list(chunks_by_length(values, fixed, 4000))
    assert [v for chunk in chunks for v in chunk] == values
    for chunk in chunks:
        query = fixed[:-1] + ", ".join(literal(v) for v in chunk) + ")"
        assert len(quote_plus(query)) <= 4000
    assert len(chunks) < 20  # full chunks, not one per value
    assert list(chunks_by_length([], fixed, 4000)) == []


@pytest.fixture(scope="module")
def org(tls_files: TLSFiles) -> Iterator[RunningOrg]:
    with running_org(tls_files) as running:
        yield running


@pytest.fixture(scope="module")
def salesforce(org: RunningOrg, tls_files: TLSFiles) -> Iterator[SalesforceConnector]:
    with connector_for(org, tls_files) as connector:
        yield connector


def test_a_quoted_email_round_trips(org: RunningOrg, salesforce: SalesforceConnector) -> None:
    lead = org.lead(Email="o'brien@x.com", LastName="O'Brien")
    (found,) = salesforce.find("Lead", "Email", ["o'brien@x.com"])
    assert found.id == lead and found.fields["Email"] == "o'brien@x.com"
    assert ids(salesforce.find("Lead", "LastName", ["O'Brien", "nobody"])) == [lead]


# Any text a LastName can hold (80 characters); lone surrogates cannot be sent as UTF-8 at all.
TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=80)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=TEXT)
@example(text="\\'")
@example(text="' OR LastName != '")
@example(text="tab\tnew\nline\x00nul")
def test_any_string_round_trips_through_the_orgs_soql(
    org: RunningOrg, salesforce: SalesforceConnector, text: str
) -> None:
    lead = org.lead(LastName=text)
    found = salesforce.find("Lead", "LastName", [text])
    # Text compares case-insensitively in SOQL, so other examples' leads may match too.
    assert lead in ids(found)
    assert next(c for c in found if c.id == lead).fields["LastName"] == text
