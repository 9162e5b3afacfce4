"""The scoring core: fit re-tested, engagement earned on news and halved every half-life."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadbridge.config import ConfigError, Funnel, funnel_from_texts
from leadbridge.config.scoring import EVENTS, GRADE, REASONS, SCORE, Scoring
from leadbridge.core import scoring
from leadbridge.core.engine import decide
from leadbridge.model import Change, Lead, System
from tests.conftest import shipped

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
DANA = {
    "email": "dana@northwind.com",
    "title": "VP Ops",
    "industry": "LOGISTICS_AND_SUPPLY_CHAIN",
    "employees": 500.0,
}


@pytest.fixture(scope="module")
def rules() -> Scoring:
    texts = {name: shipped(name) for name in ("stages", "fields", "handoff", "scoring")}
    found = funnel_from_texts(texts).scoring
    assert found is not None
    return found


def _form(fields: dict[str, object], count: int, form: str) -> dict[str, object]:
    return {**fields, "conversions": float(count), "last_form": form}


def test_fit_sums_to_the_grade_and_each_line_names_the_value_that_earned_it(
    rules: Scoring,
) -> None:
    result = scoring.breakdown(DANA, rules, T0)
    assert [(line.criterion, line.points, line.field, line.value) for line in result.lines] == [
        ("senior_title", 20, "title", "VP Ops"),
        ("target_industry", 15, "industry", "LOGISTICS_AND_SUPPLY_CHAIN"),
        ("company_100_plus", 15, "employees", 500.0),
    ]
    assert (result.fit, result.score, result.grade) == (50, 50, "A")
    smaller = scoring.breakdown(
        {**DANA, "title": "Operations Analyst", "employees": 25.0}, rules, T0
    )
    assert (smaller.fit, smaller.grade) == (25, "B")  # industry 15 + 25 to 99 people 10
    assert scoring.breakdown({"title": "Student"}, rules, T0).grade == "D"


def test_engagement_is_earned_on_news_and_halves_every_half_life(rules: Scoring) -> None:
    before = _form(DANA, 1, "download")
    after = _form(DANA, 2, "demo_request")
    first = scoring.rescore(before, after, rules, T0, T0)
    # The demo request (25) and the form fill (5) on top of fit 50.
    assert (first[SCORE], first[GRADE]) == (80, "A")
    assert "demo_request +25 (last_form: demo_request)" in str(first[REASONS])
    kept = {**after, **first}
    # Nothing new in a change: nothing earned again, the points only decay.
    month = scoring.rescore(kept, kept, rules, T0 + timedelta(days=30), T0)
    assert month[SCORE] == 50 + 15
    # The same form again is news: its count moved.
    again = _form(kept, 3, "demo_request")
    second = scoring.rescore(kept, again, rules, T0 + timedelta(days=30), T0)
    assert second[SCORE] == 50 + 15 + 30
    events = scoring.earned({EVENTS: second[EVENTS]})
    assert [(e.criterion, e.at) for e in events] == [
        ("form_fill", T0),
        ("demo_request", T0),
        ("form_fill", T0 + timedelta(days=30)),
        ("demo_request", T0 + timedelta(days=30)),
    ]
    # A year on, what decayed below notice is forgotten and the score is fit alone.
    late = scoring.rescore(
        {**again, **second}, {**again, **second}, rules, T0 + timedelta(days=400), T0
    )
    assert late[SCORE] == 50 and late[EVENTS] is None


def test_hubspots_own_score_counts_when_it_passes_60(rules: Scoring) -> None:
    crossed = scoring.rescore({"hubspot_score": 40.0}, {"hubspot_score": 65.0}, rules, T0, T0)
    assert crossed[SCORE] == 60
    stays = {"hubspot_score": 65.0, **crossed}
    assert scoring.rescore(stays, {**stays, "hubspot_score": 70.0}, rules, T0, T0)[SCORE] == 60


def test_negative_points_for_competitors_free_mail_and_students(rules: Scoring) -> None:
    spy = scoring.breakdown({**DANA, "email": "x@pipelinehq.com"}, rules, T0)
    assert spy.fit == -50 and spy.grade == "D"
    private = scoring.breakdown({**DANA, "email": "dana@gmail.com"}, rules, T0)
    assert private.fit == 40 and private.grade == "B"


def test_an_unreadable_engagement_list_starts_again_rather_than_crash() -> None:
    assert scoring.earned({EVENTS: "not json"}) == []
    assert scoring.earned({EVENTS: '[["x", 1]]'}) == []


def test_the_engine_scores_before_the_rules_run_and_only_on_news(funnel: Funnel) -> None:
    lead = Lead("lb-1", "lead", T0, fields={**DANA, "hubspot_score": 35.0})
    change = Change(System.HUBSPOT, "contact", "1", {"hubspotscore": "62"}, T0)
    decision = decide(lead, change, funnel, T0)
    assert decision.lead.stage == "mql"
    assert [t.rule for t in decision.transitions] == ["score_and_fit"]
    assert decision.lead.fields[SCORE] == 110 and decision.lead.fields[GRADE] == "A"
    hubspot = decision.desired[System.HUBSPOT]["contact"]
    assert hubspot["leadbridge_score"] == "110" and hubspot["leadbridge_grade"] == "A"
    assert "hubspot_score_60 +60 (hubspot_score: 62)" in str(hubspot["leadbridge_score_reasons"])
    # The same change again moves nothing, so nothing is rescored, even a day later.
    again = decide(decision.lead, change, funnel, T0 + timedelta(days=1))
    assert again.lead.fields == decision.lead.fields


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (("when: {in: {industry: target_industries}}", "when: {in: {industri: target_industries}}"),
         "unknown field 'industri'; did you mean 'industry'?"),
        (("when: {in: {industry: target_industries}}", "when: {gte: {score: 10}}"),
         "a criterion cannot test 'score'"),
        (("grades: {A: 45, B: 25, C: 10}", "grades: {A: 45, B: 50, C: 10}"),
         "grade B needs 50 fit points, no fewer than the grade above it (45)"),
        (("score: {hubspot: leadbridge_score,", "score: {hubspot: hubspotscore,"),
         "hubspotscore is mapped in fields.yaml already"),
    ],
)  # fmt: skip
def test_mistakes_in_scoring_yaml_are_named_at_their_line(edit: tuple[str, str], says: str) -> None:
    texts = {name: shipped(name) for name in ("stages", "fields", "handoff", "scoring")}
    assert texts["scoring"].count(edit[0]) == 1
    texts["scoring"] = texts["scoring"].replace(edit[0], edit[1])
    with pytest.raises(ConfigError) as raised:
        funnel_from_texts(texts)
    line = next(i for i, text in enumerate(texts["scoring"].splitlines(), 1) if edit[1] in text)
    found = [p for p in raised.value.problems if says in p.message]
    assert found, raised.value
    assert found[0].path.endswith("scoring.yaml") and found[0].line == line


def test_a_field_named_score_in_fields_yaml_is_refused_with_the_rename() -> None:
    texts = {name: shipped(name) for name in ("stages", "fields", "handoff", "scoring")}
    texts["fields"] = texts["fields"].replace("  hubspot_score:\n", "  score:\n")
    with pytest.raises(ConfigError, match=r"expected the field renamed in fields\.yaml"):
        funnel_from_texts(texts)


def test_a_company_in_a_market_sales_covers_scores_its_country(rules: Scoring) -> None:
    covered = scoring.breakdown({**DANA, "country": "United Kingdom"}, rules, T0)
    assert ("target_country", 5, "country", "United Kingdom") in [
        (line.criterion, line.points, line.field, line.value) for line in covered.lines
    ]
    assert covered.fit == 55
    assert scoring.breakdown({**DANA, "country": "Germany"}, rules, T0).fit == 50
