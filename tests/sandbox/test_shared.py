"""The sandbox's shared parts: clock, rate counters, faults, delivery, serving over TLS."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from leadbridge.sandbox.clock import SimClock, iso_millis, sf_datetime
from leadbridge.sandbox.control import control_routes
from leadbridge.sandbox.delivery import Deliverer
from leadbridge.sandbox.faults import Fault, FaultInjector, FaultMiddleware, FaultSpec
from leadbridge.sandbox.ratelimit import DailyAllocation, RollingWindow
from leadbridge.sandbox.served import RequestCounts
from leadbridge.sandbox.server import RunningServer, serve
from leadbridge.sandbox.tls import TLSFiles


def test_clock_advances_but_never_goes_back() -> None:
    clock = SimClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    assert clock.now().date().isoformat() == "2026-01-05"
    clock.advance(2 * 86400)
    assert clock.now().date().isoformat() == "2026-01-07"
    with pytest.raises(ValueError, match="never goes back"):
        clock.advance(-1)


def test_timestamp_formats() -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
    assert iso_millis(moment) == "2026-03-04T05:06:07.891Z"
    assert sf_datetime(moment) == "2026-03-04T05:06:07.891+0000"


def test_rolling_window_refuses_past_its_limit_and_frees_with_time() -> None:
    clock = SimClock(datetime(2026, 1, 1, tzinfo=UTC))
    window = RollingWindow(3, 10.0, clock)
    assert [window.hit().allowed for _ in range(4)] == [True, True, True, False]
    refused = window.hit()
    assert refused.remaining == 0
    assert 9.0 < refused.retry_after <= 10.0
    clock.advance(10.5)
    assert window.hit().allowed


def test_daily_allocation_rolls_at_midnight_utc() -> None:
    clock = SimClock(datetime(2026, 1, 1, 23, 59, tzinfo=UTC))
    daily = DailyAllocation(2, clock)
    assert daily.hit().allowed and daily.hit().allowed
    assert not daily.hit().allowed
    assert daily.used == 2
    clock.advance(120)
    assert daily.hit().remaining == 1


def test_faults_repeat_with_the_same_seed() -> None:
    spec = FaultSpec(error_rate=0.2, rate_limit_rate=0.05, drop_rate=0.05)

    def run(seed: int) -> list[Fault | None]:
        injector = FaultInjector(seed=seed, spec=spec)
        return [injector.decide("/x")[0] for _ in range(300)]

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    assert first.count(Fault.SERVER_ERROR) > 20
    assert Fault.RATE_LIMIT in first


def test_a_rate_limit_burst_refuses_consecutive_requests() -> None:
    injector = FaultInjector(seed=1, spec=FaultSpec(rate_limit_rate=1.0, rate_limit_burst=4))
    first = [injector.decide("/x")[0] for _ in range(4)]
    assert first == [Fault.RATE_LIMIT] * 4


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"eror_rate": 0.1}, "unknown fault settings"),
        ({"error_rate": 3}, "between 0 and 1"),
        ({"drop_rate": "often"}, "between 0 and 1"),
        ({"error_statuses": "abc"}, "5xx"),
        ({"error_statuses": [200]}, "5xx"),
        ({"error_statuses": []}, "5xx"),
        ({"latency_seconds": [1]}, "latency_seconds"),
        ({"latency_seconds": [-1, 0]}, "latency_seconds"),
        ({"latency_seconds": [2, 1]}, "latency_seconds"),
        ({"rate_limit_burst": "x"}, "rate_limit_burst"),
        ({"rate_limit_burst": 0}, "rate_limit_burst"),
        ({"path_prefix": 5}, "path_prefix"),
    ],
)
def test_fault_spec_rejects_nonsense(settings: dict[str, object], match: str) -> None:
    # Accepted, any of these would break every later request of the service with a 500.
    with pytest.raises(ValueError, match=match):
        FaultSpec.from_json(settings)


def test_the_clock_refuses_jumps_no_calendar_holds() -> None:
    clock = SimClock(datetime(2026, 1, 5, tzinfo=UTC))
    for seconds in (float("inf"), float("nan"), 1e300, 300 * 365 * 86_400 * 100):
        with pytest.raises(ValueError, match="clock"):
            clock.advance(seconds)
    assert clock.now().year == 2026


@pytest.fixture
def served(tls_files: TLSFiles) -> Iterator[tuple[RunningServer, FaultInjector, list[str]]]:
    handled: list[str] = []

    async def hello(request: Request) -> Response:
        handled.append(request.url.path)
        return PlainTextResponse("hi")

    clock = SimClock()
    injector = FaultInjector(seed=3)
    app = FaultMiddleware(
        Starlette(
            routes=[
                Route("/x", hello, methods=["GET", "POST"]),
                *control_routes(clock, injector, RequestCounts()),
            ]
        ),
        injector,
        lambda request, status: PlainTextResponse("broken", status),
        lambda request, status: PlainTextResponse("slow down", 429, {"Retry-After": "1"}),
    )
    server = serve(app, "test", tls_files)
    yield server, injector, handled
    server.stop()


def test_serves_https_that_verifies_against_the_test_ca(
    served: tuple[RunningServer, FaultInjector, list[str]], tls_files: TLSFiles
) -> None:
    server, _, _ = served
    assert server.url.startswith("https://127.0.0.1:")
    assert requests.get(server.url + "/x", verify=str(tls_files.ca_bundle), timeout=5).text == "hi"
    stranger = requests.Session()
    stranger.trust_env = (
        False  # only the public roots: the sandbox CA must not be trusted by default
    )
    with pytest.raises(requests.exceptions.SSLError):
        stranger.get(server.url + "/x", timeout=5)


def test_injected_faults_reach_the_client(
    served: tuple[RunningServer, FaultInjector, list[str]],
) -> None:
    server, injector, handled = served
    session = requests.Session()
    injector.inject_next(Fault.SERVER_ERROR, status=502)
    assert session.get(server.url + "/x", timeout=5).status_code == 502
    injector.inject_next(Fault.RATE_LIMIT)
    limited = session.get(server.url + "/x", timeout=5)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")
    assert handled == []

    injector.inject_next(Fault.DROP_BEFORE)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.get(server.url + "/x", timeout=5)
    assert handled == []
    injector.inject_next(Fault.DROP_AFTER)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.post(server.url + "/x", timeout=5)
    assert handled == ["/x"], "a drop after handling must have done the work"
    assert injector.injected == {
        "server_error": 1,
        "rate_limit": 1,
        "drop_before": 1,
        "drop_after": 1,
    }


def test_control_endpoints_steer_faults_and_clock(
    served: tuple[RunningServer, FaultInjector, list[str]],
) -> None:
    server, injector, _ = served
    session = requests.Session()
    answer = session.put(server.url + "/_sandbox/faults", json={"error_rate": 1.0}, timeout=5)
    assert answer.status_code == 200
    assert injector.spec.error_rate == 1.0
    assert session.get(server.url + "/x", timeout=5).status_code >= 500
    bad = session.put(server.url + "/_sandbox/faults", json={"error_rat": 1}, timeout=5)
    assert bad.status_code == 400 and "unknown fault settings" in bad.text
    wrong = session.put(server.url + "/_sandbox/faults", json={"error_statuses": "x"}, timeout=5)
    assert wrong.status_code == 400 and injector.spec.error_statuses == (500, 502, 503)
    counts = session.get(server.url + "/_sandbox/faults", timeout=5).json()["injected"]
    assert counts == {"server_error": 1}
    far = session.post(server.url + "/_sandbox/clock/advance", json={"seconds": 1e300}, timeout=5)
    assert far.status_code == 400
    before = session.get(server.url + "/_sandbox/clock", timeout=5).json()["now"]
    after = session.post(server.url + "/_sandbox/clock/advance", json={"days": 2}, timeout=5).json()
    assert after["now"][:10] > before[:10]


def test_deliverer_retries_until_the_subscriber_answers_2xx(tls_files: TLSFiles) -> None:
    seen: list[bytes] = []
    lock = threading.Lock()

    async def flaky(request: Request) -> Response:
        body = await request.body()
        with lock:
            seen.append(body)
            fail = len(seen) < 3
        return PlainTextResponse("no", 503) if fail else PlainTextResponse("ok")

    server = serve(Starlette(routes=[Route("/hook", flaky, methods=["POST"])]), "hook")
    deliverer = Deliverer("test", backoff=lambda attempt: 0.01)
    try:
        deliverer.enqueue(server.url + "/hook", lambda n: (f"attempt {n}".encode(), {}))
        assert deliverer.wait_idle(5)
        assert seen == [b"attempt 1", b"attempt 2", b"attempt 3"]
        assert [a.status for a in deliverer.attempts] == [503, 503, 200]
    finally:
        deliverer.stop()
        server.stop()


def test_deliverer_retries_past_any_count_until_its_clock_says_give_up() -> None:
    clock = SimClock(datetime(2026, 1, 5, tzinfo=UTC))
    deliverer = Deliverer(
        "test",
        max_attempts=None,
        give_up_after=86_400,
        clock=clock.time,
        backoff=lambda attempt: 0.0,
        timeout=0.5,
    )
    try:
        deliverer.enqueue("http://127.0.0.1:9/nowhere", lambda n: (b"x", {}))
        deadline = time.monotonic() + 10
        while len(deliverer.attempts) < 15 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(deliverer.attempts) >= 15 and deliverer.given_up == 0
        clock.advance(86_400)
        assert deliverer.wait_idle(5)
        assert deliverer.given_up == 1
    finally:
        deliverer.stop()


def test_a_message_that_cannot_render_costs_a_try_not_the_thread(tls_files: TLSFiles) -> None:
    seen: list[bytes] = []

    async def hook(request: Request) -> Response:
        seen.append(await request.body())
        return PlainTextResponse("ok")

    def flaky(attempt: int) -> tuple[bytes, dict[str, str]]:
        if attempt == 1:
            raise RuntimeError("the record vanished")
        return b"second try", {}

    server = serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])]), "hook")
    deliverer = Deliverer("test", backoff=lambda attempt: 0.0)
    try:
        deliverer.enqueue(server.url + "/hook", flaky)
        deliverer.enqueue(server.url + "/hook", lambda n: (b"another", {}))
        assert deliverer.wait_idle(5)
        assert sorted(seen) == [b"another", b"second try"]
        assert deliverer.attempts[0].status is None and b"vanished" in deliverer.attempts[0].body
    finally:
        deliverer.stop()
        server.stop()


def test_deliverer_gives_up_after_max_attempts() -> None:
    deliverer = Deliverer("test", max_attempts=3, backoff=lambda attempt: 0.0, timeout=0.5)
    try:
        deliverer.enqueue("http://127.0.0.1:9/nowhere", lambda n: (b"x", {}))
        assert deliverer.wait_idle(10)
        assert len(deliverer.attempts) == 3
        assert deliverer.given_up == 1
        assert all(a.status is None for a in deliverer.attempts)
    finally:
        deliverer.stop()
