"""`leadbridge pause` / `resume`: a switch in the store every replica honours. Paused, nothing
is read, decided or written while webhooks are still stored; /readyz, /metrics and
`leadbridge status` show it; resumed, the daemon catches up at once. With an admin port,
/readyz and /metrics are served there and not on the webhook port."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import replace

import pytest
import requests

from leadbridge.cli import main
from leadbridge.daemon.http import StoreReceiver
from leadbridge.daemon.service import Daemon
from leadbridge.model import Hint
from tests.daemon.conftest import FAST, SF, Rig
from tests.daemon.test_http import sample
from tests.harness import wait_until


def leadbridge(rig: Rig, *argv: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main([*argv, "--database", rig.database], clock=rig.sandbox.clock.now)
    assert code == 0, out.getvalue()
    return out.getvalue()


@pytest.fixture
def paused_daemon(rig: Rig) -> Iterator[tuple[Daemon, str, str]]:
    """A daemon started while paused, with /readyz and /metrics on an admin port."""
    said = leadbridge(rig, "pause", "--why", "CRM migration tonight")
    assert said.startswith("paused: paused since ") and "CRM migration tonight" in said
    rig.people(10)
    settings = replace(FAST, serve_http=True, port=0, admin_port=0)
    daemon = Daemon(rig.pipeline, settings, holder="replica-a")
    daemon.start()
    assert daemon.http is not None and daemon.admin is not None
    try:
        yield daemon, daemon.http.url, daemon.admin.url
    finally:
        daemon.stop()


def hints(rig: Rig) -> int:
    with rig.pipeline.store.reading() as uow:
        return uow.hints.count()


def test_paused_nothing_is_read_or_written_webhooks_are_stored_and_resume_catches_up(
    rig: Rig, paused_daemon: tuple[Daemon, str, str]
) -> None:
    daemon, _, admin = paused_daemon
    lead = rig.sandbox.salesforce.state.records("Lead")[0]["Id"]
    # What the Outbound Message endpoint does with a delivery: store a hint, nudge.
    receiver = StoreReceiver(rig.pipeline.store, daemon.nudger.nudge)
    receiver.accept([Hint(SF, "Lead", lead, rig.sandbox.clock.now())])
    receiver.nudge()
    daemon.run_now()

    def paused_shown() -> str | None:
        text = requests.get(f"{admin}/metrics", timeout=5).text
        return text if sample(text, "leadbridge_paused") == 1 else None

    wait_until(paused_shown, 10, "the pause in /metrics")
    ready = requests.get(f"{admin}/readyz", timeout=5)
    assert ready.status_code == 200  # paused, it still takes webhooks
    pause = ready.json()["checks"]["pause"]
    assert (
        pause.startswith("paused since ") and "CRM migration tonight; webhooks are stored" in pause
    )
    time.sleep(1.5)  # five inbox ticks
    assert (rig.hubspot.calls, rig.salesforce.calls) == ([], [])  # not a read, not a write
    assert hints(rig) == 1
    status = leadbridge(rig, "status")
    assert "sync:        PAUSED: paused since " in status and "(`leadbridge resume`)" in status
    assert "sync: replica-a" in status  # the lease is held: the replica is alive, waiting
    assert "1 webhooks not read yet" in status

    said = leadbridge(rig, "resume")
    assert said.startswith("resumed (it was paused since ")
    assert "works through 1 stored changes and webhooks" in said
    wait_until(lambda: "apply" in rig.salesforce.calls, 30, "writes after the resume")
    wait_until(lambda: hints(rig) == 0, 30, "the stored webhook read")
    text = requests.get(f"{admin}/metrics", timeout=5).text
    assert sample(text, "leadbridge_paused") == 0
    assert rig.salesforce.calls.count("changes") >= 1  # polled at once, not in an hour

    def reported() -> dict[str, object] | None:
        found: dict[str, object] = json.loads(leadbridge(rig, "status", "--format", "json"))
        return found if found["last_cycle"] else None

    daemon.jobs.report(now=True)
    found = wait_until(reported, 10, "a cycle reported")
    assert found["paused"] is None
    assert found["leases"]["sync"]["holder"] == "replica-a"  # type: ignore[index]
    assert found["systems"]["salesforce"]["up"] is True  # type: ignore[index]


def test_the_admin_port_serves_readyz_and_metrics_and_the_webhook_port_does_not(
    paused_daemon: tuple[Daemon, str, str],
) -> None:
    _, public, admin = paused_daemon
    assert requests.get(f"{public}/healthz", timeout=5).status_code == 200
    for path in ("/readyz", "/metrics"):
        assert requests.get(f"{public}{path}", timeout=5).status_code == 404
        assert requests.get(f"{admin}{path}", timeout=5).status_code == 200
    # The admin port takes no webhook.
    assert requests.post(f"{admin}/webhooks/salesforce", data=b"x", timeout=5).status_code == 404
