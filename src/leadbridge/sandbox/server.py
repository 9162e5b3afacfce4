"""Serves an ASGI app with uvicorn on a free loopback port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from leadbridge.sandbox.tls import TLSFiles


@dataclass
class RunningServer:
    url: str
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self, timeout: float = 5.0) -> None:
        # Clients keep TLS connections alive in their pools; a graceful shutdown
        # would wait out every one of them. The sandbox owes them nothing.
        self._server.force_exit = True
        self._server.should_exit = True
        self._thread.join(timeout)


def serve(app: ASGIApp, name: str, tls: TLSFiles | None = None, port: int = 0) -> RunningServer:
    """Starts `app` and returns once it accepts connections."""
    # Binding the socket ourselves tells us the port before uvicorn starts.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    sock.set_inheritable(True)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        ssl_certfile=str(tls.cert_chain) if tls else None,
        ssl_keyfile=str(tls.private_key) if tls else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{name}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the simulated {name} did not start")
        time.sleep(0.005)
    scheme = "https" if tls else "http"
    return RunningServer(f"{scheme}://127.0.0.1:{sock.getsockname()[1]}", server, thread)
