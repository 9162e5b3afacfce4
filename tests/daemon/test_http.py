"""/healthz, /readyz and /metrics of a running daemon. Ready means "can take webhooks": false
only when the store is unreachable; a spent budget, a CRM outage or a pause is listed in
/readyz's checks and has its own metric, but keeps the replica in its Service."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
import requests

from leadbridge.connectors.base import Connector, Health
from leadbridge.daemon.health import Board
from leadbridge.daemon.service import Daemon
from leadbridge.model import System
from leadbridge.store import Store
from leadbridge.store.migrate import upgrade
from leadbridge.sync.pipeline import Summary
from leadbridge.telemetry.logs import redactor
from leadbridge.telemetry.metrics import Metrics
from tests.daemon.conftest import FAST, Rig
from tests.harness import wait_until

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none"


@pytest.fixture
def served(rig: Rig) -> Iterator[tuple[Daemon, str]]:
    daemon = Daemon(rig.pipeline, replace(FAST, serve_http=True, port=0), holder="replica-a")
    daemon.start()
    assert daemon.http is not None
    try:
        yield daemon, daemon.http.url
    finally:
        daemon.stop()


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value from the Prometheus text (0 when the series is absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, value = line.rsplit(" ", 1)
        found = dict(re.findall(r'(\w+)="([^"]*)"', head))
        if head.split("{")[0] == name and found == labels:
            return float(value)
    return 0.0


def test_ready_once_running_and_the_metrics_show_the_sync(
    rig: Rig, served: tuple[Daemon, str]
) -> None:
    rig.people(20)
    _, url = served
    assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
    ready = requests.get(f"{url}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "checks": {
            "store": "ok",
            "hubspot": "ok",
            "salesforce": "ok",
            "schema": "ok",
            "budget": "ok",
            "pause": "ok",
        },
    }

    def synced() -> bool:
        # The two systems are polled in their own threads: a HubSpot write can be counted
        # before Salesforce's first poll has finished, so both are waited for.
        text = requests.get(f"{url}/metrics", timeout=5).text
        return all(
            (
                sample(text, "leadbridge_writes_total", system="hubspot", outcome="ok") >= 1,
                sample(text, "leadbridge_changes_read_total", system="hubspot") >= 1,
                sample(text, "leadbridge_changes_read_total", system="salesforce") >= 1,
            )
        )

    wait_until(synced, 30, "the first reads of both systems and writes counted")
    wait_until(
        lambda: "leadbridge_sync_lag_seconds " in requests.get(f"{url}/metrics", timeout=5).text,
        10,
        "a sync lag",
    )
    text = requests.get(f"{url}/metrics", timeout=5).text
    assert sample(text, "leadbridge_inbox_depth") >= 0
    assert 0 <= sample(text, "leadbridge_sync_lag_seconds") < 120
    assert 0 < sample(text, "leadbridge_api_budget_left_ratio", system="salesforce") <= 1
    assert sample(text, "leadbridge_crm_up", system="hubspot") == 1
    assert sample(text, "leadbridge_crm_up", system="salesforce") == 1
    assert "leadbridge_paused 0.0" in text
    assert sample(text, "leadbridge_lease_held", lease="sync") == 1  # the only replica


def test_still_ready_while_a_spent_budget_pauses_the_sync(
    rig: Rig, served: tuple[Daemon, str]
) -> None:
    daemon, url = served
    rig.salesforce.budget_spent = True
    rig.people(20)  # new people: writes to Salesforce are due, and refused for the budget
    daemon.nudger.nudge()

    def paused() -> dict[str, object] | None:
        answer = requests.get(f"{url}/readyz", timeout=5)
        assert answer.status_code == 200  # webhooks are still taken
        body: dict[str, object] = answer.json()
        checks = body["checks"]
        assert isinstance(checks, dict)
        return body if checks["budget"] != "ok" else None

    # The new people arrive with the next poll; run it now instead of in an hour.
    daemon.run_now()
    body = wait_until(paused, 30, "the budget check to say paused")
    assert body["ready"] is True
    checks = body["checks"]
    assert isinstance(checks, dict) and str(checks["budget"]).startswith("paused: daily API budget")
    rig.salesforce.budget_spent = False
    daemon.nudger.nudge()

    def cleared() -> bool:
        checks = requests.get(f"{url}/readyz", timeout=5).json()["checks"]
        return bool(checks["budget"] == "ok")

    wait_until(cleared, 30, "the budget check to clear")


def test_not_ready_when_the_store_is_unreachable(rig: Rig) -> None:
    store = Store.open(UNREACHABLE)
    board = Board(store, rig.pipeline.connectors, Metrics(), rig.pipeline.clock)
    state = board.readiness()
    assert state.ready is False
    assert state.checks["store"].startswith("unreachable: OperationalError")
    assert state.checks["hubspot"] == "ok"


def test_the_budget_check_follows_the_last_summary_and_readiness_stays(rig: Rig) -> None:
    board = Board(
        rig.runtime.pipeline.store, rig.pipeline.connectors, Metrics(), rig.pipeline.clock
    )
    assert board.readiness().checks["budget"] == "ok"
    board.processed(Summary(paused="daily API budget spent: 100 of 100 calls"), pushed={})
    state = board.readiness()
    assert state.ready
    assert state.checks["budget"] == "paused: daily API budget spent: 100 of 100 calls"
    board.processed(Summary(), pushed={})
    assert board.readiness().checks["budget"] == "ok"


def test_a_port_in_use_fails_the_start_before_any_lease_is_taken(rig: Rig) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = replace(FAST, serve_http=True, host="127.0.0.1", port=port)
        daemon = Daemon(rig.pipeline, settings, holder="replica-a")
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            daemon.start()
    with rig.runtime.pipeline.store.reading() as uow:
        assert uow.leases.holder("sync") is None


class _Failing:
    """A connector whose health quotes a secret, as an error message quoting a URL may."""

    def health(self) -> Health:
        return Health(False, "401 from https://api.example.com/?hapikey=s3cret-key-0042")


def test_readiness_never_shows_a_known_secret(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    upgrade(url)
    redactor().add("s3cret-key-0042")
    with Store.open(url) as store:
        connectors = cast(Mapping[System, Connector], {System.HUBSPOT: _Failing()})
        metrics = Metrics()
        board = Board(store, connectors, metrics, lambda: datetime.now(UTC))
        readiness = board.readiness()
    assert readiness.ready is True  # the store answers: webhooks are still taken
    assert "s3cret-key-0042" not in readiness.checks["hubspot"]
    assert sample(metrics.render()[0].decode(), "leadbridge_crm_up", system="hubspot") == 0
    assert readiness.checks["hubspot"].startswith("401 from https://api.example.com/")
