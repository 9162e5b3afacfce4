"""Helpers for the simulated HubSpot's tests: a served portal, its client, a hook receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hubspot import HubSpot
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.hubspot import HubSpotSim
from leadbridge.sandbox.server import RunningServer, serve
from leadbridge.sandbox.tls import TLSFiles

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
SECRET = "c0ffee00-1111-2222-3333-444455556666"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Portal:
    sim: HubSpotSim
    clock: SimClock
    server: RunningServer
    client: HubSpot
    ca_bundle: str

    @property
    def url(self) -> str:
        return self.server.url

    def client_with(self, token: str) -> HubSpot:
        return HubSpot(access_token=token, host=self.url, ssl_ca_cert=self.ca_bundle)


@contextmanager
def running_portal(tls_files: TLSFiles, **options: Any) -> Iterator[Portal]:
    """A portal served over HTTPS; search's per-second limit is off unless a test asks for it,
    so tests that search in a loop are not refused."""
    clock = SimClock(START)
    options.setdefault("search_per_second", None)
    sim = HubSpotSim(clock, token=TOKEN, app_secret=SECRET, **options)
    sim.deliveries.backoff = lambda attempt: 0.02
    server = serve(sim.app, "hubspot", tls_files)
    ca = str(tls_files.ca_bundle)
    client = HubSpot(access_token=TOKEN, host=server.url, ssl_ca_cert=ca)
    try:
        yield Portal(sim, clock, server, client, ca)
    finally:
        stop_now(server)
        sim.close()


def stop_now(server: RunningServer) -> None:
    """Stops at once (RunningServer.stop does not wait for idle keep-alive connections)."""
    server.stop()


@pytest.fixture
def portal(tls_files: TLSFiles) -> Iterator[Portal]:
    with running_portal(tls_files) as served:
        yield served


@dataclass
class Delivery:
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def events(self) -> list[dict[str, Any]]:
        parsed: list[dict[str, Any]] = orjson.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """A webhook endpoint that records every POST and answers from a script of statuses."""

    server: RunningServer
    deliveries: list[Delivery] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # consumed first; then 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return self.server.url + "/hooks/hubspot?tenant=acme"

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [event for delivery in self.deliveries for event in delivery.events]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: list[Receiver] = []

    async def hook(request: Request) -> Response:
        body = await request.body()
        target = holder[0]
        with target.lock:
            target.deliveries.append(Delivery(str(request.url), dict(request.headers), body))
            status = target.statuses.pop(0) if target.statuses else 200
        return PlainTextResponse("ok" if status < 300 else "nope", status_code=status)

    server = serve(Starlette(routes=[Route("/hooks/hubspot", hook, methods=["POST"])]), "hooks")
    holder.append(Receiver(server))
    yield holder[0]
    stop_now(server)
