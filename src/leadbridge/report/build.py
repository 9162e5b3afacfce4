"""The funnel report: conversions, time in stage, hand-backs, by source, and who is stuck. Pure.

`compute(entries, leads, funnel, now, since)` turns the journal and the live
leads into a `Report`; it reads no clock and does no I/O (store/history.py
fetches, report.text and report.html print). The choices, so the
numbers can be checked by hand:

- **Who counts.** Without `since`, every live lead, starting at the funnel's
  first stage. With `since`, the leads with at least one journal entry at or
  after it, starting where their first such entry found them. Entries of
  leads that are not live (folded into another) are left out, so a person
  counts once.
- **Reached** a forward stage (the non-hand-back stages, in order): the lead
  was there, or skipped over it on its way further (a demo request goes from
  lead to sql: it counts at mql too, as the funnel passes through it).
- **Converted** A -> B: the lead reached A and then B without being handed
  back (or moved backwards) in between. A hand-back ends a run; a revival
  starts a new one where it lands, so a nurtured lead coming back as an MQL
  counts at mql again but is not converted to sql until sales accepts it.
- **Time in stage**: the completed stays, from the entry that put the lead in
  the stage to the next one, for stays that ended in the period. A lead still
  in a stage has no completed stay there: it counts under "now" and, past the
  stage's SLA, under "stuck" (mixing open stays in would make a stalled stage
  look fast until its leads move). A stage passed through within one decision
  (several rules firing on one change) is no stay. The first stage has no
  durations: the journal does not record when a lead was first seen.
- **Median and p90** interpolate linearly between the two nearest stays
  (numpy's default, Excel's PERCENTILE.INC).
- **Now** and **stuck** describe every live lead at `now`, whatever `since`.
  Time in stage for "stuck" is wall-clock unless `in_stage` says otherwise
  (pass the alerts' business-hours clock so the report and Slack agree).
- **Source**: the lead's canonical `source` field (fields.yaml), else "unknown".
  **Owner**: the lead's owner (Salesforce's OwnerId), else "(no owner)".
- **Score band and grade**: the lead's `score` and `grade` fields as they are
  at `now` (the store keeps no history of fields), banded 0-24, 25-49, 50-74,
  75+. Without a number or a grade, a lead counts under "no score" / "no grade";
  when no lead has one, the breakdown is empty.
- **At a moment**: journal entries after `now` are left out and the leads put
  back where they were (report.moment), so `now` in the past is the report of then.
- **Trend and cohorts**: see report.weeks; the trend follows the stages from
  the handoff (the first stage that creates the Salesforce Lead: MQL) to the
  won stage, and the cohorts start at the handoff.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from leadbridge.config import Funnel
from leadbridge.model import Lead, Stage, Transition
from leadbridge.report.figures import (
    Breakdown,
    Conversion,
    Handback,
    Report,
    StageTime,
    StuckLead,
)
from leadbridge.report.labels import stage_labels, value_labels
from leadbridge.report.moment import at_moment
from leadbridge.report.weeks import Arrival, cohorts, trend

_SOURCE_FIELD = "source"
_UNKNOWN_SOURCE = "unknown"
_NO_REASON = "(no reason)"
NO_OWNER = "(no owner)"
NO_SCORE = "no score"
NO_GRADE = "no grade"
_SCORE_FIELD, _GRADE_FIELD = "score", "grade"
# (lowest score in the band, its name), highest first.
_BANDS = ((75.0, "75+"), (50.0, "50-74"), (25.0, "25-49"), (0.0, "0-24"))
_BELOW = "below 0"
# Salesforce's standard won stage: the first forward stage showing it is "won".
_CLOSED_WON = "Closed Won"

__all__ = [
    "Breakdown",
    "Conversion",
    "Entry",
    "Handback",
    "InStage",
    "Report",
    "StageTime",
    "StuckLead",
    "compute",
    "percentile",
]


InStage = Callable[[Lead, datetime], timedelta]
"""How long a lead has been in its stage at a moment, as its SLA counts it."""


def _wall_clock(lead: Lead, now: datetime) -> timedelta:
    return now - lead.stage_entered_at


class Entry(Protocol):
    """A journal entry as the report reads it (store.JournalEntry is one)."""

    @property
    def lead_id(self) -> str: ...

    @property
    def transition(self) -> Transition: ...


@dataclass
class _Story:
    """What one lead did in the period: the facts every breakdown sums up."""

    counted: bool = False
    reached: set[str] = field(default_factory=set)
    converted: set[tuple[str, str]] = field(default_factory=set)
    stays: list[tuple[str, timedelta]] = field(default_factory=list)
    handbacks: list[tuple[str, str]] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)  # forward stages reached, when


def compute(
    entries: Iterable[Entry],
    leads: Sequence[Lead],
    funnel: Funnel,
    now: datetime,
    since: datetime | None = None,
    *,
    source_field: str = _SOURCE_FIELD,
    in_stage: InStage = _wall_clock,
) -> Report:
    """The report over `entries` (journal order: by time, then as journaled) and live `leads`.

    Give each moved lead's whole journal, not only the entries since `since`:
    a stay that ends in the period began before it.
    """
    entries, leads = at_moment(entries, leads, now)
    forward = tuple(stage for stage in funnel.stages if not stage.handback)
    stories, ignored, unknown = _stories(entries, leads, funnel, forward, since)
    won = _won_stage(forward)

    def split(
        key: Callable[[Lead], str], order: Callable[[str, Breakdown], Any]
    ) -> dict[str, Breakdown]:
        groups: dict[str, list[Lead]] = {}
        for lead in leads:
            groups.setdefault(key(lead), []).append(lead)
        parts = {
            name: _breakdown(members, stories, funnel, forward, won, now, in_stage)
            for name, members in groups.items()
        }
        return {name: parts[name] for name in sorted(parts, key=lambda n: order(n, parts[n]))}

    by_source = split(
        lambda lead: _source(lead, source_field),
        lambda name, part: (name == _UNKNOWN_SOURCE, -part.leads, name),
    )
    handoff = _handoff_stage(forward)
    names = [s.name for s in forward]
    story_arrivals = [story.arrivals for story in stories.values() if story.counted]
    reasons = {reason for story in stories.values() for _, reason in story.handbacks}
    return Report(
        now=now,
        since=since,
        stages=tuple(names),
        won_stage=won,
        overall=_breakdown(leads, stories, funnel, forward, won, now, in_stage),
        by_source=by_source,
        stuck=_stuck(leads, funnel, now, source_field, in_stage),
        unknown_stages=tuple(sorted(unknown)),
        ignored_entries=ignored,
        by_owner=split(
            lambda lead: lead.owner or NO_OWNER,
            lambda name, part: (name == NO_OWNER, -part.leads, name),
        ),
        by_score_band=_if_any(split(_score_band, _band_order), NO_SCORE),
        by_grade=_if_any(split(_grade, lambda name, _: (name == NO_GRADE, name)), NO_GRADE),
        trend_stages=tuple(names[names.index(handoff) : names.index(won) + 1]),
        trend=trend(story_arrivals, names[names.index(handoff) : names.index(won) + 1], since, now),
        cohort_stage=handoff,
        cohorts=cohorts(story_arrivals, handoff, names[names.index(handoff) + 1 :]),
        stage_labels=stage_labels(funnel),
        value_labels=value_labels(
            funnel,
            set(by_source) | reasons,
            prefer=[source_field, *([funnel.reason_field] if funnel.reason_field else [])],
        ),
    )


def _stories(
    entries: Iterable[Entry],
    leads: Sequence[Lead],
    funnel: Funnel,
    forward: tuple[Stage, ...],
    since: datetime | None,
) -> tuple[dict[str, _Story], int, set[str]]:
    """Each live lead's story; how many entries belong to no live lead; unknown stages."""
    by_lead: dict[str, list[Transition]] = {lead.id: [] for lead in leads}
    ignored, unknown = 0, set[str]()
    for entry in entries:
        step = entry.transition
        unknown.update(s for s in (step.from_stage, step.to_stage) if s not in funnel.stage)
        if entry.lead_id in by_lead:
            by_lead[entry.lead_id].append(step)
        else:
            ignored += 1
    for steps in by_lead.values():
        steps.sort(key=lambda step: step.at)  # stable: moves of one instant keep journal order
    stories = {lead.id: _story(lead, by_lead[lead.id], funnel, forward, since) for lead in leads}
    return stories, ignored, unknown


def percentile(values: Sequence[timedelta], q: float) -> timedelta | None:
    """The q-quantile (0..1) of `values`, interpolating linearly between the nearest two."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _story(
    lead: Lead,
    steps: Sequence[Transition],
    funnel: Funnel,
    forward: tuple[Stage, ...],
    since: datetime | None,
) -> _Story:
    window = [step for step in steps if since is None or step.at >= since]
    story = _Story(counted=since is None or bool(window))
    if not story.counted:
        return story
    start = window[0].from_stage if window else lead.stage
    _runs(story, [(start, None), *((step.to_stage, step.at) for step in window)], forward)
    for before, after in itertools.pairwise(steps):
        stage = before.to_stage
        if stage not in funnel.stage or after.from_stage != stage:
            continue  # a renamed stage, or a gap in the journal: no honest duration
        if since is not None and after.at < since:
            continue  # the stay ended before the period
        if after.at == before.at and after.cause == before.cause:
            continue  # passed through within one decision
        story.stays.append((stage, after.at - before.at))
    for step in window:
        target = funnel.stage.get(step.to_stage)
        if target is not None and target.handback:
            story.handbacks.append((step.to_stage, step.reason or _NO_REASON))
    return story


def _runs(
    story: _Story, path: Sequence[tuple[str, datetime | None]], forward: tuple[Stage, ...]
) -> None:
    """Fill reached, converted and arrivals from the stages the lead was in, in order.

    A run is a stretch of forward moves; it covers every forward stage from
    where it started to the furthest it got, skipped stages included. The
    path's first stage has no time: the lead was there when the period began.
    """
    position = {stage.name: number for number, stage in enumerate(forward)}
    runs: list[tuple[int, int]] = []
    run: tuple[int, int] | None = None
    for stage, moment in path:
        at = position.get(stage)
        if run is not None and (at is None or at < run[1]):
            runs.append(run)
            run = None
        if at is None:
            continue
        newly = range(at, at + 1) if run is None else range(run[1] + 1, at + 1)
        if moment is not None:
            story.arrivals.extend((forward[n].name, moment) for n in newly)
        run = (at, at) if run is None else (run[0], max(run[1], at))
    if run is not None:
        runs.append(run)
    for low, high in runs:
        story.reached.update(stage.name for stage in forward[low : high + 1])
        story.converted.update((forward[n].name, forward[n + 1].name) for n in range(low, high))


def _breakdown(
    leads: Sequence[Lead],
    stories: Mapping[str, _Story],
    funnel: Funnel,
    forward: tuple[Stage, ...],
    won: str,
    now: datetime,
    in_stage: InStage,
) -> Breakdown:
    counted = [stories[lead.id] for lead in leads if stories[lead.id].counted]
    reached = {s.name: sum(s.name in story.reached for story in counted) for s in forward}
    conversions = tuple(
        Conversion(
            a.name,
            b.name,
            reached[a.name],
            sum((a.name, b.name) in story.converted for story in counted),
        )
        for a, b in itertools.pairwise(forward)
    )
    times = tuple(_stage_time(stage, leads, counted, now, in_stage) for stage in funnel.stages)
    tally: dict[tuple[str, str], int] = {}
    for story in counted:
        for key in story.handbacks:
            tally[key] = tally.get(key, 0) + 1
    handbacks = tuple(
        Handback(stage, reason, count)
        for (stage, reason), count in sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return Breakdown(len(counted), reached, conversions, times, handbacks, reached.get(won, 0))


def _stage_time(
    stage: Stage, leads: Sequence[Lead], counted: Sequence[_Story], now: datetime, in_stage: InStage
) -> StageTime:
    stays = [took for story in counted for name, took in story.stays if name == stage.name]
    here = [lead for lead in leads if lead.stage == stage.name]
    stuck = sum(_overdue(lead, stage, now, in_stage) for lead in here)
    return StageTime(
        stage.name,
        stage.sla,
        len(stays),
        percentile(stays, 0.5),
        percentile(stays, 0.9),
        len(here),
        stuck,
    )


def _overdue(lead: Lead, stage: Stage, now: datetime, in_stage: InStage) -> bool:
    return stage.sla is not None and in_stage(lead, now) > stage.sla


def _stuck(
    leads: Sequence[Lead], funnel: Funnel, now: datetime, source_field: str, in_stage: InStage
) -> tuple[StuckLead, ...]:
    found = []
    for lead in leads:
        stage = funnel.stage.get(lead.stage)
        if stage is None or stage.sla is None or not _overdue(lead, stage, now, in_stage):
            continue
        found.append(
            StuckLead(
                lead_id=lead.id,
                name=_name(lead),
                email=_text(lead, "email"),
                company=_text(lead, "company"),
                owner=lead.owner,
                source=_source(lead, source_field),
                stage=lead.stage,
                entered_at=lead.stage_entered_at,
                waited=in_stage(lead, now),
                sla=stage.sla,
            )
        )
    return tuple(sorted(found, key=lambda s: (s.entered_at, s.lead_id)))


def _handoff_stage(forward: tuple[Stage, ...]) -> str:
    """Where marketing hands to sales: the first stage that creates the Salesforce Lead."""
    for stage in forward:
        if stage.salesforce_create:
            return stage.name
    return forward[0].name


def _score_band(lead: Lead) -> str:
    value = lead.fields.get(_SCORE_FIELD)
    try:
        score = float(str(value).strip())
    except ValueError:
        return NO_SCORE
    if score != score:  # NaN
        return NO_SCORE
    return next((name for low, name in _BANDS if score >= low), _BELOW)


def _band_order(name: str, _: Breakdown) -> int:
    names = [band for _, band in _BANDS]
    return names.index(name) if name in names else len(names) + (name == NO_SCORE)


def _grade(lead: Lead) -> str:
    grade = _text(lead, _GRADE_FIELD)
    return grade.upper() if grade else NO_GRADE


def _if_any(parts: dict[str, Breakdown], nothing: str) -> dict[str, Breakdown]:
    """No breakdown at all when every lead is in the `nothing` group."""
    return parts if any(name != nothing for name in parts) else {}


def _won_stage(forward: tuple[Stage, ...]) -> str:
    for stage in forward:
        if _CLOSED_WON in stage.opportunity_stages:
            return stage.name
    return forward[-1].name


def _source(lead: Lead, source_field: str) -> str:
    return _text(lead, source_field) or _UNKNOWN_SOURCE


def _name(lead: Lead) -> str:
    parts = [_text(lead, "first_name"), _text(lead, "last_name")]
    return " ".join(part for part in parts if part) or _text(lead, "email") or lead.id


def _text(lead: Lead, name: str) -> str | None:
    value = lead.fields.get(name)
    return None if value is None or str(value).strip() == "" else str(value).strip()
