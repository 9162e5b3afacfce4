"""The bodies of the `sync --once`, `run`, `plan`, `explain` and `parked` commands."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from leadbridge.model import System
from leadbridge.store import Store, UnitOfWork
from leadbridge.sync import Pipeline, Summary, cycle

if TYPE_CHECKING:
    from leadbridge.alerts_slack import Slack
    from leadbridge.daemon import DaemonSettings, Sweep
    from leadbridge.daemon_health import Board
    from leadbridge.logs import Redactor
    from leadbridge.metrics import Metrics
    from leadbridge.runtime import Runtime

# Where a bare record id may live, so `explain 00Q...` finds its lead without saying which.
_RECORD_KINDS = (
    (System.HUBSPOT, "contact"),
    (System.SALESFORCE, "Lead"),
    (System.SALESFORCE, "Contact"),
    (System.SALESFORCE, "Opportunity"),
)


def sync_once(pipeline: Pipeline, out: TextIO) -> int:
    """One cycle, under the "sync" lease (see `run_loop`)."""
    return run_loop(pipeline, 0.0, threading.Event(), out, 1, quiet=True, who="sync")


def run_loop(
    pipeline: Pipeline,
    interval: float,
    stop: threading.Event,
    out: TextIO,
    max_cycles: int | None = None,
    *,
    quiet: bool = False,
    who: str = "run",
) -> int:
    """Cycles every `interval` seconds until `stop` is set; the cycle in flight finishes first,
    so a SIGTERM never cuts a batch in half (its writes are logged and would resume anyway).

    All of it under the "sync" lease: beside a running daemon on the same database this
    would be a second decider (identity matching assumes one), so it refuses instead."""
    from leadbridge.daemon_lease import LeaseLost, leased

    cycles = 0
    with leased(pipeline, who) as fenced:
        if fenced is None:
            print(
                f"{who}: another leadbridge (a daemon?) holds the sync lease on this database; "
                "nothing was done",
                file=out,
            )
            return 1
        try:
            while not stop.is_set() and (max_cycles is None or cycles < max_cycles):
                started = time.monotonic()
                summary = cycle(fenced)
                cycles += 1
                print(summary_line(summary), file=out, flush=True)
                if summary.paused:
                    print(f"paused: {summary.paused}; the rest waits", file=out, flush=True)
                if max_cycles is None or cycles < max_cycles:
                    stop.wait(max(interval - (time.monotonic() - started), 0.0))
        except LeaseLost as lost:
            print(f"{who}: stopped, {lost}; what was decided waits in the write log", file=out)
            return 1
    if not quiet:
        print(f"run: stopped after {cycles} cycles", file=out, flush=True)
    return 0


def run_daemon(
    runtime: Runtime,
    settings: DaemonSettings,
    stop: threading.Event,
    redactor: Redactor,
    *,
    sweep: Sweep | None = None,
    metrics: Metrics | None = None,
) -> bool:
    """`leadbridge run`: the daemon until `stop` is set; True when it stopped cleanly (no
    batch left running). The connection files' secrets join the redactor's first."""
    import structlog

    from leadbridge.daemon import Daemon
    from leadbridge.logs import secrets_of
    from leadbridge.metrics import Metrics

    redactor.add(*secrets_of(runtime.hubspot.settings), *secrets_of(runtime.salesforce.settings))
    if runtime.slack is not None:
        redactor.add(*secrets_of(runtime.slack.settings))
    metrics = metrics or Metrics()
    if sweep is None and runtime.slack is not None:
        sweep = _alerting(runtime.pipeline, runtime.slack, metrics, lambda: daemon.board)
    daemon = Daemon(runtime.pipeline, settings, metrics=metrics, sweep=sweep)
    clean = daemon.run(stop)
    structlog.get_logger(__name__).info(
        "api calls",
        hubspot=runtime.hubspot.stats.total,
        salesforce=runtime.salesforce.stats.calls,
    )
    return clean


def _alerting(
    pipeline: Pipeline, slack: Slack, metrics: Metrics, board: Callable[[], Board]
) -> Sweep:
    """The daemon's sweep job: stuck-lead alerts, then one health message per change of
    health (the readiness checks /readyz shows), each counted in /metrics."""
    from leadbridge.alerts_send import health, sweep

    def run(now: datetime) -> None:
        stuck = sweep(pipeline.store, pipeline.funnel, slack, now)
        metrics.alerts_sent.labels(kind="stuck").inc(stuck.sent)
        told = health(pipeline.store, slack, board().readiness().checks, now)
        metrics.alerts_sent.labels(kind="health").inc(told.sent)

    return run


def plan(pipeline: Pipeline, out: TextIO) -> int:
    summary = cycle(pipeline, dry_run=True)
    for line in summary.diffs:
        print(line, file=out)
    print(
        f"plan: {summary.changes_read} changes read, {summary.leads_decided} leads decided, "
        f"{summary.transitions} transitions, {len(summary.diffs)} fields to write; "
        "nothing was written",
        file=out,
    )
    return 0


def summary_line(summary: Summary) -> str:
    hs, sf = System.HUBSPOT, System.SALESFORCE
    return (
        f"sync: {summary.changes_read} changes read, {summary.leads_decided} leads decided, "
        f"{summary.transitions} transitions, {summary.echoes} echoes ignored; "
        f"written: hubspot {summary.written.get(hs, 0)} "
        f"({summary.write_calls.get(hs, 0)} calls), "
        f"salesforce {summary.written.get(sf, 0)} ({summary.write_calls.get(sf, 0)} calls); "
        f"parked: {summary.parked}"
    )


def find_lead(uow: UnitOfWork, key: str) -> str | None:
    """The lead an email, a lead id or a record id of either system names."""
    if "@" in key:
        found = {link.lead_id for link in uow.links.by_email(key)}
        return uow.leads.resolve(sorted(found)[0]) if found else None
    if uow.leads.load(key) is not None:
        return uow.leads.resolve(key)
    for system, obj in _RECORD_KINDS:
        leads = uow.links.leads_for(system, obj, key)
        if leads:
            return uow.leads.resolve(leads[0])
    return None


def explain(store: Store, key: str, out: TextIO) -> int:
    with store.reading() as uow:
        lead_id = find_lead(uow, key)
        lead = uow.leads.load(lead_id) if lead_id is not None else None
        if lead is None:
            print(f"no lead is known by {key}", file=out)
            return 1
        entries = uow.journal.entries(lead.id)
    ids = lead.identity
    print(
        f"lead {lead.id}: {lead.stage} since {lead.stage_entered_at:%Y-%m-%d %H:%M} UTC", file=out
    )
    print(
        f"  records: hubspot contact {ids.hubspot or '-'}, salesforce Lead "
        f"{ids.salesforce_lead or '-'}, Contact {ids.salesforce_contact or '-'}",
        file=out,
    )
    for entry in entries:
        t = entry.transition
        print(
            f"{t.at:%Y-%m-%d %H:%M} {t.from_stage} -> {t.to_stage}: rule {t.rule}, "
            f"reason {t.reason}; caused by {t.cause.system.value} {t.cause.object} "
            f"{t.cause.id} (modified {t.cause.modified_at:%Y-%m-%d %H:%M})",
            file=out,
        )
        for line in describe_writes(entry.writes):
            print(f"    wrote {line}", file=out)
    if not entries:
        print("  no transitions yet", file=out)
    return 0


def parked(store: Store, out: TextIO) -> int:
    with store.reading() as uow:
        records = uow.parked.listing()
        aside = uow.inbox.parked_count()
    if not records:
        print("nothing is parked", file=out)
    for record in records:
        retry = (
            f"next retry {record.next_retry_at:%Y-%m-%d %H:%M}"
            if record.next_retry_at is not None
            else "waits for a person"
        )
        print(
            f"{record.system.value} {record.object} {record.record_id}: {record.reason} "
            f"(since {record.first_seen:%Y-%m-%d %H:%M}, {record.attempts} attempts, {retry})",
            file=out,
        )
    if aside:
        print(
            f"{aside} changes set aside in the inbox: records no lead names yet (deals and "
            "accounts of no converted lead; a conversion brings them in) and the changes of "
            "leads held above",
            file=out,
        )
    return 0


def describe_writes(writes: Sequence[dict[str, Any]]) -> list[str]:
    """One line per record a transition wrote (store.records.write_json's shape)."""
    lines = []
    for write in writes:
        where = write.get("id") or "new ({})".format("=".join(map(str, write.get("key") or ())))
        fields: dict[str, Any] = {}
        for step in write.get("steps") or ():
            fields.update(step)
        shown = ", ".join(f"{name}={value!r}" for name, value in fields.items())
        lines.append(f"{write.get('system')} {write.get('object')} {where}: {shown}")
    return lines
