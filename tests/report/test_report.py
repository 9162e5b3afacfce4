"""The pure report against the scripted story (tests/report/story.py), every number by hand."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest

from leadbridge.model import Cause, Lead, System, Transition
from leadbridge.report.build import Breakdown, Report, compute, percentile
from leadbridge.report.labels import humanize, stage_labels, value_labels
from tests.report import story
from tests.report.story import NOW, SINCE, T0, Entry, at

H = timedelta(hours=1)
STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "repeat_customer")


def report(since: Any = None) -> Report:
    return compute(story.entries(), story.leads(), story.funnel(), NOW, since)


def hours(span: timedelta | None) -> float | None:
    return None if span is None else span / H


def times(part: Breakdown) -> dict[str, tuple[Any, ...]]:
    """stage -> (stays, median h, p90 h, now, stuck), for stages with anything to say."""
    return {
        t.stage: (t.stays, hours(t.median), hours(t.p90), t.now, t.stuck)
        for t in part.times
        if t.stays or t.now
    }


def conversions(part: Breakdown) -> list[tuple[str, str, int, int]]:
    return [(c.from_stage, c.to_stage, c.reached, c.converted) for c in part.conversions]


def handbacks(part: Breakdown) -> list[tuple[str, str, int]]:
    return [(h.stage, h.reason, h.count) for h in part.handbacks]


# --- all time -------------------------------------------------------------------------


def test_all_time_funnel_counts_and_conversions() -> None:
    overall = report().overall
    assert report().stages == STAGES
    assert report().won_stage == "customer"
    assert overall.leads == 8
    # Omar skipped mql (a demo request) and still counts there; Lee counts once at mql.
    assert overall.reached == {
        "subscriber": 8,
        "lead": 7,
        "mql": 6,
        "sql": 5,
        "opportunity": 3,
        "customer": 1,
        "repeat_customer": 0,
    }
    assert conversions(overall) == [
        ("subscriber", "lead", 8, 7),
        ("lead", "mql", 7, 6),
        ("mql", "sql", 6, 5),  # all but Sam; Lee's first run counts, his revival has not yet
        ("sql", "opportunity", 5, 3),
        ("opportunity", "customer", 3, 1),
        ("customer", "repeat_customer", 1, 0),
    ]
    assert [c.ratio for c in overall.conversions] == pytest.approx(
        [7 / 8, 6 / 7, 5 / 6, 3 / 5, 1 / 3, 0.0]
    )
    assert (overall.won, overall.win_rate) == (1, 0.125)


def test_all_time_time_in_stage() -> None:
    # lead: Dana 24, Lee 12, Priya 24, Carl 25, Sam 200 (Omar and Ivy only passed through)
    #   sorted 12 24 24 25 200: median 24; p90 at rank 3.6: 25 + 0.6 * 175 = 130
    # mql: Dana 24, Lee 48, Priya 12, Ivy 200 -> 12 24 48 200: median 36; p90 48 + 0.7 * 152
    # sql: Dana 48, Omar 72, Lee 60, Priya 36 -> 36 48 60 72: median 54; p90 60 + 0.7 * 12
    # opportunity: Dana 240, Priya 168: median 204; p90 168 + 0.9 * 72
    # nurture: Lee 288 (120 to 408). Nobody's subscriber stay has a known start.
    assert times(report().overall) == {
        "subscriber": (0, None, None, 1, 0),
        "lead": (5, 24.0, 130.0, 0, 0),
        "mql": (4, 36.0, pytest.approx(154.4), 2, 2),
        "sql": (4, 54.0, pytest.approx(68.4), 1, 1),
        "opportunity": (2, 204.0, pytest.approx(232.8), 1, 0),
        "customer": (0, None, None, 1, 0),
        "nurture": (1, 288.0, 288.0, 1, 0),
        "disqualified": (0, None, None, 1, 0),
    }
    slas = {t.stage: t.sla for t in report().overall.times}
    assert slas["mql"] == 48 * H and slas["sql"] == 120 * H and slas["lead"] is None


def test_all_time_handbacks_by_reason() -> None:
    assert handbacks(report().overall) == [
        ("disqualified", "competitor", 1),
        ("nurture", "bad_timing", 1),
        ("nurture", "lost_to_competitor", 1),
    ]


def test_all_time_by_source_is_the_closed_loop() -> None:
    parts = report().by_source
    assert list(parts) == ["organic_search", "paid_social", "referrals", "unknown"]
    reached = {name: [part.reached[s] for s in STAGES] for name, part in parts.items()}
    assert reached == {
        "organic_search": [3, 3, 3, 2, 1, 0, 0],  # Omar, Sam, Ivy
        "paid_social": [3, 3, 2, 2, 1, 1, 0],  # Dana (to revenue), Lee, Carl
        "referrals": [1, 1, 1, 1, 1, 0, 0],  # Priya
        "unknown": [1, 0, 0, 0, 0, 0, 0],  # Nina: no source, never moved
    }
    assert {n: (p.leads, p.won) for n, p in parts.items()} == {
        "organic_search": (3, 0),
        "paid_social": (3, 1),
        "referrals": (1, 0),
        "unknown": (1, 0),
    }
    assert conversions(parts["paid_social"]) == [
        ("subscriber", "lead", 3, 3),
        ("lead", "mql", 3, 2),
        ("mql", "sql", 2, 2),
        ("sql", "opportunity", 2, 1),
        ("opportunity", "customer", 1, 1),
        ("customer", "repeat_customer", 1, 0),
    ]
    assert parts["organic_search"].conversions[-1].ratio is None  # nobody to convert
    # paid_social lead: 12 24 25 -> median 24, p90 24 + 0.8 * 1; mql: 24 48; sql: 48 60
    assert times(parts["paid_social"]) == {
        "lead": (3, 24.0, pytest.approx(24.8), 0, 0),
        "mql": (2, 36.0, pytest.approx(45.6), 1, 1),
        "sql": (2, 54.0, pytest.approx(58.8), 0, 0),
        "opportunity": (1, 240.0, 240.0, 0, 0),
        "customer": (0, None, None, 1, 0),
        "nurture": (1, 288.0, 288.0, 0, 0),
        "disqualified": (0, None, None, 1, 0),
    }
    assert times(parts["organic_search"]) == {
        "lead": (1, 200.0, 200.0, 0, 0),
        "mql": (1, 200.0, 200.0, 1, 1),
        "sql": (1, 72.0, 72.0, 1, 1),
        "opportunity": (0, None, None, 1, 0),
    }
    assert handbacks(parts["paid_social"]) == [
        ("disqualified", "competitor", 1),
        ("nurture", "bad_timing", 1),
    ]
    assert handbacks(parts["referrals"]) == [("nurture", "lost_to_competitor", 1)]
    assert handbacks(parts["organic_search"]) == []


def test_stuck_now_oldest_first() -> None:
    stuck = report().stuck
    assert [(s.lead_id, s.stage, hours(s.waited), hours(s.sla)) for s in stuck] == [
        ("sam", "mql", 280.0, 48.0),
        ("ivy", "sql", 180.0, 120.0),
        ("lee", "mql", 72.0, 48.0),
    ]
    sam, ivy, lee = stuck
    assert (sam.name, sam.email, sam.company, sam.source) == (
        "Sam Stone",
        "sam@example.com",
        story.HOSTILE,
        "organic_search",
    )
    assert sam.overdue == pytest.approx(280 / 48)
    assert (ivy.owner, lee.owner, ivy.entered_at) == ("005IVY", "005LEE", at(300))


# --- since hour 100 --------------------------------------------------------------------


def test_since_counts_the_leads_that_moved_from_where_they_were() -> None:
    # Moved at or after hour 100: Dana (336), Lee (120, 408), Priya (240), Sam (200),
    # Ivy (100, 100, 300). Omar, Carl and Nina did not.
    result = report(SINCE)
    overall = result.overall
    assert (result.since, overall.leads, overall.won) == (SINCE, 5, 1)
    assert overall.reached == {
        "subscriber": 1,  # Ivy
        "lead": 2,  # Sam (was there at hour 100), Ivy
        "mql": 3,  # Sam, Ivy, Lee (re-engaged)
        "sql": 2,  # Lee (was there at hour 100), Ivy
        "opportunity": 2,  # Dana, Priya (were there at hour 100)
        "customer": 1,  # Dana
        "repeat_customer": 0,
    }
    assert conversions(overall) == [
        ("subscriber", "lead", 1, 1),
        ("lead", "mql", 2, 2),
        ("mql", "sql", 3, 1),  # Ivy; Lee's MQL came after his SQL, Sam is stuck
        ("sql", "opportunity", 2, 0),  # Lee was handed back, Ivy is stuck
        ("opportunity", "customer", 2, 1),  # Dana won, Priya lost
        ("customer", "repeat_customer", 1, 0),
    ]


def test_since_times_are_the_stays_that_ended_in_the_period() -> None:
    # Ended at or after hour 100: Sam's lead (0-200), Ivy's mql (100-300), Lee's sql
    # (60-120) and nurture (120-408), Dana's opportunity (96-336), Priya's (72-240).
    # Dana's sql ended at 96: before the period.
    assert times(report(SINCE).overall) == {
        "subscriber": (0, None, None, 1, 0),
        "lead": (1, 200.0, 200.0, 0, 0),
        "mql": (1, 200.0, 200.0, 2, 2),
        "sql": (1, 60.0, 60.0, 1, 1),
        "opportunity": (2, 204.0, pytest.approx(232.8), 1, 0),
        "customer": (0, None, None, 1, 0),
        "nurture": (1, 288.0, 288.0, 1, 0),
        "disqualified": (0, None, None, 1, 0),
    }


def test_since_handbacks_and_sources() -> None:
    result = report(SINCE)
    assert handbacks(result.overall) == [
        ("nurture", "bad_timing", 1),
        ("nurture", "lost_to_competitor", 1),
    ]  # Carl's disqualification was at hour 30
    assert {n: (p.leads, p.won) for n, p in result.by_source.items()} == {
        "organic_search": (2, 0),
        "paid_social": (2, 1),
        "referrals": (1, 0),
        "unknown": (0, 0),
    }
    assert list(result.by_source) == ["organic_search", "paid_social", "referrals", "unknown"]
    assert [s.lead_id for s in result.stuck] == ["sam", "ivy", "lee"]  # "now" ignores since


# --- the rules at their edges --------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([5], 0.9, 5.0),
        ([4, 1, 3, 2], 0.5, 2.5),
        ([4, 1, 3, 2], 0.9, 3.7),
        ([1, 2, 3, 4, 5], 0.5, 3.0),
        ([10, 20], 0.9, 19.0),
    ],
)
def test_percentile_interpolates_linearly(values: list[int], q: float, expected: float) -> None:
    found = percentile([v * H for v in values], q)
    assert hours(found) == (None if expected is None else pytest.approx(expected))


def _move(lead: str, hour: float, source: str, target: str, cause_hour: float) -> Entry:
    cause = Cause(System.SALESFORCE, "Lead", lead, at(cause_hour))
    return Entry(lead, Transition(source, target, f"to_{target}", "", cause, at(hour)))


def test_folded_leads_renamed_stages_and_backward_moves() -> None:
    kim = Lead("kim", "mql", at(50), fields={"source": "offline"})
    entries = [
        _move("kim", 10, "subscriber", "lead", 10),
        _move("kim", 20, "lead", "sal", 20),  # a stage since removed from stages.yaml
        _move("kim", 30, "sal", "sql", 30),
        _move("kim", 50, "sql", "mql", 50),  # backwards without a hand-back: a new run
        _move("ghost", 40, "subscriber", "lead", 40),  # folded into another lead
    ]
    result = compute(entries, [kim], story.funnel(), at(60))
    assert result.unknown_stages == ("sal",)
    assert result.ignored_entries == 1
    part = result.overall
    assert [part.reached[s] for s in STAGES] == [1, 1, 1, 1, 0, 0, 0]
    # Run 1: subscriber -> lead (then the unknown stage ends it); run 2: sql; run 3: mql.
    assert [c.converted for c in part.conversions] == [1, 0, 0, 0, 0, 0]
    # Stays: lead 10-20; the unknown stage none; sql 30-50.
    assert times(part) == {
        "lead": (1, 10.0, 10.0, 0, 0),
        "sql": (1, 20.0, 20.0, 0, 0),
        "mql": (0, None, None, 1, 0),
    }
    assert part.handbacks == ()


def test_one_instant_two_causes_is_a_stay_one_cause_is_not() -> None:
    lead = Lead("x", "sql", at(5), fields={})
    entries = [
        _move("x", 5, "subscriber", "lead", 1),
        _move("x", 5, "lead", "mql", 2),  # same instant, another change: a stay of zero
        _move("x", 5, "mql", "sql", 2),  # same decision as the one before: passed through
    ]
    part = compute(entries, [lead], story.funnel(), at(6)).overall
    assert times(part)["lead"] == (1, 0.0, 0.0, 0, 0)
    assert "mql" not in times(part)


def test_no_leads_is_an_empty_report_not_an_error() -> None:
    result = compute([], [], story.funnel(), T0)
    assert result.overall.leads == 0 and result.overall.win_rate is None
    assert all(c.ratio is None for c in result.overall.conversions)
    assert result.by_source == {} and result.stuck == ()


def test_stuck_counts_time_the_way_the_sla_does() -> None:
    # A business-hours clock (the alerts' kind) that counts only a third of wall time:
    # Sam (280h / 3 > 48h) stays stuck, Lee (72h / 3 < 48h) and Ivy (180h / 3 < 120h) do not.
    def open_hours(lead: Lead, now: datetime) -> timedelta:
        return (now - lead.stage_entered_at) / 3

    result = compute(story.entries(), story.leads(), story.funnel(), NOW, in_stage=open_hours)
    assert [s.lead_id for s in result.stuck] == ["sam"]
    assert result.stuck[0].waited == timedelta(hours=280) / 3
    assert times(result.overall)["mql"][3:] == (2, 1)  # two in mql now, one past its SLA


# --- at a moment, labels, score bands ----------------------------------------------------


def test_a_moment_in_the_past_is_the_report_of_then() -> None:
    # At hour 250: Dana in opportunity (won at 336, later), Lee in nurture (back at 408,
    # later), Ivy in mql since 100 (sql at 300, later), Sam in mql since 200.
    then = at(250)
    result = compute(story.entries(), story.leads(), story.funnel(), then)
    assert result.now == then and result.overall.won == 0
    assert [(s.lead_id, s.stage, hours(s.waited)) for s in result.stuck] == [
        ("ivy", "mql", 150.0),
        ("sam", "mql", 50.0),
    ]
    now = {t.stage: t.now for t in result.overall.times if t.now}
    assert now == {
        "subscriber": 1,
        "opportunity": 2,  # Dana, Omar
        "mql": 2,
        "nurture": 2,  # Lee, Priya
        "disqualified": 1,
    }
    assert [w.arrivals["customer"] for w in result.trend] == [0, 0]  # two weeks, no win yet


def test_a_lead_not_yet_seen_at_the_moment_is_left_out() -> None:
    late = Lead("late", "subscriber", at(300), fields={})
    assert compute([], [late], story.funnel(), at(200)).overall.leads == 0
    assert compute([], [late], story.funnel(), at(300)).overall.leads == 1


def test_score_bands_and_grades_from_the_leads_fields() -> None:
    scores = {"dana": 80, "omar": "55", "lee": 30.5, "priya": 10, "ivy": -5, "sam": "n/a"}
    grades = {"dana": "a", "omar": "B", "priya": "A"}
    people = [
        dataclasses.replace(
            lead,
            fields={
                **lead.fields,
                **({"score": scores[lead.id]} if lead.id in scores else {}),
                **({"grade": grades[lead.id]} if lead.id in grades else {}),
            },
        )
        for lead in story.leads()
    ]
    result = compute(story.entries(), people, story.funnel(), NOW)
    bands = {name: (p.leads, p.reached["opportunity"]) for name, p in result.by_score_band.items()}
    assert bands == {
        "75+": (1, 1),  # Dana
        "50-74": (1, 1),  # Omar
        "25-49": (1, 0),  # Lee
        "0-24": (1, 1),  # Priya
        "below 0": (1, 0),  # Ivy
        "no score": (3, 0),  # Sam (no number), Carl, Nina
    }
    assert list(result.by_grade) == ["A", "B", "no grade"]
    assert result.by_grade["A"].leads == 2 and result.by_grade["A"].won == 1
    assert compute(story.entries(), story.leads(), story.funnel(), NOW).by_score_band == {}


def test_labels_prefer_the_configured_words() -> None:
    funnel = story.funnel()
    assert value_labels(funnel, ["direct_traffic", "no_fit", "paid_search"]) == {
        "direct_traffic": "Direct traffic",
        "no_fit": "No fit",
        "paid_search": "Paid search",
    }
    assert stage_labels(funnel)["mql"] == "MQL"

    class Labelled:
        labels = {"paid_search": "Google Ads"}

    fields = {**funnel.fields, "source": Labelled()}
    custom = dataclasses.replace(funnel, fields=fields)  # type: ignore[arg-type]
    assert value_labels(custom, ["paid_search"], prefer=["source"]) == {"paid_search": "Google Ads"}
    assert humanize("repeat_customer") == "Repeat customer" and humanize("sql") == "SQL"
