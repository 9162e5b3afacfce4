"""Value parsers every configuration file shares, so one spelling means one thing everywhere.

A duration is written the same way in stages.yaml (an SLA) and in the
connection files (a poll interval, a lag tolerance): a number and a unit, ms, s,
m, h, d or w. A bare number is refused, because `sla: 2` could mean two
seconds or two days and guessing is how an alert fires a day late.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic_core import PydanticCustomError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$")
_UNIT = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


def problem(detail: str) -> PydanticCustomError:
    """A validation error in our words; config.validation places it at file:line."""
    return PydanticCustomError("leadbridge", "{detail}", {"detail": detail})


def invalid(got: Any, expected: str) -> PydanticCustomError:
    shown = repr(got)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return problem(f"got {shown}, expected {expected}")


def duration(value: Any, example: str = "30s, 5m, 2h, 2d or 1w") -> timedelta:
    match = _DURATION.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise invalid(value, f"a duration with a unit, such as {example}")
    return float(match[1]) * _UNIT[match[2]]


def spelled(span: timedelta) -> str:
    """A duration as a file would write it: the largest unit that keeps it whole (90s, 10m)."""
    for unit in ("w", "d", "h", "m", "s"):
        count = span / _UNIT[unit]
        if count >= 1 and count == int(count):
            return f"{int(count)}{unit}"
    return f"{round(span / _UNIT['ms'])}ms"


def refuse_look_back(value: Any, parse: Callable[[Any], timedelta]) -> PydanticCustomError:
    """The problem for an older file's look_back, naming its replacement: each poll paid it
    twice (the cursor trailed now by it, and the read began that far before the cursor)."""
    try:
        replacement = f"lag_tolerance: {spelled(2 * parse(value))}"
    except PydanticCustomError:
        replacement = "lag_tolerance set to twice this value"
    return problem(
        f"replaced by lag_tolerance, which each poll pays once; write {replacement} "
        "for the window this file had"
    )
