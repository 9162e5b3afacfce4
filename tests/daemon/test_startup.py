"""Issue 12: start-up survives what steady state survives. A HubSpot 429 burst or a
PostgreSQL that is not up yet costs a wait, not the process; meanwhile /healthz answers
and /readyz says why (issue 13: the burst meets the schema gate's first check)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.harness import (
    ROOT,
    Daemon,
    Forwarder,
    daemon_env,
    free_port,
    start_sandbox,
    stop_process,
    wait_until,
)
from tests.schemas import fresh_schema


def _argv(port: int, connectors: Path = ROOT / "connectors") -> list[str]:
    argv = ["--connectors", str(connectors), "--mappings", str(ROOT / "mappings")]
    return [*argv, "--port", str(port), "--host", "127.0.0.1"]


def _faults(info: dict[str, object], body: dict[str, object]) -> None:
    hubspot = info["hubspot"]
    assert isinstance(hubspot, dict)
    answer = requests.put(
        f"{hubspot['url']}/_sandbox/faults", json=body, timeout=10, verify=str(info["ca_bundle"])
    )
    answer.raise_for_status()


def _waiting(url: str) -> dict[str, object] | None:
    """The stand-in's answers while the daemon waits: alive, not ready, and why."""
    try:
        alive = requests.get(f"{url}/healthz", timeout=5)
        ready = requests.get(f"{url}/readyz", timeout=5)
    except requests.ConnectionError:
        return None
    if alive.status_code != 200 or ready.status_code != 503:
        return None
    body: dict[str, object] = ready.json()
    return body


def test_a_hubspot_429_burst_at_start_up_costs_a_wait_not_the_process(tmp_path: Path) -> None:
    """The schema gate's first check meets the burst: the daemon serves (webhooks are
    stored), says it waits, asks again sooner than the recheck, and syncs once it ends."""
    sandbox, info = start_sandbox(tmp_path / "tls", leads=5)
    daemon = None
    try:
        # Every property call is refused for the rate limit until the burst ends.
        _faults(info, {"rate_limit_rate": 1.0, "path_prefix": "/crm/v3/properties"})
        port = free_port()
        env = daemon_env(info, LEADBRIDGE_DATABASE_URL=f"sqlite:///{tmp_path / 'state.db'}")
        daemon = Daemon([*_argv(port), "--recheck", "600"], env)
        said = daemon.wait_for("schema missing", 120)
        assert said["missing"][0]["what"] == "contact properties"
        assert "429" in said["missing"][0]["found"]
        assert said["next_check_in"] < 600  # a busy system is asked again sooner
        url = f"http://127.0.0.1:{port}"
        assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
        ready = requests.get(f"{url}/readyz", timeout=5)
        # Ready: it takes webhooks while it waits; the check says what for.
        assert ready.status_code == 200 and "contact properties" in ready.json()["checks"]["schema"]
        assert daemon.last("synced") is None
        _faults(info, {})  # the burst is over
        daemon.wait_for("schema ready", 120)
        daemon.wait_for("synced", 120, lambda e: e.get("leads", 0) > 0)
        ready = wait_until(
            lambda: requests.get(f"{url}/readyz", timeout=5).status_code == 200,
            60,
            "ready once the systems answer",
        )
        assert ready
        assert daemon.process.poll() is None
    finally:
        stopped = daemon.stop() if daemon is not None else 0
        stop_process(sandbox)
    assert stopped == 0


@pytest.fixture
def late_schema(postgres_url: str) -> Iterator[tuple[str, Forwarder]]:
    """A fresh schema, reached through a port where PostgreSQL is not up yet."""
    real = sa.make_url(postgres_url)
    forwarder = Forwarder((real.host or "127.0.0.1", real.port or 5432))
    with fresh_schema(postgres_url) as scoped:
        late = sa.make_url(scoped).set(port=forwarder.port)
        try:
            yield late.render_as_string(hide_password=False), forwarder
        finally:
            forwarder.close()


@pytest.mark.postgres
def test_a_database_not_up_yet_is_waited_for(
    tmp_path: Path, late_schema: tuple[str, Forwarder]
) -> None:
    url, forwarder = late_schema
    sandbox, info = start_sandbox(tmp_path / "tls", leads=5)
    daemon = None
    try:
        port = free_port()
        daemon = Daemon(_argv(port), daemon_env(info, LEADBRIDGE_DATABASE_URL=url))
        waited = daemon.wait_for("start-up waits", 60)
        assert "state database is not reachable" in str(waited["reason"])
        body = wait_until(lambda: _waiting(f"http://127.0.0.1:{port}"), 30, "the stand-in")
        assert "state database" in str(body["starting"])
        assert daemon.process.poll() is None
        forwarder.open()  # PostgreSQL is up
        daemon.wait_for("listening", 120)
        daemon.wait_for("synced", 120, lambda e: e.get("leads", 0) > 0)
        assert daemon.process.poll() is None
    finally:
        stopped = daemon.stop() if daemon is not None else 0
        stop_process(sandbox)
    assert stopped == 0
