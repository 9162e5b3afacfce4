"""overdue(): one alert per stage entry past its SLA, one escalation past twice, then silence."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadbridge.alerts.due import (
    Alert,
    HealthChange,
    Known,
    Level,
    alert_key,
    health_changes,
    overdue,
    stuck,
)
from leadbridge.config import Funnel, funnel_from_texts
from tests.alerts.conftest import DAY, MONDAY, lead
from tests.conftest import MAPPINGS

HOUR = timedelta(hours=1)


def levels(found: list[Alert]) -> list[tuple[str, Level]]:
    return [(alert.lead.id, alert.level) for alert in found]


def test_each_lead_past_its_sla_gets_one_overdue_alert(funnel: Funnel) -> None:
    leads = [lead(f"L{n}", entered_at=MONDAY + n * HOUR) for n in range(5)]
    wednesday = MONDAY + 2 * DAY + 5 * HOUR  # L0..L4 entered at 9..13h: all past 2d at 14h
    assert levels(overdue(leads, funnel, wednesday, set())) == [
        (f"L{n}", Level.OVERDUE) for n in range(5)
    ]
    assert overdue(leads, funnel, MONDAY + 2 * DAY, set()) == []  # due, not past


@pytest.mark.parametrize(
    ("waited", "expected"),
    [
        (timedelta(days=1), []),
        (timedelta(days=2), []),
        (timedelta(days=2, seconds=1), [Level.OVERDUE]),
        (timedelta(days=4), [Level.OVERDUE]),
        (timedelta(days=4, seconds=1), [Level.ESCALATION]),
        (timedelta(days=30), [Level.ESCALATION]),
    ],
)
def test_levels_by_time_in_stage(funnel: Funnel, waited: timedelta, expected: list[Level]) -> None:
    found = overdue([lead("sam")], funnel, MONDAY + waited, set())
    assert [alert.level for alert in found] == expected


def test_story_six_one_message_wednesday_one_escalation_friday_then_silence(
    funnel: Funnel,
) -> None:
    sam = lead("sam")
    recorded: set[str] = set()
    said: list[tuple[str, Level]] = []
    moments = [MONDAY + hours * HOUR for hours in range(0, 5 * 24, 3)]  # a sweep every 3h
    for now in moments:
        for alert in overdue([sam], funnel, now, recorded):
            recorded.add(alert.key)
            said.append((now.strftime("%a"), alert.level))
    assert said == [("Wed", Level.OVERDUE), ("Fri", Level.ESCALATION)]
    # The rep acts: Sam is SQL now. Nothing about the MQL entry, and the new entry is young.
    acted = replace(sam, stage="sql", stage_entered_at=MONDAY + 4 * DAY + 10 * HOUR)
    assert overdue([acted], funnel, MONDAY + 5 * DAY, recorded) == []


def test_a_new_entry_into_the_same_stage_alerts_again(funnel: Funnel) -> None:
    first = lead("lee")
    recorded = {a.key for a in overdue([first], funnel, MONDAY + 3 * DAY, set())}
    back = replace(first, stage_entered_at=MONDAY + 10 * DAY)  # handed back, then MQL again
    again = overdue([back], funnel, MONDAY + 13 * DAY, recorded)
    assert levels(again) == [("lee", Level.OVERDUE)]
    assert again[0].key not in recorded


def test_first_seen_past_twice_the_sla_is_one_escalation_not_two_messages(funnel: Funnel) -> None:
    found = overdue([lead("kim")], funnel, MONDAY + 5 * DAY, set())
    assert levels(found) == [("kim", Level.ESCALATION)]
    key = found[0].key
    assert overdue([lead("kim")], funnel, MONDAY + 9 * DAY, {key}) == []


def test_stages_without_an_sla_and_unknown_stages_never_alert(funnel: Funnel) -> None:
    leads = [lead("a", "lead"), lead("b", "customer"), lead("c", "renamed_stage")]
    assert overdue(leads, funnel, MONDAY + 400 * DAY, set()) == []


def test_keys_name_the_stage_entry_and_the_level() -> None:
    key = alert_key("sam", "mql", MONDAY, Level.OVERDUE)
    assert key == "lead|sam|mql|2026-03-02T09:00:00.000000+00:00|overdue"
    assert key != alert_key("sam", "mql", MONDAY + HOUR, Level.OVERDUE)
    assert key != alert_key("sam", "mql", MONDAY, Level.ESCALATION)


def test_business_hours_move_the_deadline(funnel: Funnel) -> None:
    texts = {
        name: (MAPPINGS / f"{name}.yaml").read_text()
        for name in ("stages", "fields", "handoff", "scoring")
    }
    texts["stages"] = texts["stages"].replace(
        "    sla: 2d # sales accepts or rejects it within two days",
        "    sla: 16h\n    business_hours: Mon-Fri 09:00-17:00\n    time_zone: UTC",
    )
    office = funnel_from_texts(texts)
    friday = MONDAY + 4 * DAY + 7 * HOUR  # Friday 16:00 UTC
    sam = lead("sam", entered_at=friday)
    # Friday 1h + Monday 8h + Tuesday 7h = 16h at Tuesday 16:00; wall time says Saturday.
    assert overdue([sam], office, friday + 4 * DAY, set()) == []
    found = overdue([sam], office, friday + 4 * DAY + timedelta(minutes=1), set())
    assert levels(found) == [("sam", Level.OVERDUE)]
    assert found[0].in_stage == timedelta(hours=16, minutes=1)
    assert levels(overdue([sam], funnel, friday + 2 * DAY + HOUR, set())) == [
        ("sam", Level.OVERDUE)
    ]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=20 * 24), min_size=1, max_size=30))
def test_sweeping_any_schedule_alerts_each_entry_at_most_once_per_level(
    funnel: Funnel, ages_in_hours: list[int]
) -> None:
    leads = [lead(f"L{n}", entered_at=MONDAY + n * HOUR) for n in range(len(ages_in_hours))]
    recorded: set[str] = set()
    counts: dict[tuple[str, Level], int] = {}
    for hours in sorted(ages_in_hours):
        for alert in overdue(leads, funnel, MONDAY + hours * HOUR, recorded):
            recorded.add(alert.key)
            counts[(alert.lead.id, alert.level)] = counts.get((alert.lead.id, alert.level), 0) + 1
    assert all(count == 1 for count in counts.values())
    final = MONDAY + max(ages_in_hours) * HOUR
    assert {a.lead.id for a in stuck(leads, funnel, final)} == {lead_id for lead_id, _ in counts}


def test_health_changes_once_per_flip() -> None:
    assert health_changes({}, {"hubspot": "ok"}) == []
    [down] = health_changes({}, {"salesforce": "503 from /services/data"})
    assert (down.healthy, down.detail, down.since) == (False, "503 from /services/data", None)
    failing = Known(False, "503", MONDAY)
    assert health_changes({"salesforce": failing}, {"salesforce": "timeout"}) == []
    [up] = health_changes({"salesforce": failing}, {"salesforce": "OK"})
    assert up == HealthChange("salesforce", True, "503", MONDAY)
    assert up.key == "health|salesforce|2026-03-02T09:00:00.000000+00:00|up"
    assert health_changes({"salesforce": failing}, {}) == []  # not reported: left alone
