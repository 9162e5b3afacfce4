"""What config/jsonschema.py needs for connectors/hubspot.yaml, salesforce.yaml and slack.yaml:
the JSON shape of each custom type in their settings models.

It lives in the CLI because only the CLI may import both the connectors and the alerts,
whose modules hold those models; the generation itself is config/jsonschema.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from leadbridge.alerts import settings as slack
from leadbridge.config import sla
from leadbridge.config.jsonschema import (
    REFUSED,
    FileSchema,
    JsonSchema,
    Shape,
    duration,
    integer,
    optional,
    seconds,
    text,
)
from leadbridge.config.settings import _SECRET_KEYS
from leadbridge.connectors.hubspot import settings as hubspot
from leadbridge.connectors.salesforce import settings as salesforce

_SECONDS = seconds("500ms, 30s, 5m or 1h")
_SF_DURATION = duration("30s, 5m, 2h or 1d")
_CA_BUNDLE = optional(text("the path of a PEM file of CA certificates"))
_SECRET = text("a secret, as a ${ENV_VAR} reference")
_TIME_ZONE = text(
    "an IANA time zone such as Europe/Berlin or America/New_York",
    examples=["UTC", "Europe/Berlin", "America/New_York"],
)

HUBSPOT_SHAPES: Mapping[Callable[..., Any], Shape] = {
    hubspot._seconds: _SECONDS,
    hubspot._look_back: REFUSED,
    hubspot._url: text(
        "an http(s) URL such as https://api.hubapi.com", pattern=r"^\s*https?://[^\s/]+"
    ),
    hubspot._secret: _SECRET,
    hubspot._optional_secret: optional(_SECRET),
    hubspot._existing_file: _CA_BUNDLE,
    hubspot._property: text(
        "a HubSpot property's internal name (lowercase, digits, _)", pattern=r"^[a-z0-9_]+$"
    ),
    hubspot._fraction: {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 1,
        "description": "a fraction above 0 and at most 1, such as 0.5",
    },
    hubspot._positive_int: integer("a whole number above 0", 1),
    hubspot._optional_positive_int: optional(integer("a whole number above 0", 1)),
    hubspot._optional_count: optional(integer("a whole number, 0 or above", 0)),
}

_API_NAME = text(
    "a Salesforce API name such as Email or Leadbridge_Id__c",
    pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
)
_HTTPS_URL = text("an https:// URL such as https://login.salesforce.com", pattern=r"^https://.")

SALESFORCE_SHAPES: Mapping[Callable[..., Any], Shape] = {
    salesforce._name: _API_NAME,
    salesforce._duration: _SF_DURATION,
    salesforce._lag_tolerance: {
        **_SF_DURATION,
        "description": "a duration of at least 1m, such as 10m",
    },
    salesforce._look_back: REFUSED,
    salesforce._https_url: _HTTPS_URL,
    salesforce._optional_https_url: optional(
        text("an https:// URL such as https://login.salesforce.com", pattern=r"^(https://.)?")
    ),
    # An unquoted 59.0 is a number to YAML, and the loader takes it as "59.0".
    salesforce._version: {
        "anyOf": [text('an API version such as "59.0"', pattern=r"^\d{2}\.0$"), {"type": "number"}],
        "description": 'an API version such as "59.0"',
    },
    salesforce._optional_text: optional({"type": "string"}),
    salesforce._org_id: optional(
        text(
            "an organization id of 15 or 18 characters starting with 00D",
            pattern=r"^(00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?)?$",
        )
    ),
    salesforce._ca_bundle: _CA_BUNDLE,
    salesforce._private_key: optional(text("the path of a PEM private key file")),
    salesforce._optional_secret: optional(_SECRET),
    salesforce._text: text("text that is not empty", pattern=r"\S"),
}

_WEBHOOK = text("an incoming webhook's URL, as a ${ENV_VAR} reference")

SLACK_SHAPES: Mapping[Callable[..., Any], Shape] = {
    slack._webhook: _WEBHOOK,
    slack._optional_webhook: optional(_WEBHOOK),
    slack._mention: optional(
        text('a mention such as "<!subteam^S0123ABC>" (a user group), "<@U0123ABC>" or "@here"')
    ),
    slack._clock: text(
        "a time of day such as '09:00' (HH:MM, 24-hour, in quotes)",
        pattern=r"^\s*([01]?\d|2[0-3]):[0-5]\d\s*$",
    ),
    slack._url: optional(
        text(
            "the base URL only, such as https://acme.my.salesforce.com",
            pattern=r"^\s*(https?://[^\s/]+/?)?\s*$",
        )
    ),
    slack._portal: {
        "anyOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": r"^\s*\d*\s*$"},
            {"type": "null"},
        ],
        "description": "the HubSpot portal (Hub) id, digits only, such as 2424242",
    },
    slack._seconds: _SECONDS,
    slack._count: integer("a whole number, 0 or more", 0),
    slack._positive: integer("a whole number above 0", 1),
    sla.parse_zone: _TIME_ZONE,
}

_NOTE = " Any value may be a ${ENV_VAR} reference; secrets must be."

HUBSPOT = FileSchema(
    hubspot.HubSpotSettings,
    "hubspot.yaml",
    "The HubSpot connection: which portal, what leadbridge reads there, and how much of "
    "the portal's API budget it may spend." + _NOTE,
    HUBSPOT_SHAPES,
    secret_keys=_SECRET_KEYS,
)
SALESFORCE = FileSchema(
    salesforce.SalesforceSettings,
    "salesforce.yaml",
    "The Salesforce connection: which org, how leadbridge logs in, what it reads, and how "
    "much of the org's daily API allocation it may spend." + _NOTE,
    SALESFORCE_SHAPES,
    secret_keys=_SECRET_KEYS,
)
SLACK = FileSchema(
    slack.SlackSettings,
    "slack.yaml",
    "Slack: where leadbridge says a lead sits past its stage's SLA, escalates, posts a "
    "daily digest, and reports its health." + _NOTE,
    SLACK_SHAPES,
    # Every webhook_url is a secret too (whoever has it can post): alerts/settings.py.
    secret_keys=_SECRET_KEYS | {slack._WEBHOOK_KEY},
)

__all__ = ["HUBSPOT", "SALESFORCE", "SLACK", "JsonSchema"]
