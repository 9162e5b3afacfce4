"""`leadbridge status`: is the sync running, who holds the leases, how far behind it is.

Read from the shared store, so it answers on any machine that reaches the database:
the pause switch, lease holders, inbox depth and lag, parked records, and what the
replica holding the sync lease last reported about itself (store.replicas: its API
budget left, whether each CRM answers, its last cycle). Reads only.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from leadbridge.cli.options import Commands, database_option
from leadbridge.cli.state import current_store
from leadbridge.store import Store
from leadbridge.store.replicas import ReplicaReport
from leadbridge.store.switches import Pause

_LEASES = ("sync", "sweep")  # daemon.lease: SYNC, SWEEP


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    status = commands.add_parser(
        "status", help="paused or running, lease holders, lag, inbox, parked, budget, last cycle"
    )
    status.add_argument("--format", choices=("text", "json"), default="text")
    database_option(status)
    status.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with current_store(args.database) as store:
        found = gather(store)
    if args.format == "json":
        print(json.dumps(found.as_json(), indent=2), file=sys.stdout)
    else:
        show(found, sys.stdout)
    return 0


@dataclass(frozen=True)
class Status:
    now: datetime
    pause: Pause | None
    leases: dict[str, tuple[str, datetime]]
    pending: int
    hints: int
    set_aside: int
    oldest: datetime | None
    parked: int
    replicas: list[ReplicaReport]

    @property
    def lag(self) -> timedelta:
        """How long the change waiting longest has waited (0: nothing waits)."""
        return self.now - self.oldest if self.oldest is not None else timedelta(0)

    @property
    def reporter(self) -> ReplicaReport | None:
        """The replica whose budget and last cycle count: the sync lease holder's report,
        else the latest heard."""
        holder = self.leases.get("sync", ("", self.now))[0]
        mine = [r for r in self.replicas if r.holder == holder]
        heard = mine or self.replicas
        return heard[0] if heard else None

    def as_json(self) -> dict[str, Any]:
        reporter = self.reporter
        return {
            "at": self.now.isoformat(),
            "paused": None
            if self.pause is None
            else {"by": self.pause.by, "why": self.pause.why, "at": self.pause.at.isoformat()},
            "leases": {
                name: {"holder": holder, "expires_at": until.isoformat()}
                for name, (holder, until) in self.leases.items()
            },
            "inbox": {"pending": self.pending, "webhooks_unread": self.hints},
            "set_aside": self.set_aside,
            "lag_seconds": round(self.lag.total_seconds(), 1),
            "parked": self.parked,
            "systems": None if reporter is None else reporter.status.get("systems"),
            "last_cycle": None if reporter is None else reporter.status.get("last_cycle"),
            "replicas": [
                {"holder": r.holder, "seen_at": r.seen_at.isoformat()} for r in self.replicas
            ],
        }


def gather(store: Store) -> Status:
    with store.reading() as uow:
        return Status(
            now=store.clock(),
            pause=uow.switches.paused(),
            leases=uow.leases.listing(),
            pending=uow.inbox.pending_count(),
            hints=uow.hints.count(),
            set_aside=uow.inbox.parked_count(),
            oldest=uow.inbox.oldest_pending(),
            parked=uow.parked.count(),
            replicas=uow.replicas.listing(),
        )


def show(status: Status, out: TextIO) -> None:
    lines = [
        ("sync", _sync(status)),
        ("leases", _leases(status)),
        ("inbox", _inbox(status)),
        ("lag", _ago(status.lag) if status.oldest is not None else "none: nothing waits"),
        ("parked", f"{status.parked} records (`leadbridge parked` says what clears each)"),
    ]
    reporter = status.reporter
    if reporter is None:
        lines.append(("daemon", "no replica has reported (no `leadbridge run` on this database?)"))
    else:
        systems = reporter.status.get("systems") or {}
        lines.append(("budget left", _budgets(systems)))
        lines.append(("systems", _systems(systems)))
        lines.append(("last cycle", _last_cycle(status.now, reporter.status.get("last_cycle"))))
        lines.append(("replicas", _replicas(status)))
    width = max(len(name) for name, _ in lines)
    for name, text in lines:
        print(f"{name + ':':<{width + 1}} {text}", file=out)


def _sync(status: Status) -> str:
    if status.pause is not None:
        return f"PAUSED: {status.pause.line()}; webhooks are stored (`leadbridge resume`)"
    return "running" if "sync" in status.leases else "not running: no replica holds the sync lease"


def _leases(status: Status) -> str:
    parts = []
    for name in _LEASES:
        held = status.leases.get(name)
        if held is None:
            parts.append(f"{name}: nobody")
        else:
            holder, until = held
            left = max(int((until - status.now).total_seconds()), 0)
            parts.append(f"{name}: {holder} (for {left} s more unless renewed)")
    return "; ".join(parts)


def _inbox(status: Status) -> str:
    return (
        f"{status.pending} changes waiting, {status.hints} webhooks not read yet; "
        f"{status.set_aside} set aside"
    )


def _budgets(systems: dict[str, Any]) -> str:
    parts = []
    for name, figures in sorted(systems.items()):
        used, allowed = figures.get("used_today"), figures.get("allowed_today")
        if allowed:
            left = max(1 - used / allowed, 0.0)
            paused = ", PAUSED until the reset" if figures.get("budget_paused") else ""
            parts.append(f"{name} {left:.0%} ({used} of {allowed} calls used today{paused})")
        else:
            parts.append(f"{name} no daily cap ({used or 0} calls today)")
    return ", ".join(parts) or "unknown"


def _systems(systems: dict[str, Any]) -> str:
    parts = [
        f"{name} up" if figures.get("up") else f"{name} DOWN: {figures.get('detail')}"
        for name, figures in sorted(systems.items())
    ]
    return ", ".join(parts) or "unknown"


def _last_cycle(now: datetime, cycle: dict[str, Any] | None) -> str:
    if not cycle:
        return "none yet"
    at = datetime.fromisoformat(cycle["at"])
    written = ", ".join(f"{k} {v}" for k, v in sorted((cycle.get("written") or {}).items()))
    text = (
        f"{at:%Y-%m-%d %H:%M:%S} UTC ({_ago(now - at)} ago): {cycle.get('changes_read', 0)} "
        f"changes read, {cycle.get('leads_decided', 0)} leads decided, written {written or '0'}"
    )
    stopped = cycle.get("stopped")
    return f"{text}; stopped early: {stopped}" if stopped else text


def _replicas(status: Status) -> str:
    holder = status.leases.get("sync", ("", status.now))[0]
    return ", ".join(
        f"{r.holder}{' (sync)' if r.holder == holder else ''} "
        f"heard {_ago(status.now - r.seen_at)} ago"
        for r in status.replicas
    )


def _ago(span: timedelta) -> str:
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
