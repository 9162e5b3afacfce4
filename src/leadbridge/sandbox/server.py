"""Serves an ASGI app with uvicorn on a free loopback port, in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from leadbridge.sandbox.tls import TLSFiles


class _Server(uvicorn.Server):
    """uvicorn's server, but one that stops in milliseconds: uvicorn notices `should_exit`
    on its next tenth-of-a-second tick and then pauses another tenth for connections to
    close, which, over hundreds of test servers, adds up to most of a test run."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def wake(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(wake.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Clients keep TLS connections alive in their pools; a graceful close would
        # wait for each client's TLS goodbye, which an idle pooled socket never sends.
        # The sandbox owes them nothing: it cuts every connection and waits only until
        # the cuts have landed.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if isinstance(transport, asyncio.Transport):
                transport.abort()
            else:
                connection.shutdown()
        deadline = time.monotonic() + 0.1
        while self.server_state.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.002)


@dataclass
class RunningServer:
    url: str
    _server: _Server
    _thread: threading.Thread

    def stop(self, timeout: float = 5.0) -> None:
        self._server.force_exit = True
        self._server.should_exit = True
        self._server.wake()
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
    server = _Server(config)
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
