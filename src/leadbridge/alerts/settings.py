"""connectors/slack.yaml: where alerts go, who an escalation mentions, the digest, the links.

An incoming webhook's URL is its secret (anyone holding it can post), so every
`webhook_url` must be a ${ENV_VAR} reference, as the other connection files
require of their tokens; the value is held as SecretStr and never echoed in
an error. Problems are reported at file:line:column, all at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    PlainValidator,
    SecretStr,
    ValidationInfo,
    field_validator,
)

from leadbridge.config.problems import ConfigError, Problem
from leadbridge.config.settings import load_settings
from leadbridge.config.sla import parse_zone
from leadbridge.config.source import Document, load_document
from leadbridge.config.values import duration
from leadbridge.config.values import invalid as _fail
from leadbridge.config.values import problem as _problem

_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}")
_WEBHOOK_KEY = "webhook_url"
_BROADCAST = {"@here": "<!here>", "@channel": "<!channel>", "@everyone": "<!everyone>"}
_MENTION = re.compile(
    r"^(?:<!(?:here|channel|everyone)>|<!subteam\^[A-Z0-9]+(?:\|[^<>]*)?>|<@[UW][A-Z0-9]+>)$"
)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def _webhook(value: Any) -> SecretStr:
    # Never show the value: it is the secret, and a typo in it is still mostly secret.
    if not isinstance(value, str) or not value.strip():
        raise _problem("empty, expected the variable named here to hold the webhook's URL")
    if not re.match(r"^https?://[^\s/]+/\S*$", value.strip()):
        raise _problem(
            "not a URL (value hidden), expected an incoming webhook's URL such as "
            "https://hooks.slack.com/services/T…/B…/…"
        )
    return SecretStr(value.strip())


def _optional_webhook(value: Any) -> SecretStr | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # "${SLACK_ESCALATION_WEBHOOK_URL:-}" unset: the alerts webhook
    return _webhook(value)


def _mention(value: Any) -> str | None:
    """One or more Slack mentions; @here, @channel and @everyone are written as Slack wants."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        words = [_BROADCAST.get(word, word) for word in value.split()]
        if all(_MENTION.match(word) for word in words):
            return " ".join(words)
    raise _fail(
        value, 'a mention such as "<!subteam^S0123ABC>" (a user group), "<@U0123ABC>" or "@here"'
    )


def _clock(value: Any) -> time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 9:30 as the sexagesimal number 570.
        raise _problem(f"got {value}, expected a time in quotes such as '09:00' (HH:MM, 24-hour)")
    match = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise _fail(value, "a time of day such as '09:00' (HH:MM, 24-hour)")
    return time(int(match[1]), int(match[2]))


def _url(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and re.match(r"^https?://[^\s/]+/?$", value.strip()):
        return value.strip().rstrip("/")
    raise _fail(value, "the base URL only, such as https://acme.my.salesforce.com")


def _portal(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if not isinstance(value, bool) and isinstance(value, int | str) and text.isdigit():
        return text
    raise _fail(value, "the HubSpot portal (Hub) id, digits only, such as 2424242")


def _seconds(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return duration(value, "500ms, 30s, 5m or 1h").total_seconds()


def _count(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _fail(value, "a whole number, 0 or more")


def _positive(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise _fail(value, "a whole number above 0")


_Webhook = Annotated[SecretStr, PlainValidator(_webhook)]
_OptionalWebhook = Annotated[SecretStr | None, PlainValidator(_optional_webhook)]
_Mention = Annotated[str | None, PlainValidator(_mention)]
_Clock = Annotated[time, PlainValidator(_clock)]
_BaseUrl = Annotated[str | None, PlainValidator(_url)]
_PortalId = Annotated[str | None, PlainValidator(_portal)]
_Seconds = Annotated[float, PlainValidator(_seconds)]
_Count = Annotated[int, PlainValidator(_count)]
_Positive = Annotated[int, PlainValidator(_positive)]
_TimeZone = Annotated[str, PlainValidator(parse_zone)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Escalation(_Model):
    webhook_url: _OptionalWebhook = None  # None: the alerts webhook
    mention: _Mention = None


class Health(_Model):
    enabled: bool = True
    webhook_url: _OptionalWebhook = None  # None: the alerts webhook
    parked_threshold: _Positive = 25  # this many parked records or more is unhealthy


class Digest(_Model):
    enabled: bool = False
    at: _Clock = time(9, 0)
    time_zone: _TimeZone = "UTC"


class RecordLinks(_Model):
    hubspot_portal_id: _PortalId = None
    hubspot_app_url: _BaseUrl = "https://app.hubspot.com"
    salesforce_url: _BaseUrl = None


_CONNECTION_RETRIES = 1  # a connection refused before the request left, retried at once
_SEND_FIELDS = (
    "timeout",
    "rate_limit_retries",
    "longest_wait",
    "server_error_retries",
)


class Delivery(_Model):
    timeout: _Seconds = 10.0  # per request
    rate_limit_retries: _Count = 3  # 429s waited out in place (honouring Retry-After)
    longest_wait: _Seconds = 30.0  # a longer Retry-After is waited out between sweeps instead
    server_error_retries: _Count = 2  # 500 and 503, retried in place with a short back-off
    backoff: _Seconds = 30.0  # before a failed send is tried again; doubles per attempt
    backoff_cap: _Seconds = 3600.0
    hold: _Seconds = 300.0  # how long a claimed alert is this replica's to send
    per_sweep: _Positive = 100  # messages sent per sweep at most; the rest wait for the next

    def longest_send(self) -> float:
        """The longest one message can take, every retry in place included."""
        tries = 1 + self.rate_limit_retries + self.server_error_retries + _CONNECTION_RETRIES
        return tries * self.timeout + self.rate_limit_retries * (self.longest_wait + 1) + 10

    @field_validator("hold")
    @classmethod
    def _outlasts_a_send(cls, value: float, info: ValidationInfo) -> float:
        # A claim that expires while its message is still being sent lets another
        # replica send it too.
        known = {name: info.data[name] for name in _SEND_FIELDS if name in info.data}
        if len(known) == len(_SEND_FIELDS):
            longest = Delivery.model_construct(**known).longest_send()
            if value <= longest:
                raise _problem(
                    f"got {value:g}s, expected more than the longest send ({longest:g}s: "
                    "timeout per try, every retry, every wait)"
                )
        return value


class SlackSettings(_Model):
    webhook_url: _OptionalWebhook = None  # None ("${SLACK_WEBHOOK_URL:-}" unset): no alerts
    escalation: Escalation = Escalation()
    health: Health = Health()
    digest: Digest = Digest()
    links: RecordLinks = RecordLinks()
    delivery: Delivery = Delivery()


def load_slack_settings(path: Path, env: Mapping[str, str]) -> SlackSettings:
    """The file validated, ${VARS} taken from `env`; or ConfigError listing every problem."""
    document, problems = load_document(path)
    if document is not None:
        problems = _pasted_webhooks(document, document.data, ())
    try:
        settings = load_settings(path, SlackSettings, env)
    except ConfigError as error:
        raise ConfigError(_one_per_field([*problems, *error.problems])) from None
    if problems:
        raise ConfigError(problems)
    return settings


def _one_per_field(problems: list[Problem]) -> list[Problem]:
    """An unset variable also leaves its field empty: say the cause, not both."""
    unset = {(p.path, p.field) for p in problems if p.message.startswith("environment variable")}
    return [
        p
        for p in problems
        if (p.path, p.field) not in unset or p.message.startswith("environment variable")
    ]


def _pasted_webhooks(document: Document, value: Any, loc: tuple[str | int, ...]) -> list[Problem]:
    """Every webhook_url written out instead of referenced as ${VAR}."""
    found: list[Problem] = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = (*loc, key)
            if key == _WEBHOOK_KEY and isinstance(item, str) and item.strip():
                if _REFERENCE.fullmatch(item.strip()) is None:
                    found.append(
                        document.problem(
                            where, "a secret written into the file, expected ${ENV_VAR}"
                        )
                    )
            else:
                found += _pasted_webhooks(document, item, where)
    return found
