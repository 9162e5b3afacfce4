"""A lead's score and grade from scoring.yaml, and the breakdown that explains them. Pure.

Fit criteria are tested on the lead's fields as they are now. Engagement criteria earn
their points when a change makes them so (the condition holds after the change and one
of the fields it tests took a new value with it: a second form fill counts again), and
those points halve every half-life. What was earned is kept on the lead as a list of
(criterion, points, when, value), so the breakdown can always be shown, and the score
decays exactly, whatever the gaps between changes. Nothing here reads a clock: time
comes in as an argument.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from leadbridge.config.scoring import (
    ENGAGEMENT,
    EVENTS,
    FIT,
    GRADE,
    REASONS,
    SCORE,
    Criterion,
    Scoring,
)
from leadbridge.model import Value, Values

# An earned point worth less than this after decay is forgotten, so the list stays short.
_FORGET_BELOW = 0.05
_REASONS_LIMIT = 2000  # HubSpot text properties hold far more; a person reads far less


class Earned(NamedTuple):  # read back and built on every rescore: a tuple builds fastest
    """Engagement points one criterion earned at one moment, and the value that earned them."""

    criterion: str
    points: float
    at: datetime
    value: Value


@dataclass(frozen=True, slots=True)
class Line:
    """One criterion in a breakdown: its points now, as earned, and the value behind them."""

    criterion: str
    kind: str  # "fit" or "engagement"
    points: float  # what it counts for now (engagement: after decay)
    earned: float  # the points written in scoring.yaml
    field: str | None  # the field whose value earned them
    value: Value
    at: datetime | None = None  # engagement: when it was earned


@dataclass(frozen=True, slots=True)
class Breakdown:
    lines: tuple[Line, ...]
    fit: float
    engagement: float
    score: int
    grade: str


def breakdown(
    fields: Values, scoring: Scoring, now: datetime, entered: datetime | None = None
) -> Breakdown:
    """Each criterion that counts for the lead at `now`, with its points and the value that
    earned them; fit from the fields as they are, engagement from what the lead earned."""
    counted = [(event, _decayed(event, scoring, now)) for event in earned(fields)]
    rows, fit, engagement = _rows(fields, counted, scoring, now, entered or now)
    return Breakdown(
        tuple(Line(*row) for row in rows),
        fit,
        engagement,
        round(fit + engagement),
        scoring.grade_of(fit),
    )


def rescore(
    before: Values,
    after: Values,
    scoring: Scoring,
    now: datetime,
    entered: datetime,
) -> dict[str, Value]:
    """The computed fields after one change: score, grade, what was earned, the reasons.

    `before` and `after` are the fields rules see before and after the change (the
    engine's facts); engagement criteria compare the two.
    """
    kept = earned(after)
    for criterion in scoring.engagement:
        if _moved(criterion, before, after) and criterion.test(before, after, now, entered):
            shown = _shown_field(criterion, after)
            value = after.get(shown) if shown else None
            kept.append(Earned(criterion.name, criterion.points, now, value))
    counted = [
        (event, worth)
        for event in kept
        if abs(worth := _decayed(event, scoring, now)) >= _FORGET_BELOW
    ]
    # Rows, not Lines: a first sync rescores nearly every person, and the reasons text is
    # all it needs of the breakdown (frozen dataclasses are slow to build).
    rows, fit, engagement = _rows(after, counted, scoring, now, entered)
    score, grade = round(fit + engagement), scoring.grade_of(fit)
    return {
        SCORE: score,
        GRADE: grade,
        EVENTS: encode([event for event, _ in counted]) if counted else None,
        REASONS: _reasons(rows, score, grade),
    }


def earned(fields: Values) -> list[Earned]:
    """The engagement a lead earned so far, as kept in its fields (none when unreadable)."""
    text = fields.get(EVENTS)
    if not isinstance(text, str) or not text:
        return []
    try:
        rows = json.loads(text)
        return [
            Earned(str(name), float(points), datetime.fromisoformat(at), value)
            for name, points, at, value in rows
        ]
    except (ValueError, TypeError):
        return []  # a hand-edited or older form: engagement starts again rather than crash


def encode(events: list[Earned]) -> str:
    return json.dumps(
        [[e.criterion, e.points, e.at.isoformat(), _plain(e.value)] for e in events],
        separators=(",", ":"),
    )


def reasons(result: Breakdown) -> str:
    """The breakdown in one line, as written to HubSpot and kept with the lead:
    "senior_title +20 (title: VP Ops); demo_request +25→+21 (last_form: demo_request) = 70 A"."""
    rows = [
        (line.criterion, line.kind, line.points, line.earned, line.field, line.value, line.at)
        for line in result.lines
    ]
    return _reasons(rows, result.score, result.grade)


# A breakdown line as a plain tuple, in Line's field order.
_Row = tuple[str, str, float, float, str | None, Value, datetime | None]


def _reasons(rows: list[_Row], score: int, grade: str) -> str:
    parts = []
    for criterion, kind, now_worth, points, name, value, _ in rows:
        text = _signed(points)
        if kind == ENGAGEMENT and round(now_worth) != round(points):
            text += f"→{_signed(now_worth)}"
        shown = f" ({name}: {_plain(value)})" if name else ""
        parts.append(f"{criterion} {text}{shown}")
    text = "; ".join(parts) or "no criterion met"
    total = f" = {score}, grade {grade}"
    if len(text) + len(total) > _REASONS_LIMIT:
        text = text[: _REASONS_LIMIT - len(total) - 1] + "…"
    return text + total


def _rows(
    fields: Values,
    counted: list[tuple[Earned, float]],
    scoring: Scoring,
    now: datetime,
    entered: datetime,
) -> tuple[list[_Row], float, float]:
    """The breakdown's lines as rows, with the fit and engagement points; `counted` holds
    each event with what it is worth at `now`."""
    rows: list[_Row] = []
    fit = 0.0
    for criterion in scoring.fit:
        if criterion.test(fields, fields, now, entered):
            name = _shown_field(criterion, fields)
            value = fields.get(name) if name else None
            points = criterion.points
            rows.append((criterion.name, FIT, points, points, name, value, None))
            fit += points
    engagement = 0.0
    by_name = scoring.engagement_by_name
    for event, now_worth in counted:
        engagement += now_worth
        known = by_name.get(event.criterion)
        name = _shown_field(known, fields) if known else None
        rows.append(
            (event.criterion, ENGAGEMENT, now_worth, event.points, name, event.value, event.at)
        )
    return rows, fit, engagement


def _decayed(event: Earned, scoring: Scoring, now: datetime) -> float:
    elapsed = max((now - event.at) / scoring.half_life, 0.0)
    return float(event.points * 0.5**elapsed)


def _moved(criterion: Criterion, before: Values, after: Values) -> bool:
    """Whether this change gave a field the criterion tests a new value."""
    # A loop, not any(): no generator per criterion per change.
    for name in criterion.fields:  # noqa: SIM110
        if before.get(name) != after.get(name):
            return True
    return False


def _shown_field(criterion: Criterion, fields: Mapping[str, Value]) -> str | None:
    """The field whose value to show: the first tested one with a value, else the first."""
    for name in criterion.fields:
        if fields.get(name) not in (None, ""):
            return name
    return criterion.fields[0] if criterion.fields else None


def _plain(value: Value) -> str | int | float | bool | None:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 1.0 form fills reads as 1
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return value.isoformat()


@lru_cache(maxsize=4096)  # a criterion's points recur in every lead's reasons
def _signed(points: float) -> str:
    number = round(points, 1)
    text = f"{number:g}"
    return text if number < 0 else "+" + text
