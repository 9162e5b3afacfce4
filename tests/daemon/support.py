"""Helpers for the daemon tests: `leadbridge sandbox` and `leadbridge run` as real processes,
their JSON log lines read as they come, and connection files with pushes switched on."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import requests

from leadbridge.sync.runtime import sandbox_env

ROOT = Path(__file__).resolve().parents[2]
LEADBRIDGE = [sys.executable, "-m", "leadbridge.cli"]


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_sandbox(
    tls_dir: Path, *, leads: int, seed: int = 0, limits: bool = False
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    command = [*LEADBRIDGE, "sandbox", "--leads", str(leads), "--seed", str(seed)]
    command += ["--tls-dir", str(tls_dir), *([] if limits else ["--no-limits"])]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(60):
            process.kill()
            raise AssertionError("the sandbox printed nothing in 60 s")
    line = process.stdout.readline()
    assert line, f"the sandbox exited with {process.wait()} before serving"
    return process, json.loads(line)


# The shared secret Outbound Message URLs carry (connectors/salesforce.yaml push.token).
OUTBOUND_TOKEN = "outbound-8c1f2e9a77d04b6e"


def daemon_env(info: Mapping[str, Any], **extra: str) -> dict[str, str]:
    env = {**os.environ, **sandbox_env(info), "REQUESTS_CA_BUNDLE": info["ca_bundle"]}
    env["SALESFORCE_OUTBOUND_TOKEN"] = OUTBOUND_TOKEN
    env.pop("LEADBRIDGE_CONNECTORS", None)
    env.update(extra)
    return env


def stop_process(process: subprocess.Popen[Any], timeout: float = 10) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=10)


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
        self._changed = threading.Condition()
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stderr, self.lines)),
            threading.Thread(target=self._read, args=(self.process.stdout, self.out)),
        ]
        for reader in self._readers:
            reader.daemon = True
            reader.start()

    def _read(self, stream: Any, into: list[str]) -> None:
        for line in stream:
            with self._changed:
                into.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def events(self) -> list[dict[str, Any]]:
        found = []
        with self._changed:
            lines = list(self.lines)
        for line in lines:
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

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
            for entry in self.events()[after:]:
                if entry.get("event") == event and where(entry):
                    return entry
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                tail = "\n".join(self.lines[-30:])
                raise AssertionError(f"{self.name}: no {event!r} event within {timeout} s:\n{tail}")
            with self._changed:
                self._changed.wait(min(left, 0.2))

    def url(self, timeout: float = 60) -> str:
        url = str(self.wait_for("listening", timeout)["url"])
        return url.replace("0.0.0.0", "127.0.0.1")  # noqa: S104 - served on all, asked on one

    def finish(self, timeout: float = 5) -> None:
        for reader in self._readers:
            reader.join(timeout)


def get_json(url: str, verify: str | bool = True, **params: Any) -> Any:
    answer = requests.get(url, params=params, timeout=30, verify=verify)
    answer.raise_for_status()
    return answer.json()


def post_json(url: str, body: Mapping[str, Any], verify: str | bool = True) -> Any:
    answer = requests.post(url, json=dict(body), timeout=30, verify=verify)
    answer.raise_for_status()
    return answer.json()


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
