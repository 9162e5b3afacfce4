"""Shared helpers for the simulated Salesforce's tests: a running org and the official client."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from simple_salesforce import Salesforce

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.salesforce import SalesforceSim
from leadbridge.sandbox.tls import TLSFiles

CLIENT_ID = "3MVG9leadbridge.sandbox.client"
CLIENT_SECRET = "s3cr3t-sandbox"
USERNAME = "integration@leadbridge.example"
PASSWORD = "hunter2-token"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

# The recorded Salesforce bodies (restforce's MIT-licensed fixtures, byte for byte from
# ../shared/reference/), vendored so a clone anywhere can hold the simulator against them.
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "salesforce-restforce"


@dataclass
class RunningOrg:
    sim: SalesforceSim
    url: str
    clock: SimClock
    # Closed before the server stops: uvicorn waits for open keep-alive connections.
    sessions: list[requests.Session] = field(default_factory=list)

    def http(self) -> requests.Session:
        session = requests.Session()
        self.sessions.append(session)
        return session

    def token(self, **form: str) -> dict[str, Any]:
        data = {"grant_type": "client_credentials", "client_id": CLIENT_ID}
        data["client_secret"] = CLIENT_SECRET
        data.update(form)
        answer = requests.post(f"{self.url}/services/oauth2/token", data=data, timeout=10)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def client(self, version: str = "59.0") -> Salesforce:
        """simple-salesforce, unmodified, on a token from the token endpoint."""
        token = self.token()
        return Salesforce(
            instance_url=token["instance_url"],
            session_id=token["access_token"],
            session=self.http(),
            version=version,
        )

    def lead(self, **fields: Any) -> str:
        values = {"LastName": "Whitaker", "Company": "Northwind Logistics Inc", **fields}
        return self.sim.state.create("Lead", values)


@contextmanager
def running_org(tls: TLSFiles, **options: Any) -> Iterator[RunningOrg]:
    clock = SimClock(START)
    sim = SalesforceSim(
        clock,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        password=PASSWORD,
        seed=7,
        outbound_verify=str(tls.ca_bundle),
        **options,
    )
    server = sim.serve(tls)
    try:
        running = RunningOrg(sim, server.url, clock)
        yield running
    finally:
        # A caught client exception keeps its response (and socket) alive in a reference cycle;
        # collecting it lets the TLS connection close instead of holding up the server's stop.
        gc.collect()
        for session in running.sessions:
            session.close()
        sim.close()


def reference(name: str) -> Any:
    """A recorded body; None for the empty one (an upsert that updated answers no body)."""
    text = (REFERENCE / name).read_text()
    return json.loads(text) if text.strip() else None


def envelope(page: dict[str, Any]) -> dict[str, Any]:
    """A recorded query page without its records' fields: those are placeholders
    (Whizbang.Text_Label); the envelope and `attributes` are the real shape."""
    records = [{"attributes": r["attributes"]} for r in page["records"]]
    return {**page, "records": records}


def shape_errors(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """Where `actual` differs in shape from `expected`: every key there must be here, with a
    value of the same JSON type; lists compare their first items. Extra keys are allowed."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {type(actual).__name__}"]
        errors = []
        for key, value in expected.items():
            if key not in actual:
                errors.append(f"{where}.{key}: missing")
            else:
                errors.extend(shape_errors(value, actual[key], f"{where}.{key}"))
        return errors
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected an array, got {type(actual).__name__}"]
        if expected and not actual:
            return [f"{where}: expected items, got none"]
        return shape_errors(expected[0], actual[0], f"{where}[0]") if expected else []
    if type(expected) is not type(actual):
        return [f"{where}: expected {type(expected).__name__}, got {type(actual).__name__}"]
    return []
