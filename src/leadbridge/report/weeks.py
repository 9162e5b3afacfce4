"""The funnel over time: arrivals per week (the trend) and weekly cohorts. Pure.

Weeks start on Monday 00:00 UTC. An **arrival** is a lead reaching a forward
stage at a moment the journal holds, skipped stages included (a demo request
going from lead to sql arrives at mql and at sql at once); a lead coming back
after a hand-back arrives again. A **cohort** is the leads whose first
arrival at the cohort stage (the handoff, MQL by default) in the period fell
in one week; each later stage counts those that arrived there at or after
that moment, by the report's `now`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

Arrival = tuple[str, datetime]  # (forward stage, when the lead reached it)


@dataclass(frozen=True, slots=True)
class Week:
    start: datetime  # Monday 00:00 UTC
    arrivals: Mapping[str, int]  # stage -> arrivals in the week, for each trend stage


@dataclass(frozen=True, slots=True)
class Cohort:
    start: datetime  # Monday 00:00 UTC of the week the leads arrived at the cohort stage
    leads: int  # leads that arrived at the cohort stage that week
    reached: Mapping[str, int]  # each later stage -> of those leads, how many reached it


def week_start(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).date() - timedelta(days=moment.astimezone(UTC).weekday())
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def weeks_between(first: datetime, last: datetime) -> list[datetime]:
    """Every week start from `first`'s week to `last`'s, gaps included."""
    start, end = week_start(first), week_start(last)
    return [start + timedelta(weeks=n) for n in range((end - start).days // 7 + 1)]


def trend(
    stories: Iterable[Sequence[Arrival]],
    stages: Sequence[str],
    since: datetime | None,
    now: datetime,
) -> tuple[Week, ...]:
    """Arrivals per week at each of `stages`, from the period's first week to `now`'s."""
    tally: dict[tuple[datetime, str], int] = {}
    first: datetime | None = since
    for arrivals in stories:
        for stage, moment in arrivals:
            first = moment if first is None else min(first, moment)
            if stage in stages:
                key = (week_start(moment), stage)
                tally[key] = tally.get(key, 0) + 1
    if first is None:
        return ()
    return tuple(
        Week(start, {stage: tally.get((start, stage), 0) for stage in stages})
        for start in weeks_between(first, now)
    )


def cohorts(
    stories: Iterable[Sequence[Arrival]], stage: str, later: Sequence[str]
) -> tuple[Cohort, ...]:
    """One cohort per week in which any lead first arrived at `stage`, oldest first."""
    members: dict[datetime, int] = {}
    reached: dict[tuple[datetime, str], int] = {}
    for arrivals in stories:
        entered = next((moment for name, moment in arrivals if name == stage), None)
        if entered is None:
            continue
        week = week_start(entered)
        members[week] = members.get(week, 0) + 1
        for name in {name for name, moment in arrivals if name in later and moment >= entered}:
            reached[(week, name)] = reached.get((week, name), 0) + 1
    return tuple(
        Cohort(week, members[week], {name: reached.get((week, name), 0) for name in later})
        for week in sorted(members)
    )
