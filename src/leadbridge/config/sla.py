"""How each stage's SLA is counted: wall-clock time, or only a team's business hours.

stages.yaml may say, funnel-wide and per stage, `business_hours` ("Mon-Fri
09:00-17:00", several windows separated by commas, or "24/7" for no
restriction) and `time_zone` (an IANA name). With business hours, an SLA is
an amount of open time, so it must be written in hours or minutes: "2d" would
mean 48 open hours (six working days of eight hours), which nobody means,
and an alert that fires four days late is worse than a config error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadbridge.config.values import invalid

_Loc = tuple[str | int, ...]
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ALWAYS = "24/7"
_WINDOW = re.compile(
    r"^\s*(?P<first>[A-Za-z]{3})(?:\s*-\s*(?P<last>[A-Za-z]{3}))?\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)
_EXAMPLE = "business hours such as Mon-Fri 09:00-17:00 (or Mon-Thu 08:00-18:00, Fri 08:00-12:00)"
_OPEN_TIME_UNIT = re.compile(r"^\s*\d+(?:\.\d+)?\s*(ms|s|m|h)\s*$")


@dataclass(frozen=True, slots=True)
class Window:
    """Open on `weekday` (0 is Monday) from `start` to `end`, in minutes after local midnight."""

    weekday: int
    start: int
    end: int  # up to 1440: "17:00-24:00" runs to midnight


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """When a team works, as written (`text`), and in which time zone."""

    text: str
    windows: tuple[Window, ...]
    zone: str  # an IANA name, e.g. Europe/Berlin

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)  # zoneinfo caches instances: cheap to ask again


@dataclass(frozen=True, slots=True)
class Sla:
    """How long a stage may hold a lead, and how that time is counted."""

    limit: timedelta
    hours: BusinessHours | None = None  # None: every hour counts


@dataclass(frozen=True, slots=True)
class Hours:
    """Parsed `business_hours` before a time zone is known: windows, or None for 24/7."""

    text: str
    windows: tuple[Window, ...] | None


def parse_hours(value: Any) -> Hours:
    """Parse a `business_hours` value; raises the "got X, expected Y" error pydantic places."""
    if not isinstance(value, str) or not value.strip():
        raise invalid(value, _EXAMPLE)
    text = " ".join(value.split())
    if text.lower() in (_ALWAYS, "always"):
        return Hours(_ALWAYS, None)
    windows: list[Window] = []
    for part in text.split(","):
        match = _WINDOW.match(part)
        if match is None:
            raise invalid(value, _EXAMPLE)
        first = _day(match["first"], value)
        last = _day(match["last"] or match["first"], value)
        start, end = _minute(match["start"], value), _minute(match["end"], value)
        if start >= end:
            raise invalid(value, f"{_EXAMPLE}, each window opening before it closes")
        days = [(first + offset) % 7 for offset in range((last - first) % 7 + 1)]
        windows += [Window(day, start, end) for day in days]
    ordered = sorted(set(windows), key=lambda w: (w.weekday, w.start, w.end))
    for before, after in pairwise(ordered):
        if before.weekday == after.weekday and after.start < before.end:
            raise invalid(value, f"{_EXAMPLE}, windows of one day not overlapping")
    return Hours(text, tuple(ordered))


def parse_zone(value: Any) -> str:
    """An IANA time zone name that this machine's zoneinfo (or tzdata) knows."""
    if isinstance(value, str) and value.strip():
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return value.strip()
    raise invalid(value, "an IANA time zone such as Europe/Berlin or America/New_York")


def _day(name: str, value: Any) -> int:
    try:
        return _DAYS.index(name.lower())
    except ValueError:
        raise invalid(
            value, f"{_EXAMPLE}, days written Mon, Tue, Wed, Thu, Fri, Sat, Sun"
        ) from None


def _minute(clock: str, value: Any) -> int:
    hours, minutes = (int(part) for part in clock.split(":"))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        raise invalid(value, f"{_EXAMPLE}, times from 00:00 to 24:00")
    return hours * 60 + minutes


class StageLike(Protocol):
    """What slas() reads of one stage of stages.yaml (schema.StageSpec)."""

    @property
    def name(self) -> str: ...
    @property
    def sla(self) -> timedelta | None: ...
    @property
    def business_hours(self) -> Hours | None: ...
    @property
    def time_zone(self) -> str | None: ...


_Report = Callable[[_Loc, str], None]


def slas(
    stages: Sequence[StageLike],
    default_hours: Hours | None,
    default_zone: str | None,
    raw: Any,
    problem: _Report,
) -> dict[str, Sla]:
    """Each stage with an SLA, counted as configured; problems go to `problem(loc, message)`.

    `raw` is the stages document as parsed YAML, to see the unit an SLA was written in.
    """
    found: dict[str, Sla] = {}
    zoneless_default = bool(default_hours and default_hours.windows and not default_zone)
    if zoneless_default:
        problem(("business_hours",), _NEEDS_ZONE)
    for i, stage in enumerate(stages):
        where: _Loc = ("stages", i)
        own_hours, own_zone = stage.business_hours, stage.time_zone
        if stage.sla is None:
            if own_hours is not None or own_zone is not None:
                key = "business_hours" if own_hours is not None else "time_zone"
                problem(
                    (*where, key),
                    "set on a stage without an sla, expected an sla here "
                    "(or no business_hours and time_zone)",
                )
            continue
        hours = own_hours if own_hours is not None else default_hours
        zone = own_zone or default_zone
        if hours is None or hours.windows is None:
            found[stage.name] = Sla(stage.sla)
            continue
        if zone is None:
            if own_hours is not None:
                problem((*where, "business_hours"), _NEEDS_ZONE)
            elif not zoneless_default:
                problem(("business_hours",), _NEEDS_ZONE)
            continue
        written = _written(raw, i)
        if written is not None and _OPEN_TIME_UNIT.match(written) is None:
            problem(
                (*where, "sla"),
                f"got {written!r} counted in business hours ({hours.text}), expected hours "
                "or minutes of open time such as 16h (a business day is not 24 hours), "
                "or business_hours: 24/7 on this stage",
            )
            continue
        found[stage.name] = Sla(stage.sla, BusinessHours(hours.text, hours.windows, zone))
    return found


_NEEDS_ZONE = (
    "business hours without a time zone, expected time_zone: an IANA name such as "
    "Europe/Berlin, on this stage or at the top of stages.yaml"
)


def _written(raw: Any, index: int) -> str | None:
    """The SLA as the YAML spelled it, e.g. "2d"."""
    listed = raw.get("stages") if isinstance(raw, Mapping) else None
    if not isinstance(listed, list) or index >= len(listed):
        return None
    stage = listed[index]
    value = stage.get("sla") if isinstance(stage, Mapping) else None
    return value if isinstance(value, str) else None
