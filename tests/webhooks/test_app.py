"""/healthz, /readyz, /metrics, and the promise that no request is ever answered 500."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from leadbridge.model import Hint
from leadbridge.telemetry.metrics import Metrics
from leadbridge.webhooks import Readiness, create_app
from tests.webhooks.asgi import Caller
from tests.webhooks.support import (
    LEAD_A,
    NOW,
    Inbox,
    envelope,
    event,
    events_body,
    hooks,
    push,
    serve,
    signed,
)


def test_healthz_says_ok_while_serving() -> None:
    answer = serve().get("/healthz")
    assert (answer.status, answer.text) == (200, "ok")


def test_readyz_reports_each_check() -> None:
    ready = serve(readiness=Readiness(True, {"store": "ok", "hubspot": "ok"})).get("/readyz")
    assert ready.status == 200
    assert orjson.loads(ready.body) == {"ready": True, "checks": {"store": "ok", "hubspot": "ok"}}
    paused = Readiness(False, {"store": "ok", "hubspot": "paused: 95% of the daily budget spent"})
    answer = serve(readiness=paused).get("/readyz")
    assert answer.status == 503
    assert orjson.loads(answer.body)["checks"]["hubspot"].startswith("paused")


def _app(
    inbox: object,
    *,
    readiness: object = None,
    metrics: Metrics | None = None,
    clock: object = None,
) -> Caller:
    """An app around doubles that break in the ways the tests need (typed loosely on purpose)."""
    return Caller(
        create_app(
            inbox,  # type: ignore[arg-type]
            hubspot=push(),
            salesforce=hooks(),
            readiness=readiness or (lambda: Readiness(True, {})),  # type: ignore[arg-type]
            metrics=metrics or Metrics(),
            clock=clock or (lambda: NOW),  # type: ignore[arg-type]
        )
    )


def test_readyz_is_503_when_the_check_itself_raises() -> None:
    def broken() -> Readiness:
        raise TimeoutError("the database did not answer")

    answer = _app(Inbox(), readiness=broken).request("GET", "/readyz")
    assert answer.status == 503
    assert orjson.loads(answer.body) == {
        "ready": False,
        "checks": {"readiness": "the check itself failed"},
    }


def test_metrics_are_prometheus_text_from_this_apps_own_registry() -> None:
    served = serve(hubspot=push(), salesforce=hooks())
    body = events_body(event("contact.creation", 7), event("company.creation", 8))
    served.hubspot(body, signed(body))
    served.hubspot(body, {})
    served.metrics.writes.labels(system="salesforce", outcome="ok").inc(3)
    served.metrics.budget_left.labels(system="hubspot").set(0.42)
    answer = served.get("/metrics")
    assert answer.status == 200
    assert (answer.header("content-type") or "").startswith("text/plain; version=")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }
    assert (
        samples[
            (
                "leadbridge_webhook_requests_total",
                (("endpoint", "hubspot"), ("outcome", "accepted")),
            )
        ]
        == 1
    )
    assert (
        samples[
            (
                "leadbridge_webhook_requests_total",
                (("endpoint", "hubspot"), ("outcome", "unauthorized")),
            )
        ]
        == 1
    )
    assert (
        samples[
            ("leadbridge_webhook_events_total", (("endpoint", "hubspot"), ("outcome", "hinted")))
        ]
        == 1
    )
    assert (
        samples[
            ("leadbridge_webhook_events_total", (("endpoint", "hubspot"), ("outcome", "ignored")))
        ]
        == 1
    )
    assert samples[("leadbridge_writes_total", (("outcome", "ok"), ("system", "salesforce")))] == 3
    assert samples[("leadbridge_api_budget_left_ratio", (("system", "hubspot"),))] == 0.42
    assert samples[("leadbridge_changes_read_total", (("system", "hubspot"),))] == 0
    for name in ("parked_records", "inbox_depth", "sync_lag_seconds"):
        assert samples[(f"leadbridge_{name}", ())] == 0
    assert all(name.startswith("leadbridge_") for name, _ in samples)


def test_two_metrics_never_share_a_registry() -> None:
    first, second = Metrics(), Metrics()  # the global registry would refuse the second
    first.alerts_sent.labels(kind="overdue").inc()
    assert first.registry.get_sample_value("leadbridge_alerts_sent_total", {"kind": "overdue"}) == 1
    assert (
        second.registry.get_sample_value("leadbridge_alerts_sent_total", {"kind": "overdue"})
        is None
    )


class _BrokenMetrics(Metrics):
    def render(self) -> tuple[bytes, str]:
        raise RuntimeError("a collector raised")


def test_metrics_failing_to_render_is_503() -> None:
    assert _app(Inbox(), metrics=_BrokenMetrics()).request("GET", "/metrics").status == 503


class _OddReceiveError(Exception):
    """Not anything the app expects: stands for a bug below it, raised while reading."""


@pytest.mark.parametrize("path", ["/webhooks/hubspot", "/webhooks/salesforce"])
def test_an_unexpected_error_while_reading_is_400_and_stores_nothing(path: str) -> None:
    inbox = Inbox()
    body = envelope([("Lead", LEAD_A)])
    answer = _app(inbox).request(
        "POST",
        path,
        chunks=[body[:10], body[10:]],
        headers=list(signed(body).items()),
        receive_error=_OddReceiveError("the transport broke oddly"),
    )
    assert answer.status == 400
    assert inbox.hints == []


class _Stubborn:
    """A receiver whose nudge raises (a scheduler that has shut down)."""

    def __init__(self) -> None:
        self.stored: list[Hint] = []

    def accept(self, hints: Sequence[Hint]) -> None:
        self.stored.extend(hints)

    def nudge(self) -> None:
        raise RuntimeError("scheduler is shut down")


def test_a_failing_nudge_still_acks_what_was_stored() -> None:
    receiver = _Stubborn()
    answer = _app(receiver).request(
        "POST", "/webhooks/salesforce", body=envelope([("Lead", LEAD_A)])
    )
    assert answer.status == 200 and b"<Ack>true</Ack>" in answer.body
    assert [h.id for h in receiver.stored] == [LEAD_A]


def test_a_clock_that_raises_is_503_not_500() -> None:
    def clock() -> datetime:
        raise OverflowError("clock broke")

    answer = _app(Inbox(), clock=clock).request(
        "POST", "/webhooks/salesforce", body=envelope([("Lead", LEAD_A)])
    )
    assert answer.status == 503
