"""Issue 6, item 4: `leadbridge run` with every secret set, webhooks, faults and forged requests
provoked, at DEBUG; no secret, in any form, in any line it printed; every line is JSON."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests
import sqlalchemy as sa

from leadbridge.sandbox.hubspot.signing import signed_headers
from leadbridge.telemetry.logs import REDACTED
from tests.harness import (
    OUTBOUND_TOKEN,
    ROOT,
    Daemon,
    daemon_env,
    free_port,
    post_json,
    push_connectors,
    start_sandbox,
    stop_process,
    wait_until,
)
from tests.schemas import fresh_schema

DB_PASSWORD = "Pg-s3cret/w0rd:42@x!"


@pytest.fixture
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """PostgreSQL (a fresh schema) with a password in the URL when reachable, else SQLite."""
    try:
        base: str = request.getfixturevalue("postgres_url")
    except pytest.skip.Exception:
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    with fresh_schema(base) as url:
        parsed = sa.make_url(url)
        if parsed.password is None:
            # The local server trusts loopback, so the password is carried but not needed:
            # it still travels through every place a URL can leak from.
            parsed = parsed.set(password=DB_PASSWORD)
        yield parsed.render_as_string(hide_password=False)


def forms(secret: str) -> set[str]:
    """The secret as it may leak: itself, percent-encoded, JSON-escaped, base64 at any
    alignment inside a longer value (the characters that depend only on its bytes)."""
    found = {secret, quote(secret), quote(secret, safe=""), quote_plus(secret)}
    found.add(json.dumps(secret)[1:-1])
    for offset in range(3):
        padded = b"\0" * offset + secret.encode()
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(padded).decode()
            found.add(text[(4 if offset else 0) : len(padded) // 3 * 4])
    return {form for form in found if len(form) >= 6}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_no_secret_reaches_any_log_line(tmp_path: Path, state_url: str) -> None:
    sandbox, info = start_sandbox(tmp_path / "tls", leads=60, seed=21)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    hubspot, salesforce = info["hubspot"], info["salesforce"]
    verify = info["ca_bundle"]
    env = daemon_env(
        info,
        HUBSPOT_APP_SECRET=hubspot["app_secret"],
        SALESFORCE_PASSWORD=salesforce["password"],
        SLACK_WEBHOOK_URL=info["slack"]["webhook_url"],
        LEADBRIDGE_DATABASE_URL=state_url,
        LEADBRIDGE_PUBLIC_URL=f"{base}/webhooks/hubspot",
        LEADBRIDGE_HTTP_HOST="127.0.0.1",
        LEADBRIDGE_HTTP_PORT=str(port),
        LEADBRIDGE_LOG_LEVEL="DEBUG",
    )
    secrets = {
        "HUBSPOT_TOKEN": hubspot["token"],
        "HUBSPOT_APP_SECRET": hubspot["app_secret"],
        "SALESFORCE_CLIENT_SECRET": salesforce["client_secret"],
        "SALESFORCE_PASSWORD": salesforce["password"],
        "SLACK_WEBHOOK_URL": info["slack"]["webhook_url"],
        "SALESFORCE_OUTBOUND_TOKEN": OUTBOUND_TOKEN,
        "database password": sa.make_url(state_url).password or "",
    }
    connectors = push_connectors(tmp_path / "connectors", poll="2s", give_up_fast=True)
    post_json(f"{hubspot['url']}/_sandbox/webhooks", {"url": f"{base}/webhooks/hubspot"}, verify)
    outbound = f"{base}/webhooks/salesforce?token={OUTBOUND_TOKEN}"
    body = {"sobject": "Lead", "url": outbound, "fields": ["Email"]}
    post_json(f"{salesforce['url']}/_sandbox/outbound", body, verify)
    daemon = Daemon(
        ["--connectors", str(connectors), "--mappings", str(ROOT / "mappings")], env, "secrets"
    )
    try:
        daemon.wait_for("listening", 60)
        daemon.wait_for("synced", 90)  # the first cycle: every preloaded person decided
        mark = len(daemon.lines)
        provoke(info, base, secrets)
        # The pushes were read by id and decided; the forged requests were refused and said so.
        daemon.wait_for("synced", 60, lambda e: e.get("changes", 0) > 0, after=mark)
        wait_until(lambda: refused(daemon), 30, "the forged requests logged")
        # HubSpot failing every call: the job fails with HubSpot's answer in its traceback,
        # health turns, /readyz says why; a Salesforce session ends and is renewed.
        faults = f"{hubspot['url']}/_sandbox/faults"
        post_json(faults, {"error_rate": 1.0}, verify)
        requests.post(f"{salesforce['url']}/_sandbox/sessions/expire", timeout=10, verify=verify)
        mark = len(daemon.lines)
        post_json(
            f"{hubspot['url']}/_sandbox/marketer/forms",
            {"contact": "faulty.person@kepler.io", "form": "demo_request"},
            verify,
        )
        failed = daemon.wait_for("job failed", 60, after=mark)
        assert "RemoteError: hubspot 5" in failed["exception"]

        def failing() -> bool:
            answer = requests.get(f"{base}/readyz", timeout=10)
            # Still ready (webhooks are taken), with HubSpot's failure in its check.
            return answer.status_code == 200 and answer.json()["checks"]["hubspot"] != "ok"

        wait_until(failing, 60, "HubSpot's failures to show in /readyz")
        daemon.wait_for("ready, with checks failing", 10, after=mark)
        post_json(faults, {}, verify)
        assert stop_process(daemon.process, timeout=15) == 0
        daemon.finish()
    finally:
        stop_process(daemon.process)
        stop_process(sandbox)

    lines = [*daemon.lines, *daemon.out]
    (tmp_path / "daemon.log").write_text("\n".join(lines) + "\n")  # for a look after a failure
    assert len(lines) > 30, "too few lines to prove anything"
    for number, line in enumerate(lines, 1):
        entry = json.loads(line)  # every line is one JSON object...
        assert isinstance(entry, dict) and {"event", "level", "timestamp"} <= set(entry), line
        for name, secret in secrets.items():
            assert secret, name
            for form in forms(secret):
                assert form not in line, f"line {number} leaks {name} (as {form!r}): {line}"
    events = [json.loads(line)["event"] for line in daemon.lines]
    for expected in (
        "lease gained",
        "synced",
        "job failed",
        "ready, with checks failing",
        "stopped",
    ):
        assert expected in events, expected
    # The forged request's URL carried every secret into uvicorn's access log: blanked there.
    assert any("/webhooks/hubspot?token=" in line and REDACTED in line for line in lines)


def provoke(info: dict[str, Any], base: str, secrets: dict[str, str]) -> None:
    """Real pushes from both personas, and requests built to make a careless log echo a secret."""
    hubspot, salesforce, verify = info["hubspot"], info["salesforce"], info["ca_bundle"]
    for n in range(5):
        post_json(
            f"{hubspot['url']}/_sandbox/marketer/forms",
            {"contact": f"pushed{n}@kepler.io", "form": "demo_request"},
            verify,
        )
        post_json(
            f"{salesforce['url']}/_sandbox/rep/leads",
            {"LastName": f"Rep{n}", "Company": "Acme", "Email": f"rep{n}@acme.io"},
            verify,
        )
    every = " ".join(secrets.values())
    # A well-formed body with a bad signature; the secrets in the body, a header and the query.
    events = json.dumps([{"objectId": 1, "subscriptionType": "contact.creation", "x": every}])
    stamp = str(int(time.time() * 1000))
    answer = requests.post(
        f"{base}/webhooks/hubspot?token={quote(every)}",
        data=events,
        headers={
            "Content-Type": "application/json",
            "X-HubSpot-Request-Timestamp": stamp,
            "X-HubSpot-Signature-v3": base64.b64encode(every.encode()).decode(),
            "Authorization": f"Bearer {secrets['HUBSPOT_TOKEN']}",
        },
        timeout=10,
    )
    assert answer.status_code == 401
    # Signed with the right secret but over another URL: refused too.
    body = b"[]"
    headers = signed_headers(secrets["HUBSPOT_APP_SECRET"], "http://elsewhere/x", body, int(stamp))
    assert (
        requests.post(
            f"{base}/webhooks/hubspot", data=body, headers=headers, timeout=10
        ).status_code
        == 401
    )
    # Outbound Messages: malformed XML carrying the secrets, and one from another org.
    soap = f"<not-soap>{every}</not-soap>".encode()
    outbound = f"{base}/webhooks/salesforce?token={secrets['SALESFORCE_OUTBOUND_TOKEN']}"
    assert requests.post(f"{base}/webhooks/salesforce", data=soap, timeout=10).status_code == 401
    assert requests.post(outbound, data=soap, timeout=10).status_code == 400
    assert requests.post(outbound, data=b"\xff" * 64, timeout=10).status_code == 400


def refused(daemon: Daemon) -> bool:
    found = [e for e in daemon.events() if str(e.get("event", "")).startswith("webhook")]
    return len(found) >= 3
