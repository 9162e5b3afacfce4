"""What the funnel report holds: plain frozen values, computed by report.build, printed by
report.text, report.data and report.html."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadbridge.report.weeks import Cohort, Week


@dataclass(frozen=True, slots=True)
class Conversion:
    from_stage: str
    to_stage: str
    reached: int  # leads that reached from_stage
    converted: int  # of those, the leads that went on to to_stage

    @property
    def ratio(self) -> float | None:
        return self.converted / self.reached if self.reached else None


@dataclass(frozen=True, slots=True)
class StageTime:
    stage: str
    sla: timedelta | None
    stays: int  # completed stays that ended in the period
    median: timedelta | None
    p90: timedelta | None
    now: int  # live leads in the stage at `now`
    stuck: int  # of those, the ones past the stage's SLA


@dataclass(frozen=True, slots=True)
class Handback:
    stage: str  # the hand-back stage entered (nurture, disqualified)
    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class Breakdown:
    """The funnel of one group of leads: all of them, or one source's."""

    leads: int  # leads counted in the period (see "Who counts")
    reached: Mapping[str, int]  # forward stage -> leads that reached it
    conversions: tuple[Conversion, ...]  # consecutive forward stages
    times: tuple[StageTime, ...]  # every stage, in funnel order
    handbacks: tuple[Handback, ...]  # most frequent first
    won: int  # leads that reached the won stage

    @property
    def win_rate(self) -> float | None:
        return self.won / self.leads if self.leads else None


@dataclass(frozen=True, slots=True)
class StuckLead:
    lead_id: str
    name: str
    email: str | None
    company: str | None
    owner: str | None
    source: str
    stage: str
    entered_at: datetime
    waited: timedelta  # time in stage as its SLA counts it (see `in_stage`)
    sla: timedelta

    @property
    def overdue(self) -> float:
        """Time in stage as a multiple of the SLA (2.0: twice the SLA)."""
        return self.waited / self.sla


@dataclass(frozen=True, slots=True)
class Report:
    now: datetime
    since: datetime | None
    stages: tuple[str, ...]  # the forward funnel, in order
    won_stage: str
    overall: Breakdown
    by_source: Mapping[str, Breakdown]  # most leads first, "unknown" last
    stuck: tuple[StuckLead, ...]  # oldest stage entry first
    unknown_stages: tuple[str, ...] = ()  # journaled stages no longer in stages.yaml
    ignored_entries: int = 0  # entries of leads that are not live
    by_owner: Mapping[str, Breakdown] = field(default_factory=dict)  # most leads first
    by_score_band: Mapping[str, Breakdown] = field(default_factory=dict)  # highest band first
    by_grade: Mapping[str, Breakdown] = field(default_factory=dict)  # A first
    trend_stages: tuple[str, ...] = ()  # handoff to won stage
    trend: tuple[Week, ...] = ()  # every week of the period, oldest first
    cohort_stage: str = ""
    cohorts: tuple[Cohort, ...] = ()  # oldest first
    stage_labels: Mapping[str, str] = field(default_factory=dict)  # stage name -> label
    value_labels: Mapping[str, str] = field(default_factory=dict)  # source / reason -> label

    def stage_label(self, name: str) -> str:
        return self.stage_labels.get(name) or name

    def value_label(self, code: str) -> str:
        return self.value_labels.get(code) or code
