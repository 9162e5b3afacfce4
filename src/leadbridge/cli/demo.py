"""`leadbridge demo`: a few weeks of a funnel, bridged, on the sandbox and SQLite, no credentials.

The sandbox's people play the story (leadbridge.sandbox.story) one simulated
day at a time; after each day leadbridge runs one sync cycle, exactly as
`leadbridge sync --once` would against real systems, and the SLA sweep that
tells the simulated Slack about stuck leads. At the end it prints what was
written where, the funnel report (`leadbridge report`), and what Slack was
told. Like the rest of cli, this is the only kind of module that may import
the sandbox.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from leadbridge.alerts.sweep import SweepResult, sweep
from leadbridge.cli.options import Commands, mappings_option
from leadbridge.cli.sync import write_calls
from leadbridge.config import Funnel
from leadbridge.model import System
from leadbridge.store import Store
from leadbridge.sync.pipeline import Summary, cycle
from leadbridge.sync.runtime import build, sandbox_env

if TYPE_CHECKING:
    from leadbridge.sandbox.slack.app import Message

_DEMO_DATABASE = Path("state") / "demo.db"
# The connectors' lag tolerances (HubSpot 60 s, Salesforce 10 min) keep the newest changes
# for the next poll; a day's work is synced once the clock has moved past them.
_SETTLE = timedelta(minutes=10)


def add_parser(commands: Commands[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="weeks of a funnel on the simulated CRMs, bridged; then what moved and why",
    )
    demo.add_argument("--leads", type=int, default=250, help="new people over the weeks")
    demo.add_argument("--preload", type=int, default=150, help="people already in the CRMs")
    demo.add_argument("--days", type=int, default=21, help="simulated days")
    demo.add_argument("--seed", type=int, default=1)
    # Its connection files are the packaged ones, pointed at the sandbox: a --connectors
    # naming real systems would let a demo write to them.
    mappings_option(demo)
    demo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from leadbridge.cli.options import SHIPPED_CONNECTORS, directory, slack_for
    from leadbridge.sandbox.story import Story
    from leadbridge.sandbox.world import Sandbox

    # The same mappings the other commands would read (outside a checkout: the packaged ones).
    args.mappings = directory(args.mappings, "mappings")

    started = time.monotonic()
    out: TextIO = sys.stdout
    _DEMO_DATABASE.parent.mkdir(parents=True, exist_ok=True)
    _DEMO_DATABASE.unlink(missing_ok=True)
    total = Summary()
    with Sandbox(seed=args.seed, limits=False) as sandbox:
        sandbox.populate(args.preload)
        sandbox.clock.advance(_SETTLE.total_seconds())
        env = sandbox_env(sandbox.info())
        runtime = build(
            args.mappings,
            SHIPPED_CONNECTORS,
            f"sqlite:///{_DEMO_DATABASE}",
            env,
            clock=sandbox.clock.now,
        )
        story = Story(
            sandbox.hubspot,
            sandbox.salesforce,
            sandbox.clock,
            leads=args.leads,
            days=args.days,
            seed=args.seed,
        )
        try:
            print(
                f"demo: {args.preload} people in the CRMs, {args.leads} more over "
                f"{args.days} days; state in {_DEMO_DATABASE}",
                file=out,
            )
            slack = slack_for(SHIPPED_CONNECTORS, env)
            assert slack is not None, "the shipped connection files include slack.yaml"
            alerted = SweepResult()
            _add(total, cycle(runtime.pipeline))
            for _ in range(args.days):
                story.play_day()
                sandbox.clock.advance(_SETTLE.total_seconds())
                day = cycle(runtime.pipeline)
                _add(total, day)
                # The SLA sweep the daemon runs every minute, once a simulated day here.
                alerted += sweep(
                    runtime.pipeline.store, runtime.pipeline.funnel, slack, sandbox.clock.now()
                )
                print(
                    f"  day {story.day:2d}: {day.changes_read:4d} changes, "
                    f"{day.transitions:3d} moves, written hubspot {day.written[System.HUBSPOT]:3d} "
                    f"salesforce {day.written[System.SALESFORCE]:3d}",
                    file=out,
                )
            # Up to the next whole second, so the hint's --as-of names the very moment this
            # report shows, and the newest lead (stamped a moment ago) is in both.
            now = sandbox.clock.now()
            end = now.replace(microsecond=0) + timedelta(seconds=1 if now.microsecond else 0)
            _report(runtime.pipeline.store, end, runtime.pipeline.funnel, total, out)
            _slack(sandbox.slack.messages, alerted, out)
            served = {name: counts["total"] for name, counts in sandbox.requests().items()}
            print(
                "\nthe simulated services counted the requests they served: "
                + ", ".join(f"{name} {count}" for name, count in served.items()),
                file=out,
            )
        finally:
            runtime.close()
    acted = ", ".join(f"{name} {count}" for name, count in sorted(story.acted.items()))
    print(f"the people did: {acted}", file=out)
    print(f"demo finished in {time.monotonic() - started:.1f} s", file=out)
    return 0


def _slack(messages: Sequence[Message], alerted: SweepResult, out: TextIO) -> None:
    """What Slack was told: how many stuck-lead messages, and the first one as it reads."""
    print(
        f"\nSlack: {alerted.sent} stuck-lead messages delivered to the simulated workspace "
        f"({alerted.recorded} alerts recorded, {alerted.dropped} dropped as the lead moved on)",
        file=out,
    )
    first = next((m for m in messages if m.text), None)
    if first is not None:
        print(f"  first, in {first.channel}: {first.text}", file=out)


def _add(total: Summary, part: Summary) -> None:
    total.changes_read += part.changes_read
    total.leads_decided += part.leads_decided
    total.transitions += part.transitions
    total.echoes += part.echoes
    total.parked = part.parked
    for system in System:
        total.written[system] += part.written[system]
        total.write_calls[system] += part.write_calls[system]
        total.least_write_calls[system] += part.least_write_calls[system]


def _report(store: Store, now: datetime, funnel: Funnel, total: Summary, out: TextIO) -> None:
    """What was written, then the funnel report RevOps would read on Monday."""
    from leadbridge.cli.report import build_report
    from leadbridge.report.text import to_text

    with store.reading() as uow:
        parked = uow.parked.count()
    hs, sf = System.HUBSPOT, System.SALESFORCE
    print(
        f"\n{total.transitions} transitions journaled; written: hubspot {total.written[hs]} "
        f"records ({write_calls(total, hs)}), salesforce {total.written[sf]} records "
        f"({write_calls(total, sf)}); {total.echoes} echoes of our own writes ignored; "
        f"{parked} parked\n",
        file=out,
    )
    print(to_text(build_report(store, funnel, now)), file=out)
    # The demo's data lives in simulated time: on the wall clock the report would measure
    # the SLAs at another moment and name other stuck leads (or none).
    print(
        "the same report again, at the demo's own time (its data lives in simulated time):\n"
        f"  leadbridge report --database sqlite:///{_DEMO_DATABASE.as_posix()} "
        f"--as-of {now:%Y-%m-%dT%H:%M:%S}Z",
        file=out,
    )
