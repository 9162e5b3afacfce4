"""`leadbridge sandbox` and `leadbridge run` as real processes, for the tests and the benchmarks.

The sandbox prints one JSON line (its URLs, credentials and CA bundle) once it serves;
`start_sandbox` answers the process and that line. A `Daemon` keeps the JSON log lines a
`leadbridge run` prints, as they come. `daemon_env` and `push_connectors` give a daemon
what it needs to reach a sandbox, webhooks on; `stop_process` ends either one.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import requests

from leadbridge.sync.runtime import sandbox_env

ROOT = Path(__file__).resolve().parents[1]
LEADBRIDGE = (sys.executable, "-m", "leadbridge")
# The shared secret Outbound Message URLs carry (connectors/salesforce.yaml push.token).
OUTBOUND_TOKEN = "outbound-8c1f2e9a77d04b6e"


def sandbox_command(
    *,
    leads: int,
    seed: int = 0,
    limits: bool = False,
    tls_dir: Path | None = None,
    search_lag: float | None = None,
    leadbridge: Sequence[str] = LEADBRIDGE,
) -> list[str]:
    """`leadbridge sandbox` with these options; its rate limits off unless `limits`."""
    command = [*leadbridge, "sandbox", "--leads", str(leads), "--seed", str(seed)]
    if not limits:
        command.append("--no-limits")
    if tls_dir is not None:
        command += ["--tls-dir", str(tls_dir)]
    if search_lag is not None:
        command += ["--search-lag", str(search_lag)]
    return command


def launch_sandbox(
    tls_dir: Path | None = None,
    *,
    leads: int,
    seed: int = 0,
    limits: bool = False,
    search_lag: float | None = None,
    leadbridge: Sequence[str] = LEADBRIDGE,
) -> subprocess.Popen[str]:
    """The sandbox process, started; `read_info` waits for it to serve (two can start at once)."""
    command = sandbox_command(
        leads=leads,
        seed=seed,
        limits=limits,
        tls_dir=tls_dir,
        search_lag=search_lag,
        leadbridge=leadbridge,
    )
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def read_info(process: subprocess.Popen[str], timeout: float = 60) -> dict[str, Any]:
    """The one JSON line the sandbox prints once it serves; killed if it prints none in time."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            process.wait(10)
            raise AssertionError(f"the sandbox printed nothing in {timeout} s")
    line = process.stdout.readline()
    assert line, f"the sandbox exited with {process.wait()} before serving"
    info: dict[str, Any] = json.loads(line)
    return info


def start_sandbox(
    tls_dir: Path | None = None,
    *,
    leads: int,
    seed: int = 0,
    limits: bool = False,
    search_lag: float | None = None,
    timeout: float = 60,
    leadbridge: Sequence[str] = LEADBRIDGE,
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """A serving sandbox: its process and its JSON line."""
    process = launch_sandbox(
        tls_dir, leads=leads, seed=seed, limits=limits, search_lag=search_lag, leadbridge=leadbridge
    )
    try:
        return process, read_info(process, timeout)
    except BaseException:
        stop_process(process)
        raise


def stop_process(process: subprocess.Popen[Any], timeout: float = 10) -> int:
    """SIGTERM, then SIGKILL if it is still running after `timeout` s; answers its exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=10)


def daemon_env(info: Mapping[str, Any], **extra: str) -> dict[str, str]:
    """This environment with the variables the shipped connection files expand pointed at
    the sandbox, and `extra`. REQUESTS_CA_BUNDLE too: requests lets it override a session's
    verify, so every client in the child must agree on the sandbox's throwaway CA."""
    env = {**os.environ, **sandbox_env(info), "REQUESTS_CA_BUNDLE": info["ca_bundle"]}
    env["SALESFORCE_OUTBOUND_TOKEN"] = OUTBOUND_TOKEN
    env.pop("LEADBRIDGE_CONNECTORS", None)
    env.update(extra)
    return env


def push_connectors(target: Path, *, poll: str | None = None, give_up_fast: bool = False) -> Path:
    """The shipped connection files with HubSpot webhooks and Outbound Messages switched on;
    `give_up_fast`: HubSpot calls are tried twice, 50 ms apart, instead of for a minute."""
    target.mkdir(parents=True, exist_ok=True)
    hubspot = (ROOT / "connectors" / "hubspot.yaml").read_text()
    salesforce = (ROOT / "connectors" / "salesforce.yaml").read_text()
    hubspot = _swap(hubspot, "  enabled: ${HUBSPOT_WEBHOOKS:-false}", "  enabled: true")
    salesforce = _swap(
        salesforce,
        "  outbound_messages: ${SALESFORCE_OUTBOUND_MESSAGES:-false}",
        "  outbound_messages: true",
    )
    if give_up_fast:
        hubspot = _swap(hubspot, "  attempts: 8", "  attempts: 2")
        hubspot = _swap(hubspot, "  base: 500ms", "  base: 50ms")
        hubspot = _swap(hubspot, "  cap: 30s", "  cap: 100ms")
    if poll is not None:
        hubspot = _swap(hubspot, "poll_interval: 60s", f"poll_interval: {poll}")
        salesforce = _swap(salesforce, "poll_interval: 1m", f"poll_interval: {poll}")
    (target / "hubspot.yaml").write_text(hubspot)
    (target / "salesforce.yaml").write_text(salesforce)
    return target


def _swap(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} is not in the shipped file once"
    return text.replace(old, new)


class Daemon:
    """One `leadbridge run` process; its stderr (JSON lines) and stdout are kept line by line."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], name: str = "daemon"):
        self.name = name
        self.process = subprocess.Popen(
            [*LEADBRIDGE, "run", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []  # stderr
        self.out: list[str] = []  # stdout
        self._parsed: list[dict[str, Any] | None] = []  # per stderr line: its JSON, or None
        self._changed = threading.Condition()
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stderr, True)),
            threading.Thread(target=self._read, args=(self.process.stdout, False)),
        ]
        for reader in self._readers:
            reader.daemon = True
            reader.start()

    def _read(self, stream: Any, logs: bool) -> None:
        for raw in stream:
            line = raw.rstrip("\n")
            with self._changed:
                if logs:
                    self.lines.append(line)
                    self._parsed.append(_json_object(line))
                else:
                    self.out.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        """The log lines that are JSON objects, from the `after`-th line on."""
        with self._changed:
            return [entry for entry in self._parsed[after:] if entry is not None]

    def wait_for(
        self,
        event: str,
        timeout: float,
        where: Callable[[dict[str, Any]], bool] = lambda e: True,
        after: int = 0,
    ) -> dict[str, Any]:
        """The first log event named `event` (from the `after`-th line on) that `where` likes."""
        deadline = time.monotonic() + timeout
        while True:
            for entry in self.events(after):
                if entry.get("event") == event and where(entry):
                    return entry
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                tail = "\n".join(self.lines[-30:])
                raise AssertionError(f"{self.name}: no {event!r} event within {timeout} s:\n{tail}")
            with self._changed:
                self._changed.wait(min(left, 0.2))

    def last(self, event: str) -> dict[str, Any] | None:
        """The latest log event named `event`, if any."""
        return next((e for e in reversed(self.events()) if e.get("event") == event), None)

    def url(self, timeout: float = 60) -> str:
        url = str(self.wait_for("listening", timeout)["url"])
        return url.replace("0.0.0.0", "127.0.0.1")  # noqa: S104 - served on all, asked on one

    def finish(self, timeout: float = 5) -> None:
        """Waits for the readers to take the last lines (once the process has ended)."""
        for reader in self._readers:
            reader.join(timeout)

    def stop(self, timeout: float = 10) -> int:
        """`stop_process`, then every line it printed read; answers its exit code."""
        code = stop_process(self.process, timeout)
        self.finish()
        return code


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        found = json.loads(line)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    """Polls `check` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(every)


def get_json(url: str, verify: str | bool = True, **params: Any) -> Any:
    answer = requests.get(url, params=params, timeout=30, verify=verify)
    answer.raise_for_status()
    return answer.json()


def post_json(url: str, body: Mapping[str, Any], verify: str | bool = True) -> Any:
    answer = requests.post(url, json=dict(body), timeout=30, verify=verify)
    answer.raise_for_status()
    return answer.json()


class Forwarder:
    """A TCP port that forwards to `target` (PostgreSQL) while open: `close()` refuses new
    connections and cuts the live ones, as an outage does; `open()` again ends it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._live: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.2)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            live, self._live = self._live, []
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._live += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def metric(base: str, name: str) -> float:
    """A gauge's value on a daemon's /metrics (`base` is its URL); -1 when it is not there."""
    text = requests.get(f"{base}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return -1.0


@contextlib.contextmanager
def throwaway_database(admin_url: str, prefix: str = "leadbridge") -> Iterator[str]:
    """A new, empty PostgreSQL database beside the one at `admin_url`, dropped after (even
    while a daemon still holds connections to it)."""
    import uuid

    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
