"""Time in stage: wall time without business hours, open time only with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadbridge.alerts.elapsed import open_time, time_in_stage
from leadbridge.config.sla import BusinessHours, Sla, parse_hours

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
SPECS = (
    "Mon-Fri 09:00-17:00",
    "Mon-Thu 08:00-18:00, Fri 08:00-12:00",
    "Sat-Sun 00:00-24:00",
    "Mon 01:30-03:30, Wed 02:00-02:30",  # windows across the night of a DST change
    "Fri-Mon 22:00-24:00",
)


def hours(spec: str, zone: str) -> BusinessHours:
    parsed = parse_hours(spec)
    assert parsed.windows is not None
    return BusinessHours(parsed.text, parsed.windows, zone)


def brute_force(start: datetime, end: datetime, calendar: BusinessHours) -> timedelta:
    """Every window of every day, placed and intersected one by one: slow and obvious."""
    tz = calendar.tz
    total = timedelta(0)
    day = start.astimezone(tz).date() - timedelta(days=1)
    while day <= end.astimezone(tz).date() + timedelta(days=1):
        for window in calendar.windows:
            if window.weekday != day.weekday():
                continue
            midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
            opened = (midnight + timedelta(minutes=window.start)).astimezone(UTC)
            closed = (midnight + timedelta(minutes=window.end)).astimezone(UTC)
            overlap = min(closed, end) - max(opened, start)
            total += max(overlap, timedelta(0))
        day += timedelta(days=1)
    return total


moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))
calendars = st.builds(hours, st.sampled_from(SPECS), st.sampled_from(ZONES))


@settings(max_examples=300, deadline=None)
@given(moments, spans, spans, st.one_of(st.none(), calendars))
def test_time_in_stage_never_goes_back_as_now_moves_on(
    entered: datetime, first: timedelta, more: timedelta, calendar: BusinessHours | None
) -> None:
    sla = Sla(timedelta(hours=16), calendar)
    earlier = time_in_stage(entered, entered + first, sla)
    later = time_in_stage(entered, entered + first + more, sla)
    assert timedelta(0) <= earlier <= later <= first + more


@given(moments, spans)
def test_without_business_hours_it_is_wall_time(entered: datetime, waited: timedelta) -> None:
    assert time_in_stage(entered, entered + waited, Sla(timedelta(days=2))) == waited
    assert time_in_stage(entered, entered + waited, None) == waited
    assert time_in_stage(entered + waited, entered, None) == timedelta(0)


@settings(max_examples=300, deadline=None)
@given(moments, spans, spans, calendars)
def test_open_time_adds_up_over_consecutive_spans(
    start: datetime, first: timedelta, second: timedelta, calendar: BusinessHours
) -> None:
    middle, end = start + first, start + first + second
    whole = open_time(start, end, calendar)
    assert whole == open_time(start, middle, calendar) + open_time(middle, end, calendar)


@settings(max_examples=200, deadline=None)
@given(moments, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)), calendars)
def test_the_week_and_day_shortcuts_agree_with_window_by_window(
    start: datetime, span: timedelta, calendar: BusinessHours
) -> None:
    assert open_time(start, start + span, calendar) == brute_force(start, start + span, calendar)


def test_a_whole_week_counts_its_open_hours_only() -> None:
    calendar = hours("Mon-Fri 09:00-17:00", "Europe/Berlin")
    monday = datetime(2026, 3, 2, tzinfo=calendar.tz)
    assert open_time(monday, monday + timedelta(weeks=1), calendar) == timedelta(hours=40)
    assert open_time(monday, monday + timedelta(weeks=52), calendar) == timedelta(hours=40 * 52)


@pytest.mark.parametrize(
    ("entered", "now", "expected"),
    [
        # Friday 16:00 to Monday 10:00 (Berlin): one hour on Friday, one on Monday.
        ("2026-03-06T16:00", "2026-03-09T10:00", timedelta(hours=2)),
        # Entered on Saturday: nothing counts before Monday 09:00.
        ("2026-03-07T11:00", "2026-03-09T09:30", timedelta(minutes=30)),
        # Spring forward (29 March 2026 in Berlin) changes no working hour.
        ("2026-03-27T09:00", "2026-03-31T09:00", timedelta(hours=16)),
    ],
)
def test_examples_in_berlin(entered: str, now: str, expected: timedelta) -> None:
    calendar = hours("Mon-Fri 09:00-17:00", "Europe/Berlin")
    tz = calendar.tz
    start = datetime.fromisoformat(entered).replace(tzinfo=tz)
    end = datetime.fromisoformat(now).replace(tzinfo=tz)
    assert time_in_stage(start, end, Sla(timedelta(hours=16), calendar)) == expected


def test_a_night_window_across_the_dst_change_is_an_hour_shorter() -> None:
    # 01:30-03:30 local on the night clocks jump from 02:00 to 03:00: one real hour open.
    calendar = hours("Sun 01:30-03:30", "Europe/Berlin")
    saturday = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert open_time(saturday, saturday + timedelta(days=2), calendar) == timedelta(hours=1)
