"""Durations and next steps in the words people use: "within 2 days", "16 working hours".

Alerts, `explain` and the report say what a stage's owner does next; the SLA is
part of that sentence, so it is spelled here once for all of them.
"""

from __future__ import annotations

from datetime import timedelta

from leadbridge.config.sla import Sla
from leadbridge.model import Stage

_UNITS = (("week", 7 * 24 * 60), ("day", 24 * 60), ("hour", 60), ("minute", 1))


def span(duration: timedelta) -> str:
    """2 days, 1 week, 36 hours, 1 day 12 hours, 90 minutes: whole units, at most two.

    Hours stay hours below two days (36 hours reads better than 1 day 12 hours), and a
    week is said only when the span is whole weeks."""
    minutes = round(duration.total_seconds() / 60)
    if minutes <= 0:
        return "no time"
    parts: list[str] = []
    for unit, size in _UNITS:
        if unit == "week" and minutes % size:
            continue
        if unit == "day" and minutes < 2 * size and minutes % size:
            continue
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count} {unit}{'s' * (count != 1)}")
    return " ".join(parts[:2])


def within(sla: Sla) -> str:
    """The SLA as "within ...": working hours when it counts only business hours."""
    if sla.hours is None:
        return f"within {span(sla.limit)}"
    return f"within {span(sla.limit)} of working time ({sla.hours.text}, {sla.hours.zone})"


def next_step(stage: Stage, sla: Sla | None) -> str | None:
    """The stage's next step with its SLA: "accept or reject in Salesforce within 2 days";
    None when stages.yaml gives the stage no next step."""
    if not stage.next_step:
        return None
    step = stage.next_step.rstrip(".")
    return f"{step} {within(sla)}" if sla is not None else step
