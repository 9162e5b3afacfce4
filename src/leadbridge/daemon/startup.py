"""Start-up survives what steady state survives: a 429, a 5xx, a dropped answer, or a
database not up yet costs a wait with back-off, never the process.

While the daemon waits, a stand-in server on its port answers `/healthz` (alive: an
orchestrator must not kill a process that is only waiting) and `/readyz` with 503 and
why; webhooks get 503, so HubSpot and Salesforce deliver them again later. Once the
runtime is built the stand-in steps aside and the daemon serves the port.

Failures no wait can fix (a config error, a 401 or a 403, an unknown host in a file)
are raised at once: a person must act.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

import sqlalchemy.exc
import structlog

from leadbridge.connectors.budget import BudgetPaused
from leadbridge.connectors.errors import RETRIABLE, RemoteError

_T = TypeVar("_T")
_log = structlog.get_logger(__name__)

_FIRST_WAIT = 1.0
_LONGEST_WAIT = 30.0


class Aborted(Exception):
    """Asked to stop (SIGTERM) while still starting."""


def _transient(exc: BaseException) -> str | None:
    """One plain line when `exc` is worth waiting out; None when a person must act."""
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        first = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
        return f"the state database is not reachable: {first[0] if first else type(exc).__name__}"
    if isinstance(exc, BudgetPaused):
        return str(exc)
    if isinstance(exc, RemoteError) and (
        exc.action in RETRIABLE or exc.failure.status is None or exc.failure.status >= 500
    ):
        return f"{exc.failure.system.value} is not answering: {exc.failure}"
    return None


class Startup:
    """Builds the runtime, retrying transient failures, with a stand-in server meanwhile."""

    def __init__(
        self,
        host: str,
        port: int,
        stop: threading.Event,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._stop = stop
        self._rng = rng or random.Random()
        self.waiting_for = "starting"
        self._server = _stand_in(host, port, lambda: self.waiting_for)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="startup-http", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def build(self, make: Callable[[], _T]) -> _T:
        """`make()`, again after a growing, jittered wait while it fails transiently."""
        wait = _FIRST_WAIT
        attempt = 0
        while True:
            attempt += 1
            try:
                built = make()
            except Exception as exc:
                why = _transient(exc)
                if why is None:
                    raise
                self.waiting_for = why
                _log.warning("start-up waits", reason=why, attempt=attempt, retry_in=round(wait, 1))
                if self._stop.wait(self._rng.uniform(wait / 2, wait)):
                    raise Aborted from None
                wait = min(wait * 2, _LONGEST_WAIT)
                continue
            self.close()
            return built

    def close(self) -> None:
        """Free the port for the daemon's own server."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()


def _stand_in(host: str, port: int, why: Callable[[], str]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/healthz":
                self._answer(200, {"status": "starting"})
            else:
                self._answer(503, {"status": "starting", "starting": why()})

        def do_POST(self) -> None:
            # A webhook now would be lost if acknowledged: 503 makes the sender try again.
            self._answer(503, {"status": "starting", "starting": why()})

        def _answer(self, status: int, body: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 503:
                self.send_header("Retry-After", "5")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return  # the daemon's JSON logs say what matters: why it waits

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
