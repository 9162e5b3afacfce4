"""The daemon's progress line: at most one every 10 s of a job, and only while work is left."""

from __future__ import annotations

from typing import Any

from leadbridge.daemon.progress import ProgressLog
from leadbridge.model import System
from leadbridge.sync.pipeline import Summary


def summary(read: int, decided: int, hubspot: int = 0) -> Summary:
    return Summary(
        changes_read=read,
        leads_decided=decided,
        written={System.HUBSPOT: hubspot, System.SALESFORCE: 0},
    )


def test_one_progress_line_every_ten_seconds_while_a_backlog_lasts() -> None:
    now, pending = 100.0, 9_000
    lines: list[tuple[str, dict[str, Any]]] = []
    log = ProgressLog(
        lambda: pending,
        clock=lambda: now,
        emit=lambda event, **fields: lines.append((event, fields)),
    )
    now = 101.0
    log(summary(10_000, 2_000))
    now = 109.9
    log(summary(10_000, 6_000))
    assert lines == []  # a job done within 10 s logs none
    now, pending = 110.0, 3_000
    log(summary(10_000, 7_000, hubspot=6_500))
    assert lines == [
        (
            "progress",
            {
                "read": 10_000,
                "decided": 7_000,
                "written_hubspot": 6_500,
                "written_salesforce": 0,
                "pending": 3_000,
                "read_per_s": 1_000.0,
                "decided_per_s": 700.0,
            },
        )
    ]
    now = 111.0
    log(summary(10_000, 7_500))
    now = 119.99
    log(summary(10_000, 8_000))
    assert len(lines) == 1, "at most one line per 10 s"
    now = 120.0
    log(summary(10_000, 9_000))
    assert len(lines) == 2 and lines[1][1]["decided_per_s"] == 200.0  # since the line before


def test_no_line_once_the_backlog_is_done_nor_when_the_count_fails() -> None:
    now = 0.0
    answers: list[int | Exception] = [0, RuntimeError("database away")]
    lines: list[str] = []

    def pending() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    log = ProgressLog(pending, clock=lambda: now, emit=lambda event, **_: lines.append(event))
    now = 10.0
    log(summary(500, 500))  # nothing left: the job's closing line follows
    now = 20.0
    log(summary(500, 500))  # the hook never raises
    assert lines == [] and answers == []
