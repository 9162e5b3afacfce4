"""The shape of connectors/salesforce.yaml, and its loader with file:line errors.

Secrets (client_secret, password) are accepted only as ${ENV_VAR} references
(settings.load_settings refuses anything else) and are held as SecretStr, so
printing the settings never prints them. Object and field names end up inside
SOQL, where names cannot be quoted, so they are checked here against the
identifier shape: a typo or an injection attempt is a config error at its
line, never a query.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from leadbridge.config.settings import load_settings
from leadbridge.config.values import duration, problem
from leadbridge.config.values import invalid as _fail

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_VERSION = re.compile(r"^\d{2}\.0$")
_ORG_ID = re.compile(r"^00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")


def _name(value: Any) -> str:
    if isinstance(value, str) and _NAME.match(value):
        return value
    raise _fail(value, "a Salesforce API name such as Email or Leadbridge_Id__c")


def _duration(value: Any) -> timedelta:
    return duration(value, "30s, 5m, 2h or 1d")


def _look_back(value: Any) -> timedelta:
    duration = _duration(value)
    if duration < timedelta(minutes=1):
        # sobjects/X/deleted works in whole minutes; a shorter look-back could skip one.
        raise _fail(value, "at least 1m")
    return duration


def _https_url(value: Any) -> str:
    if isinstance(value, str) and value.startswith("https://") and len(value) > len("https://"):
        return value.rstrip("/")
    # The token request carries the client secret: never over plain HTTP.
    raise _fail(value, "an https:// URL such as https://login.salesforce.com")


def _version(value: Any) -> str:
    text = str(value) if isinstance(value, int | float | str) else ""
    if _VERSION.match(text):
        return text
    raise _fail(value, 'an API version such as "59.0"')


def _optional_text(value: Any) -> str | None:
    """`${VAR:-}` expands to an empty string: that means not set."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    raise _fail(value, "text")


def _org_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and _ORG_ID.match(value):
        return value
    raise _fail(value, "an organization id of 15 or 18 characters starting with 00D")


def _ca_bundle(value: Any) -> Path | None:
    text = _optional_text(value)
    if text is None:
        return None
    path = Path(text).expanduser()
    if not path.is_file():
        raise _fail(value, "the path of a PEM file of CA certificates that exists")
    return path


def _some(names: tuple[str, ...]) -> tuple[str, ...]:
    # An AfterValidator, so a list of bad names is not also reported as empty.
    if not names:
        raise _fail(list(names), "at least one field")
    return names


def _text(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise _fail(value, "text that is not empty")


_ApiName = Annotated[str, PlainValidator(_name)]
_Duration = Annotated[timedelta, PlainValidator(_duration)]
_Text = Annotated[str, PlainValidator(_text)]
_LookBack = Annotated[timedelta, PlainValidator(_look_back)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Auth(_Strict):
    grant: Literal["client_credentials", "password"]
    client_id: _Text
    client_secret: SecretStr
    username: Annotated[str | None, PlainValidator(_optional_text)] = None
    password: SecretStr | None = None

    @model_validator(mode="after")
    def _password_grant_needs_a_user(self) -> Auth:
        if self.grant == "password" and (self.username is None or self.password is None):
            raise problem("grant password needs username and password (as ${ENV_VAR})")
        return self


class ObjectSettings(_Strict):
    fields: Annotated[tuple[_ApiName, ...], AfterValidator(_some)]
    deletions: bool = True  # also ask sobjects/X/deleted each poll (one more call)


class Objects(_Strict):
    """The objects leadbridge reads; any left out is not read."""

    Lead: ObjectSettings | None = None
    Contact: ObjectSettings | None = None
    Account: ObjectSettings | None = None
    Opportunity: ObjectSettings | None = None
    OpportunityContactRole: ObjectSettings | None = None

    def get(self, name: str) -> ObjectSettings | None:
        found = getattr(self, name, None) if name in type(self).model_fields else None
        return found if isinstance(found, ObjectSettings) else None


class Budget(_Strict):
    # The org's daily allocation until Sforce-Limit-Info reports the real one.
    daily_limit: Annotated[int, Field(gt=0)] | None = None
    daily_share: Annotated[float, Field(gt=0, le=1)] = 1.0


def _optional_secret(value: Any) -> SecretStr | None:
    return SecretStr(value.strip()) if isinstance(value, str) and value.strip() else None


class Push(_Strict):
    outbound_messages: bool = False
    check_org_id: bool = True  # refuse messages whose OrganizationId is not org_id
    # Outbound Messages carry no signature: the endpoint URL configured in Salesforce
    # carries this shared secret (?token=...), and a message without it is refused.
    token: Annotated[SecretStr | None, PlainValidator(_optional_secret)] = None

    @model_validator(mode="after")
    def _token_when_on(self) -> Push:
        if self.outbound_messages and self.token is None:
            raise _fail(
                self.token,
                "a token (SALESFORCE_OUTBOUND_TOKEN) that the Outbound Message URL carries "
                "as ?token=..., since the messages are not signed",
            )
        return self


class SalesforceSettings(_Strict):
    login_url: Annotated[str, PlainValidator(_https_url)]
    auth: Auth
    org_id: Annotated[str | None, PlainValidator(_org_id)] = None
    api_version: Annotated[str, PlainValidator(_version)] = "59.0"
    ca_bundle: Annotated[Path | None, PlainValidator(_ca_bundle)] = None
    objects: Objects
    external_id_field: _ApiName = "Leadbridge_Id__c"
    poll_interval: _Duration = timedelta(minutes=1)
    look_back: _LookBack = timedelta(minutes=5)
    timeout: _Duration = timedelta(minutes=2)
    budget: Budget = Budget()
    push: Push = Push()

    @field_validator("push")
    @classmethod
    def _org_to_check_against(cls, push: Push, info: ValidationInfo) -> Push:
        if push.outbound_messages and push.check_org_id and info.data.get("org_id") is None:
            raise _fail(push.check_org_id, "org_id set, to compare OrganizationId with")
        return push


def load_salesforce_settings(
    path: Path, env: Mapping[str, str] | None = None
) -> SalesforceSettings:
    """connectors/salesforce.yaml validated; ConfigError lists every problem at file:line."""
    return load_settings(path, SalesforceSettings, os.environ if env is None else env)
