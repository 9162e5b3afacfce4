"""logs.configure: one JSON object per line for structlog and stdlib loggers alike, bound
context carried, and every known secret blanked in any form it takes."""

from __future__ import annotations

import base64
import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import structlog
from pydantic import SecretStr

from leadbridge.connectors.hubspot.settings import HubSpotSettings
from leadbridge.telemetry import logs

SECRET = "pat-na1-5e3c-41f0-Zz/x+y@k"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level, sys.excepthook, threading.excepthook
    logs.configure(level="INFO", env={}, stream=out)
    logs.redactor().add(SECRET)
    try:
        yield out
    finally:
        root.handlers[:], level, sys.excepthook, threading.excepthook = saved
        root.setLevel(level)
        logging.captureWarnings(False)
        structlog.reset_defaults()


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_stdlib_and_structlog_lines_are_json_with_context(stream: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").warning("started %s", "here")
    with structlog.contextvars.bound_contextvars(job="inbox", lead_id="ab12"):
        structlog.get_logger("leadbridge.sync.pipeline").info("decided", record_id="00Q1")
    first, second = lines(stream)
    assert first["event"] == "started here" and first["level"] == "warning"
    assert first["logger"] == "uvicorn.error" and "timestamp" in first
    assert second["event"] == "decided" and second["lead_id"] == "ab12"
    assert second["job"] == "inbox" and second["record_id"] == "00Q1"


def test_a_secret_is_blanked_wherever_and_however_it_appears(stream: io.StringIO) -> None:
    basic = base64.b64encode(f"client:{SECRET}".encode()).decode()
    log = structlog.get_logger("leadbridge.test")
    log.info("headers", headers={"Authorization": f"Bearer {SECRET}"}, basic=basic)
    log.info("url", url=f"https://x/?t={quote(SECRET, safe='')}", items=[SECRET, 1, None])
    try:
        raise RuntimeError(f"refused token {SECRET}")
    except RuntimeError:
        logging.getLogger("simple_salesforce").exception("login failed for %s", SECRET)
    log.info("object", thing=SecretStr(SECRET), raw=SECRET.encode())
    text = stream.getvalue()
    for form in logs.encoded_forms(SECRET):
        assert form not in text
    assert SECRET not in text and text.count(logs.REDACTED) >= 6
    entries = lines(stream)
    assert "RuntimeError: refused token [redacted]" in str(entries[2]["exception"])


def test_secrets_come_from_settings_env_names_and_the_database_url() -> None:
    settings = HubSpotSettings.model_validate(
        {"token": "tok-123456789", "push": {"app_secret": "app-secret-42"}}
    )
    assert set(logs.secrets_of(settings)) == {"tok-123456789", "app-secret-42"}
    env = {
        "SLACK_WEBHOOK_URL": "https://hooks.slack.test/T/B/xyz",
        "SALESFORCE_PASSWORD": "hunter2hunter2",
        "LEADBRIDGE_DATABASE_URL": "postgresql://u:p%40ss-w0rd@db/x",
        "HOME": "/root",
    }
    found = set(logs.secrets_in_env(env))
    assert found == {"https://hooks.slack.test/T/B/xyz", "hunter2hunter2", "p@ss-w0rd"}


def test_short_values_are_not_taken_for_secrets() -> None:
    redactor = logs.Redactor()
    redactor.add("abc", None, "")
    assert redactor.scrub("abc def") == "abc def"
