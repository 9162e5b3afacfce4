"""The daemon's progress line: while a job works through a backlog (a first sync takes
minutes), one structured "progress" event every 10 s, so a person tailing the logs sees
it move. A job done within 10 s logs none: its own closing line says it all."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from leadbridge.model import System
from leadbridge.sync.pipeline import Summary

EVERY = 10.0  # seconds between two progress lines of one job

_log = structlog.get_logger(__name__)


class ProgressLog:
    """A `Pipeline.on_progress` that logs at most once per `every` seconds of `clock` (a
    monotonic one), and only while `pending` (the inbox's pending count) says work is left.
    Each line's rates cover the time since the line before (since the start for the first).
    """

    def __init__(
        self,
        pending: Callable[[], int],
        *,
        every: float = EVERY,
        clock: Callable[[], float] = time.monotonic,
        emit: Callable[..., object] | None = None,
    ) -> None:
        self._pending = pending
        self._every = every
        self._clock = clock
        self._emit = emit or _log.info
        self._last = clock()
        self._read = self._decided = 0

    def __call__(self, summary: Summary) -> None:
        now = self._clock()
        elapsed = now - self._last
        if elapsed < self._every:
            return
        read, decided = summary.changes_read, summary.leads_decided
        read_rate, decided_rate = (read - self._read) / elapsed, (decided - self._decided) / elapsed
        self._last, self._read, self._decided = now, read, decided
        try:
            pending = self._pending()
        except Exception:  # the hook never raises; the job's next transaction will say why
            return
        if not pending:
            return  # the backlog is done: the job's closing line follows
        self._emit(
            "progress",
            read=read,
            decided=decided,
            written_hubspot=summary.written.get(System.HUBSPOT, 0),
            written_salesforce=summary.written.get(System.SALESFORCE, 0),
            pending=pending,
            read_per_s=round(read_rate, 1),
            decided_per_s=round(decided_rate, 1),
        )
