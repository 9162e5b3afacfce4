"""Which leads sit past their SLA, and which alerts that calls for: the pure core of alerting.

No I/O, no clock: leads, the funnel, `now` and the keys already recorded come
in as arguments. An alert belongs to one stage *entry* (lead, stage, the
moment it entered), so a lead that leaves and comes back is a new entry and
alerts again, while the same entry alerts once per level: "overdue" past the
SLA, "escalation" past twice the SLA. A lead first seen past twice its SLA
(the sweep was down, say) gets only the escalation: two messages at once
about one lead say nothing the second does not.

Health alerts follow the same rule of one message per change: `health_changes`
compares what each component says now with what was last recorded.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from leadbridge.alerts.elapsed import time_in_stage
from leadbridge.config import Funnel
from leadbridge.config.sla import Sla
from leadbridge.model import Lead, Side

# An alert's key holds its stage entry as the store writes stamps: one function, no drift.
from leadbridge.store.codec import iso as stamp

ESCALATE_AT = 2  # an escalation once time in stage passes this many SLAs
HEALTHY = "ok"  # what a component that is fine reports; anything else says what is wrong


class Level(StrEnum):
    OVERDUE = "overdue"
    ESCALATION = "escalation"


def alert_key(lead_id: str, stage: str, entered_at: datetime, level: Level | str) -> str:
    """The identity of one alert: recorded once, so it is sent at most once."""
    return f"lead|{lead_id}|{stage}|{stamp(entered_at)}|{level}"


@dataclass(frozen=True, slots=True)
class Alert:
    """A lead past its stage's SLA, at the highest level it has reached."""

    lead: Lead
    level: Level
    in_stage: timedelta  # counted as the SLA counts it (business hours when configured)
    sla: Sla
    team: Side  # who owns the stage, for when the lead has no owner of its own
    label: str = ""  # the stage as people read it (stages.yaml label); blank: its name
    next_step: str | None = None  # "accept or reject in Salesforce within 2 days"

    @property
    def stage(self) -> str:
        return self.lead.stage

    @property
    def entered_at(self) -> datetime:
        return self.lead.stage_entered_at

    @property
    def stage_label(self) -> str:
        return self.label or self.lead.stage

    @property
    def key(self) -> str:
        return alert_key(self.lead.id, self.stage, self.entered_at, self.level)

    @property
    def ratio(self) -> float:
        """Time in stage over the SLA: 1.0 is due now, 2.0 escalates."""
        return self.in_stage / self.sla.limit


def stuck(leads: Iterable[Lead], funnel: Funnel, now: datetime) -> list[Alert]:
    """Every lead past its stage's SLA now, longest waiting first (the digest lists these)."""
    found: list[Alert] = []
    for lead in leads:
        sla = funnel.slas.get(lead.stage)
        stage = funnel.stage.get(lead.stage)
        if sla is None or stage is None or sla.limit <= timedelta(0):
            continue
        waited = time_in_stage(lead.stage_entered_at, now, sla)
        if waited <= sla.limit:
            continue
        level = Level.ESCALATION if waited > ESCALATE_AT * sla.limit else Level.OVERDUE
        found.append(
            Alert(lead, level, waited, sla, stage.owner, stage.label, funnel.next_step(stage.name))
        )
    found.sort(key=lambda alert: (-alert.ratio, alert.entered_at, alert.lead.id))
    return found


def overdue(
    leads: Iterable[Lead], funnel: Funnel, now: datetime, already_sent: Container[str]
) -> list[Alert]:
    """The alerts to record now: one per stage entry and level not recorded before.

    `already_sent` holds the keys of alerts recorded earlier (sent or still
    pending): an alert is decided once, and delivery retries it, not this.
    Oldest entries first, so a backlog reaches Slack in the order it happened.
    """
    due = [alert for alert in stuck(leads, funnel, now) if alert.key not in already_sent]
    due.sort(key=lambda alert: (alert.entered_at, alert.lead.id))
    return due


@dataclass(frozen=True, slots=True)
class Known:
    """A component's last recorded health."""

    healthy: bool
    detail: str
    since: datetime  # when it entered this state


@dataclass(frozen=True, slots=True)
class HealthChange:
    """A component went from healthy to not (or back): one message."""

    component: str
    healthy: bool  # now
    detail: str  # what is wrong now, or what was wrong before it recovered
    since: datetime | None  # when the state it leaves began (None: first seen, unhealthy)

    @property
    def key(self) -> str:
        left = "first" if self.since is None else stamp(self.since)
        return f"health|{self.component}|{left}|{'up' if self.healthy else 'down'}"


def health_changes(known: Mapping[str, Known], reported: Mapping[str, str]) -> list[HealthChange]:
    """The components whose health flipped since last recorded.

    A component seen for the first time is news only when it is unhealthy. A
    component that stays unhealthy with a new complaint is no news: the
    message that it failed still stands. Components not reported now are left
    alone. The key names the state being left, so two replicas that notice
    the same flip derive the same key and the store keeps one.
    """
    changes: list[HealthChange] = []
    for component, said in sorted(reported.items()):
        healthy = _is_healthy(said)
        before = known.get(component)
        if before is None:
            if not healthy:
                changes.append(HealthChange(component, False, _detail(said), None))
        elif before.healthy != healthy:
            detail = before.detail if healthy else _detail(said)
            changes.append(HealthChange(component, healthy, detail, before.since))
    return changes


def _is_healthy(said: str) -> bool:
    return said.strip().lower() == HEALTHY


def _detail(said: str) -> str:
    return " ".join(said.split()) or "unhealthy (no detail given)"
