"""Logs: one JSON object per line on stderr, with every known secret blanked out.

    redactor = logs.configure()             # at start: secrets found in the environment
    redactor.add(*logs.secrets_of(settings)) # once the connection files are loaded

structlog renders every line, its own loggers' and the standard library's alike
(uvicorn, APScheduler, urllib3 and our connectors log through `logging`), so one
processor chain sees everything: a timestamp, the level, the event, whatever the
daemon bound for the job in hand (job, system, lead_id, record ids), and last,
before rendering, the redactor. The redactor replaces each secret wherever it
occurs in any value (a traceback, a URL, a header echoed in an error) and also
the forms a secret takes on the way out: percent-encoded, JSON-escaped, and
base64 at any of the three byte alignments (Basic auth, a signed blob). Secrets
are only known by value, so the redactor is told them: the connection files'
secrets, the Slack webhook URL, the database URL's password, and any variable
of the environment whose name says it holds one.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

import sqlalchemy as sa
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"
# Shorter values would blank out ordinary words; no real credential is this short.
_MIN_SECRET = 6
# Variables whose values are secrets whatever reads them (a connection file, an alerts
# file still to come): their names say so.
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|WEBHOOK_URL)$")
_DATABASE_URL = "LEADBRIDGE_DATABASE_URL"
# Loggers that speak at INFO on every call or tick; their warnings still come through.
_CHATTY = ("apscheduler", "uvicorn.access", "urllib3", "hubspot", "simple_salesforce")


def encoded_forms(secret: str) -> set[str]:
    """The secret and the forms it takes when a URL, a JSON body or base64 carries it."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
    }
    raw = secret.encode()
    for offset in range(3):
        # Inside a longer encoded value the secret starts at any byte alignment; the
        # characters that depend only on its own bytes are the ones between the groups
        # it shares with its neighbours.
        padded = b"\0" * offset + raw
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(padded).decode()
            core = text[4 if offset else 0 : (len(padded) // 3) * 4]
            forms.add(core)
    return {form for form in forms if len(form) >= _MIN_SECRET}


class Redactor:
    """A structlog processor that blanks out known secrets in every value of an event."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._needles: tuple[str, ...] = ()

    def add(self, *secrets: str | None) -> None:
        """Learn more secrets (values shorter than _MIN_SECRET are ignored)."""
        found = set(self._needles)
        for secret in secrets:
            if secret and len(secret) >= _MIN_SECRET:
                found |= encoded_forms(secret)
        with self._lock:
            # Longest first, so a secret's form that contains another is blanked whole.
            self._needles = tuple(sorted(found, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        for needle in self._needles:
            if needle in text:
                text = text.replace(needle, REDACTED)
        return text

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
        return {self._value(key): self._value(value) for key, value in event.items()}

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {self._value(k): self._value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._value(v) for v in value]
        # Anything else is rendered here, so its text passes the redactor too.
        return self.scrub(repr(value))


def secrets_in_env(env: Mapping[str, str]) -> list[str]:
    """Values of variables named like secrets, and the password of the database URL."""
    found = [value for name, value in env.items() if _SECRET_NAME.search(name.upper())]
    found.append(database_password(env.get(_DATABASE_URL)) or "")
    return [value for value in found if value]


def database_password(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return sa.make_url(url).password
    except (sa.exc.ArgumentError, ValueError):
        return None


def secrets_of(settings: Any) -> list[str]:
    """Every SecretStr in a pydantic settings model (a connection file), however nested."""
    found: list[str] = []
    _collect(settings, found, depth=0)
    return found


def _collect(value: Any, found: list[str], depth: int) -> None:
    from pydantic import BaseModel, SecretStr

    if depth > 8:
        return
    if isinstance(value, SecretStr):
        found.append(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect(getattr(value, name), found, depth + 1)
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect(item, found, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, found, depth + 1)


_redactor = Redactor()


def redactor() -> Redactor:
    """The process's one redactor: what `configure` installed."""
    return _redactor


def configure(
    *,
    level: str | None = None,
    env: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> Redactor:
    """JSON lines to `stream` (stderr) for structlog and the standard library alike; returns
    the redactor, already holding the secrets `env` (os.environ) names. Safe to call again."""
    env = os.environ if env is None else env
    _redactor.add(*secrets_in_env(env))
    chosen = (level or env.get("LEADBRIDGE_LOG_LEVEL") or "INFO").upper()
    numeric = logging.getLevelName(chosen)
    if not isinstance(numeric, int):
        numeric = logging.INFO
    before: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *before,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=before,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redactor,
            structlog.processors.JSONRenderer(default=repr),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name("leadbridge-json")
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in _CHATTY:
        # At DEBUG, everything: whoever asks for it is chasing a problem.
        logging.getLogger(name).setLevel(numeric if numeric <= logging.DEBUG else logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn adds its own handlers unless told otherwise; ours is the only one.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_exception
    return _redactor


def _log_uncaught(
    kind: type[BaseException], value: BaseException, traceback: TracebackType | None
) -> None:
    structlog.get_logger("leadbridge").critical("uncaught", exc_info=(kind, value, traceback))


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    exc_info = (args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)
    name = args.thread.name if args.thread is not None else "?"
    structlog.get_logger("leadbridge").error("thread failed", thread=name, exc_info=exc_info)
