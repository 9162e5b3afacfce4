"""The alert sweep: decide what is overdue, record it, send it to Slack; and health alerts.

The daemon calls `sweep` and `health` from scheduled jobs, under a lease so
one replica sweeps at a time; the store's claims make a second sweeper safe
anyway (store/alerts.py explains the one window that remains). Deciding reads
without the write lock and records in one short transaction; sending happens
outside any transaction, one message at a time, each marked sent the moment
Slack answers.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from leadbridge.alerts.blocks import alert_message, digest_messages, health_message
from leadbridge.alerts.due import (
    HEALTHY,
    Alert,
    HealthChange,
    Known,
    Level,
    health_changes,
    overdue,
    stuck,
)
from leadbridge.alerts.slack import ALERTS, ESCALATION, HEALTH, Outcome, Slack
from leadbridge.config import Funnel
from leadbridge.model import Transition
from leadbridge.store import JournalEntry, Store
from leadbridge.store.alerts import DIGEST_KIND, HEALTH_KIND, LEAD_KIND, Alerts, NewAlert

# Who claims alerts: unique per process, so a restarted process never mistakes an
# old claim of its own for one it still holds.
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
_PARKED = "parked"  # the component health() adds from the store's parked records


@dataclass(frozen=True, slots=True)
class SweepResult:
    recorded: int = 0  # alerts decided and recorded this time
    sent: int = 0  # messages Slack took
    deferred: int = 0  # sends that failed and wait, pending, for a later try
    refused: int = 0  # messages Slack refused for good (kept as failed, with the reason)
    dropped: int = 0  # pending alerts no longer worth sending (the lead moved on)

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(
            self.recorded + other.recorded,
            self.sent + other.sent,
            self.deferred + other.deferred,
            self.refused + other.refused,
            self.dropped + other.dropped,
        )


def sweep(
    store: Store,
    funnel: Funnel,
    slack: Slack,
    now: datetime,
    *,
    holder: str = HOLDER,
    monotonic: Callable[[], float] = time.monotonic,
) -> SweepResult:
    """Record every overdue stage entry (and the digest, when due), then send what is due."""
    recorded = record_overdue(store, funnel, slack, now) + _record_digest(store, funnel, slack, now)
    return SweepResult(recorded=recorded) + deliver(
        store, slack, now, holder=holder, monotonic=monotonic
    )


def record_overdue(store: Store, funnel: Funnel, slack: Slack, now: datetime) -> int:
    """Decide the overdue and escalation alerts due now and record them; how many were new."""
    limits = {stage: sla.limit for stage, sla in funnel.slas.items()}
    with store.reading() as uow:
        leads = uow.alerts.candidates(limits, now)
        due = overdue(leads, funnel, now, uow.alerts.keys_of(lead.id for lead in leads))
        due = _identified(uow.alerts, due)
        last = {alert.lead.id: _last_move(uow.journal.entries(alert.lead.id)) for alert in due}
    new = [_lead_alert(alert, last[alert.lead.id], slack, now, funnel) for alert in due]
    # Recording is idempotent by key: a replica that decided the same alert adds nothing.
    with store.transaction() as uow:
        return len(uow.alerts.record(new, now))


def _identified(store_alerts: Alerts, found: list[Alert]) -> list[Alert]:
    """The alerts with their leads' record ids, for the links in the messages."""
    leads = store_alerts.with_identity(alert.lead for alert in found)
    return [replace(alert, lead=lead) for alert, lead in zip(found, leads, strict=True)]


def _last_move(entries: Sequence[JournalEntry]) -> Transition | None:
    return entries[-1].transition if entries else None


def _lead_alert(
    alert: Alert, last: Transition | None, slack: Slack, now: datetime, funnel: Funnel
) -> NewAlert:
    escalated = alert.level is Level.ESCALATION
    mention = slack.mention if escalated else None
    message = alert_message(alert, last, slack.links, now, mention, funnel=funnel)
    return NewAlert(
        key=alert.key,
        kind=LEAD_KIND,
        level=alert.level.value,
        route=ESCALATION if escalated else ALERTS,
        text=message.text,
        blocks=message.blocks,
        lead_id=alert.lead.id,
        stage=alert.stage,
        entered_at=alert.entered_at,
    )


def _record_digest(store: Store, funnel: Funnel, slack: Slack, now: datetime) -> int:
    """Today's digest, once, at or after its time of day; how many messages were recorded."""
    settings = slack.settings.digest
    local = now.astimezone(ZoneInfo(settings.time_zone))
    if not settings.enabled or local.time() < settings.at:
        return 0
    day = local.date().isoformat()
    first = _digest_key(day, 1)
    limits = {stage: sla.limit for stage, sla in funnel.slas.items()}
    with store.reading() as uow:
        if uow.alerts.has(first):
            return 0
        candidates = uow.alerts.candidates(limits, now, unescalated=False)
        listed = _identified(uow.alerts, stuck(candidates, funnel, now))
    messages = digest_messages(listed, slack.links, now, day)
    new = [
        NewAlert(_digest_key(day, n), DIGEST_KIND, "digest", ALERTS, m.text, m.blocks)
        for n, m in enumerate(messages, 1)
    ]
    with store.transaction() as uow:
        # The first part decides: whoever records it records the rest, in this transaction.
        if not uow.alerts.record(new[:1], now):
            return 0
        return 1 + len(uow.alerts.record(new[1:], now))


def _digest_key(day: str, part: int) -> str:
    return f"digest|{day}|{part}"


def health(
    store: Store,
    slack: Slack,
    components: Mapping[str, str],
    now: datetime,
    *,
    holder: str = HOLDER,
    monotonic: Callable[[], float] = time.monotonic,
) -> SweepResult:
    """Record a message for each component whose health changed, then send what is due.

    `components` maps each component (e.g. "hubspot", "salesforce",
    "budget.hubspot") to "ok" or one line saying what is wrong, such as a
    connector's `Health.detail`. The store's parked records are added as the
    component "parked": unhealthy at `health.parked_threshold` or more.
    """
    reported = dict(components)
    threshold = slack.settings.health.parked_threshold
    recorded = 0
    with store.transaction() as uow:
        parked = uow.parked.count()
        reported.setdefault(
            _PARKED,
            HEALTHY
            if parked < threshold
            else f"{parked} records parked (threshold {threshold}); `leadbridge parked` says why",
        )
        stored = uow.alerts.health()
        known = {name: Known(h.healthy, h.detail, h.since) for name, h in stored.items()}
        changes = health_changes(known, reported)
        changed = {change.component for change in changes}
        new: list[NewAlert] = []
        for change in changes:
            if _move(uow.alerts, change, now) and slack.settings.health.enabled:
                message = health_message(change, now)
                level = "up" if change.healthy else "down"
                new.append(
                    NewAlert(change.key, HEALTH_KIND, level, HEALTH, message.text, message.blocks)
                )
        for name, said in reported.items():
            if name in changed:
                continue
            if name in stored:  # no flip: keep the latest complaint, and when it was checked
                uow.alerts.touch_health(name, " ".join(said.split()) or HEALTHY, now)
            else:
                uow.alerts.first_health(name, True, HEALTHY, now)
        recorded = len(uow.alerts.record(new, now))
    return SweepResult(recorded=recorded) + deliver(
        store, slack, now, holder=holder, monotonic=monotonic
    )


def _move(alerts: Alerts, change: HealthChange, now: datetime) -> bool:
    """Record the flip; False when another replica recorded the same one first."""
    if change.since is None:
        return alerts.first_health(change.component, change.healthy, change.detail, now)
    return alerts.flip_health(change.component, change.healthy, change.detail, change.since, now)


def deliver(
    store: Store,
    slack: Slack,
    now: datetime,
    *,
    holder: str = HOLDER,
    monotonic: Callable[[], float] = time.monotonic,
) -> SweepResult:
    """Send due pending alerts, oldest first, one claim at a time, each marked as it lands.

    `now` is the sweep's time; it advances with `monotonic` while messages go
    out, so claims and retries are stamped with the time they really happen.
    """
    delivery = slack.settings.delivery
    started = monotonic()

    def current() -> datetime:
        return now + timedelta(seconds=monotonic() - started)

    hold = timedelta(seconds=delivery.hold)
    paused: set[str] = set()  # routes whose webhook failed during this sweep
    sent = deferred = refused = dropped = 0
    for _ in range(delivery.per_sweep):
        with store.transaction() as uow:
            alert = uow.alerts.claim(current(), holder, hold, paused)
            if alert is None:
                break
            why = uow.alerts.stale(alert)
            if why is not None:
                uow.alerts.drop(alert.id, why)
                dropped += 1
                continue
        answer = slack.post(alert.route, alert.text, alert.blocks)
        with store.transaction() as uow:
            if answer.outcome is Outcome.SENT:
                uow.alerts.sent(alert.id, current())
                sent += 1
            elif answer.outcome is Outcome.REFUSED:
                uow.alerts.fail(alert.id, answer.detail)
                refused += 1
            else:
                wait = answer.retry_after
                if wait is None:
                    wait = min(delivery.backoff * 2 ** (alert.attempts - 1), delivery.backoff_cap)
                uow.alerts.retry(
                    alert.id, holder, current() + timedelta(seconds=wait), answer.detail
                )
                deferred += 1
        if answer.webhook_down:
            paused |= slack.sharing(alert.route)
    return SweepResult(sent=sent, deferred=deferred, refused=refused, dropped=dropped)
