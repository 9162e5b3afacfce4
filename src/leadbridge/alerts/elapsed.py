"""Time in a stage as its SLA counts it: wall-clock time, or only the open business hours.

Pure: the moments come in as arguments. Business hours are local times in a
time zone, so a window is placed on the calendar day by day (a 09:00 start is
09:00 after a daylight-saving change too) and only then turned into UTC.
Whole weeks and days without an offset change are added from the precomputed
local lengths, so a lead stuck for years costs a few hundred steps, not
thousands.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from leadbridge.config.sla import BusinessHours, Sla, Window

_ZERO = timedelta(0)
_DAY = timedelta(days=1)
_WEEK = timedelta(weeks=1)


def time_in_stage(entered_at: datetime, now: datetime, sla: Sla | None) -> timedelta:
    """How long the lead has been in its stage, as `sla` counts time (None: wall time)."""
    if now <= entered_at:
        return _ZERO
    if sla is None or sla.hours is None:
        return now - entered_at
    return open_time(entered_at, now, sla.hours)


def open_time(start: datetime, end: datetime, hours: BusinessHours) -> timedelta:
    """The part of [start, end) that falls inside the business hours."""
    if end <= start:
        return _ZERO
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    tz = hours.tz
    by_day: list[list[Window]] = [[] for _ in range(7)]
    for window in hours.windows:
        by_day[window.weekday].append(window)
    daily = [timedelta(minutes=sum(w.end - w.start for w in found)) for found in by_day]
    weekly = sum(daily, _ZERO)
    total = _ZERO
    # A day's windows may sit on either side of the UTC day: start a day early, end a day late.
    day = start.astimezone(tz).date() - _DAY
    last = end.astimezone(tz).date() + _DAY
    while day <= last:
        midnight = _at(day, 0, hours)
        if day.weekday() == 0:
            week_end = _at(day + _WEEK, 0, hours)
            if start <= midnight and week_end <= end and _steady(day, 7, hours):
                total += weekly
                day += _WEEK
                continue
        next_midnight = _at(day + _DAY, 0, hours)
        if start <= midnight and next_midnight <= end and _steady(day, 1, hours):
            total += daily[day.weekday()]
        else:
            for window in by_day[day.weekday()]:
                opened = max(_at(day, window.start, hours), start)
                closed = min(_at(day, window.end, hours), end)
                if closed > opened:
                    total += closed - opened
        day += _DAY
    return total


def _at(day: date, minute: int, hours: BusinessHours) -> datetime:
    """`minute` minutes of wall-clock time after local midnight of `day`, in UTC.

    Adding a timedelta to an aware datetime is wall-clock arithmetic in Python,
    which is what a local opening time means. A time skipped by a DST change
    reads with the offset before it (fold=0), consistently for every boundary.
    """
    local = datetime(day.year, day.month, day.day, tzinfo=hours.tz) + timedelta(minutes=minute)
    return local.astimezone(UTC)


def _steady(day: date, days: int, hours: BusinessHours) -> bool:
    """No UTC offset change from local midnight of `day` to `days` midnights later."""
    tz = hours.tz
    offsets = {
        datetime(d.year, d.month, d.day, tzinfo=tz).utcoffset()
        for d in (day + timedelta(days=n) for n in range(days + 1))
    }
    return len(offsets) == 1
