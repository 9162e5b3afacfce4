"""The daemon's HTTP side: uvicorn serving the webhook app in a thread, and the Receiver
that stores what the webhooks hand over.

Every replica serves webhooks, leader or not: a hint is one committed row in the
shared store, and whichever replica holds the sync lease reads it by id.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence

import structlog
import uvicorn
from starlette.types import ASGIApp

from leadbridge.model import Hint
from leadbridge.store import Store

_log = structlog.get_logger(__name__)


class StoreReceiver:
    """webhooks.app.Receiver: hints into the store (one transaction), then a nudge."""

    def __init__(self, store: Store, nudge: Callable[[], None]) -> None:
        self._store = store
        self._nudge = nudge

    def accept(self, hints: Sequence[Hint]) -> None:
        # run, not transaction: a deadlock with another delivery is retried, not a 503.
        self._store.run(lambda uow: uow.hints.add(hints))

    def nudge(self) -> None:
        self._nudge()


class HttpServer:
    """uvicorn in a background thread, on a socket bound here (port 0: any free port)."""

    def __init__(self, app: ASGIApp, host: str, port: int, *, grace: int = 2) -> None:
        self._sock = socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM
        )
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        self._sock.listen(1024)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,  # logs.configure owns logging: uvicorn's lines become JSON too
            access_log=True,  # shown at DEBUG only (logs.configure sets uvicorn.access' level)
            lifespan="off",
            timeout_graceful_shutdown=grace,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="http", daemon=True
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the HTTP server did not start on {self.url}")
            time.sleep(0.01)
        _log.info("listening", url=self.url)

    def close(self) -> None:
        """Give the port back when the server never started."""
        self._sock.close()

    def begin_stop(self) -> None:
        """Stop accepting connections; requests in flight finish (see `join`)."""
        self._server.should_exit = True

    def join(self, timeout: float) -> bool:
        self._thread.join(max(timeout, 0.0))
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(0.5)
        self._sock.close()
        return not self._thread.is_alive()
