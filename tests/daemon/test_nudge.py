"""Nudges are debounced: a burst wakes the inbox job once; a nudge while it runs, once more."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from leadbridge.daemon.nudge import Nudger
from leadbridge.daemon.service import Daemon
from tests.daemon.conftest import FAST, Rig
from tests.harness import wait_until


class Wakes:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def burst(nudger: Nudger, count: int) -> None:
    for _ in range(count):
        nudger.nudge()


def test_a_burst_of_nudges_wakes_the_job_once() -> None:
    wakes = Wakes()
    nudger = Nudger(wakes, delay=0.05)
    for _ in range(500):
        nudger.nudge()
    assert wakes.delays == [0.05]
    with nudger.running():  # the woken run
        pass
    assert wakes.delays == [0.05] and nudger.runs == 1
    nudger.nudge()  # a later push: a new wake
    assert wakes.delays == [0.05, 0.05]


def test_nudges_during_a_run_ask_for_exactly_one_more_run_right_after_it() -> None:
    wakes = Wakes()
    nudger = Nudger(wakes, delay=0.05)
    with nudger.running():
        for _ in range(100):
            nudger.nudge()
        assert wakes.delays == []  # waking a job that runs would only be skipped
    assert wakes.delays == [0.05]
    with nudger.running():
        pass
    assert wakes.delays == [0.05]  # nothing came during the second run: no third


def test_nudges_from_many_threads_coalesce() -> None:
    wakes = Wakes()
    nudger = Nudger(wakes)
    threads = [threading.Thread(target=burst, args=(nudger, 250)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert nudger.nudges == 2000 and len(wakes.delays) == 1


def test_a_disabled_nudger_wakes_nothing() -> None:
    wakes = Wakes()
    nudger = Nudger(wakes)
    nudger.disable()
    nudger.nudge()
    with nudger.running():
        nudger.nudge()
    assert wakes.delays == []


def test_the_daemon_runs_its_inbox_job_once_for_a_burst_of_webhooks(rig: Rig) -> None:
    settings = replace(FAST, inbox_every=3600.0, nudge_delay=0.2)
    daemon = Daemon(rig.pipeline, settings, holder="replica-a")
    daemon.start()
    try:
        # The first run (at start) and any run a takeover asks for come and go first.
        wait_until(lambda: daemon.nudger.runs >= 1 and daemon.running == 0, 30, "first run")
        runs = daemon.nudger.runs
        threads = [threading.Thread(target=burst, args=(daemon.nudger, 50)) for _ in range(4)]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_until(lambda: daemon.nudger.runs > runs, 10, "the nudged run")
        took = time.monotonic() - began
        wait_until(lambda: daemon.running == 0, 10, "the nudged run to end")
        # 200 nudges: one run (two if one landed while it started), long before the hourly tick.
        assert daemon.nudger.runs - runs in (1, 2)
        assert took < 5
    finally:
        daemon.stop()
