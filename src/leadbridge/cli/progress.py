"""What a person at a terminal watches during one cycle: records read, people decided and
records written, each with its rate, and the time left to decide once the reading is done.

On stderr, and only when stderr is a terminal: stdout keeps the summary and diff lines that
scripts read, and a log file or a pipe gets no progress at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from leadbridge.sync.pipeline import Pipeline, Summary

# Inbox items still to decide, given the cycle so far: each is one person's at most, so
# decided + this bounds the people of the cycle from above.
Remaining = Callable[[Summary], int]


def console_for(stream: TextIO) -> Console | None:
    """A console on `stream` when it is a terminal; None (no progress shown) otherwise.

    Asked of the stream itself, not of rich: FORCE_COLOR (set on many CI runners) makes rich
    take a pipe for a terminal, and a log file must not fill with progress frames."""
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # no such method, or a closed file
        terminal = False
    return Console(file=stream) if terminal else None


@contextmanager
def watching(
    pipeline: Pipeline, console: Console | None, *, dry_run: bool = False
) -> Iterator[Pipeline]:
    """`pipeline`, reporting one cycle's progress on `console`; unchanged without one."""
    if console is None:
        yield pipeline
        return
    remaining = _estimated(pipeline) if dry_run else _pending(pipeline)
    with CycleProgress(console, remaining, dry_run=dry_run) as shown:
        yield replace(pipeline, on_progress=shown.update)


def _pending(pipeline: Pipeline) -> Remaining:
    """The inbox's pending count: exact, since every round commits before it reports."""

    def remaining(summary: Summary) -> int:
        with pipeline.store.reading() as uow:
            return uow.inbox.pending_count()

    return remaining


def _estimated(pipeline: Pipeline) -> Remaining:
    """A dry run keeps its inbox in one transaction no other connection sees: the backlog it
    started with, plus what it read, less what it decided (echoes drop out along the way)."""
    with pipeline.store.reading() as uow:
        before = uow.inbox.pending_count()

    def remaining(summary: Summary) -> int:
        return max(before + summary.changes_read - summary.echoes - summary.leads_decided, 0)

    return remaining


class _Rate(ProgressColumn):
    """Per second over rich's recent window (30 s), blank until it has two samples."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")


class _Eta(TimeRemainingColumn):
    """ "ETA 0:01:23" on the row that asks for one (deciding) once it has a total."""

    def render(self, task: Task) -> Text:
        if not task.fields.get("eta") or task.total is None:
            return Text("")
        return Text.assemble("ETA ", super().render(task))


class CycleProgress:
    """Three rows, updated from `Pipeline.on_progress` (a first sync of 10,000 people):

        read      14,097 records           ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 1,748/s
        decided   6,000 of 11,686 people   ━━━━━━━━━━━━━━━━╸━━━━━━━━━━━━━━━━ 52/s    ETA 0:01:51
        written   6,500 records            ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 57/s

    The total to decide is known once a round has been decided (the reading is over by
    then): decided so far plus what `remaining` says is left, an upper bound (a person's
    HubSpot and Salesforce records are two items) that tightens with every round, and
    the ETA with it. A dry run's total is rougher ("of ~N", see `_estimated`), and its last
    row counts the records it would write ("to write").
    """

    def __init__(
        self,
        console: Console,
        remaining: Remaining,
        *,
        dry_run: bool = False,
        clock: Callable[[], float] | None = None,  # rich's monotonic one unless a test's
    ) -> None:
        self._remaining = remaining
        self._dry_run = dry_run
        self._decided_seen = 0
        self._bars = Progress(
            TextColumn("{task.description:<9}"),
            TextColumn("{task.fields[count]:<24}"),
            BarColumn(),
            _Rate(),
            _Eta(),
            console=console,
            # A round of 2000 people takes seconds: the rate spans a few of them.
            speed_estimate_period=180.0,
            transient=True,  # the summary line that follows says where the cycle ended
            # Lines printed meanwhile stay on their own streams: stdout is for scripts.
            redirect_stdout=False,
            redirect_stderr=False,
            get_time=clock,
        )
        self._read = self._row("read", "0 records")
        self._decided = self._row("decided", "0 people", eta=True)
        self._written = self._row("to write" if dry_run else "written", "0 records")

    def _row(self, label: str, count: str, *, eta: bool = False) -> TaskID:
        return self._bars.add_task(label, total=None, count=count, eta=eta)

    def _total(self, row: TaskID, total: int) -> None:
        """A row's total, keeping the samples its rate is measured from: `update(total=)`
        would drop them, and the total to decide is refined after every round."""
        for task in self._bars.tasks:
            if task.id == row:
                task.total = total

    def __enter__(self) -> CycleProgress:
        self._bars.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bars.stop()

    def update(self, summary: Summary) -> None:
        bars = self._bars
        read, decided = summary.changes_read, summary.leads_decided
        if not self._decided_seen:  # a cycle reads everything first, then decides
            bars.update(self._read, completed=read, count=f"{read:,} records")
        if decided != self._decided_seen:
            if not self._decided_seen:
                self._total(self._read, read)  # done: its rate stays as it was
            self._decided_seen = decided
            total = decided + self._remaining(summary)
            self._total(self._decided, total)
            about = "~" if self._dry_run else ""  # a dry run's total is estimated (_estimated)
            count = f"{decided:,} of {about}{total:,} people"
            bars.update(self._decided, completed=decided, count=count)
        written = sum(summary.planned.values()) if self._dry_run else sum(summary.written.values())
        bars.update(self._written, completed=written, count=f"{written:,} records")
