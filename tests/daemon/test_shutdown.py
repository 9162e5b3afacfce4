"""SIGTERM: no new work, the batch in flight finishes, the leases go back, exit 0 within 10 s."""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from leadbridge.daemon.lease import SYNC
from leadbridge.daemon.service import Daemon
from tests.daemon.conftest import FAST, Rig
from tests.harness import (
    ROOT,
    daemon_env,
    get_json,
    start_sandbox,
    stop_process,
    wait_until,
)
from tests.harness import Daemon as DaemonProcess

LIMIT = 10.0  # what `docker stop` waits before SIGKILL


def lease_holder(rig: Rig) -> str | None:
    with rig.runtime.pipeline.store.reading() as uow:
        return uow.leases.holder(SYNC)


def test_stop_lets_the_batch_in_flight_land_then_gives_the_lease_back(rig: Rig) -> None:
    rig.people(30)
    gate = threading.Event()
    rig.salesforce.gate = gate
    daemon = Daemon(rig.pipeline, FAST, holder="replica-a")
    daemon.start()
    try:
        assert rig.salesforce.applying.wait(30), "no batch of Salesforce writes started"
        stopped: list[bool] = []
        began = time.monotonic()
        stopper = threading.Thread(target=lambda: stopped.append(daemon.stop()))
        stopper.start()
        # The stop waits for the batch: it has not returned while the writes are held.
        time.sleep(0.3)
        assert stopper.is_alive() and lease_holder(rig) == "replica-a"
        gate.set()
        stopper.join(LIMIT)
        took = time.monotonic() - began
    finally:
        gate.set()
        daemon.stop()
    assert stopped == [True] and took < FAST.grace
    assert rig.salesforce.applied.is_set()
    # What the batch wrote was settled in the store (nothing left unfinished), and the
    # lease was handed back at once instead of left to expire.
    with rig.runtime.pipeline.store.reading() as uow:
        assert uow.writes.unfinished() == []
    assert lease_holder(rig) is None
    assert daemon.nudger.runs >= 1


def test_a_batch_that_overruns_the_grace_keeps_its_lease_until_it_expires(rig: Rig) -> None:
    rig.people(30)
    gate = threading.Event()
    rig.salesforce.gate = gate
    daemon = Daemon(rig.pipeline, FAST, holder="replica-a")
    daemon.start()
    try:
        assert rig.salesforce.applying.wait(30)
        began = time.monotonic()
        clean = daemon.stop()
        took = time.monotonic() - began
        # Not released: another replica must not start writing while this batch still runs.
        assert not clean and lease_holder(rig) == "replica-a"
        assert FAST.grace <= took < FAST.grace + 2.5
    finally:
        gate.set()
    # The batch, let go, stops at its next transaction instead of committing more.
    wait_until(lambda: daemon.running == 0, 10, "the held batch ended")
    wait_until(lambda: lease_holder(rig) is None, FAST.lease_ttl + 2, "the lease expired")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigterm_mid_batch_exits_0_within_10_s_and_a_restart_ends_the_work(
    tmp_path: Path,
) -> None:
    sandbox, info = start_sandbox(tmp_path / "tls", leads=800, seed=11)
    database = f"sqlite:///{tmp_path / 'state.db'}"
    argv = ["--connectors", str(ROOT / "connectors"), "--mappings", str(ROOT / "mappings")]
    argv += ["--database", database, "--port", "0"]
    env = daemon_env(info)
    started: list[DaemonProcess] = []  # stopped in `finally` whatever fails: no orphans
    try:
        before = lead_twins(info)
        daemon = DaemonProcess(argv, env)
        started.append(daemon)
        url = daemon.url()
        # Both polls are in: the first inbox run is deciding 800 leads, a batch of seconds.
        daemon.wait_for("polled", 60, lambda e: e.get("system") == "salesforce")
        assert get_json(f"{url}/readyz")["ready"] is True
        daemon.process.send_signal(15)
        began = time.monotonic()
        code = daemon.process.wait(LIMIT + 5)
        took = time.monotonic() - began
        daemon.finish()
        assert code == 0 and took < LIMIT, f"exit {code} after {took:.1f} s"
        stopping = daemon.wait_for("stopping", 1)
        assert stopping["running"] >= 1, "no batch was in flight at the SIGTERM"
        stopped = daemon.wait_for("stopped", 1)
        print(f"[shutdown] exit 0 after {took:.2f} s; clean={stopped['clean']}")

        # A restart finishes what the stopped one left, without a duplicate anywhere.
        again = DaemonProcess(argv, env, name="restart")
        started.append(again)
        again.wait_for("listening", 60)

        def settled() -> bool:
            depth = metric(get_json_text(f"{again.url()}/metrics"), "leadbridge_inbox_depth")
            return depth == 0.0 and any(e.get("event") == "synced" for e in again.events())

        wait_until(settled, 150, "the restarted daemon emptied the inbox")
        assert stop_process(again.process) == 0
        assert lead_twins(info) == before
    finally:
        for process in started:
            stop_process(process.process)
        stop_process(sandbox)


def lead_twins(info: dict[str, Any]) -> dict[str, int]:
    """Emails more than one live Salesforce Lead holds."""
    leads = get_json(f"{info['salesforce']['url']}/_sandbox/records/Lead", info["ca_bundle"])
    emails = collections.Counter(
        (r.get("Email") or "").lower() for r in leads["records"] if not r.get("IsDeleted")
    )
    return {email: n for email, n in emails.items() if email and n > 1}


def get_json_text(url: str) -> str:
    import requests

    answer = requests.get(url, timeout=10)
    answer.raise_for_status()
    return answer.text


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None
