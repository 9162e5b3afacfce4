"""connectors/hubspot.yaml as a pydantic model: where the portal is, what to read, what to spend.

Secrets (the private-app token, the webhook app secret) arrive only through
`${ENV_VAR}` references (settings.py refuses anything else) and are held as
SecretStr, so printing the settings or logging them never shows a token.
Every value an operator can get wrong fails with "got X, expected Y" at the
line it was written on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from leadbridge.config import Funnel
from leadbridge.config.settings import load_settings
from leadbridge.config.values import duration, refuse_look_back
from leadbridge.config.values import invalid as _fail
from leadbridge.config.values import problem as _problem

_PROPERTY = re.compile(r"^[a-z0-9_]+$")
# What every read must carry, whatever the mappings say: the email people are matched by,
# the cursor's stamp, and the merge trail that turns a merged contact into a Removal.
_REQUIRED_PROPERTIES = ("email", "lastmodifieddate", "hs_merged_object_ids")
# The properties stages.yaml writes a stage to (hubspot.lifecyclestage, hubspot.lead_status).
_LIFECYCLE, _LEAD_STATUS = "lifecyclestage", "hs_lead_status"


def _seconds(value: Any) -> float:
    """Seconds: a number (as the connector's own callers pass), or a duration such as 30s."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return duration(value, "500ms, 30s, 5m or 1h").total_seconds()


def _look_back(value: Any) -> None:
    raise refuse_look_back(value, lambda given: timedelta(seconds=_seconds(given)))


def _url(value: Any) -> str:
    if isinstance(value, str) and re.match(r"^https?://[^\s/]+", value.strip()):
        return value.strip().rstrip("/")
    raise _fail(value, "an http(s) URL such as https://api.hubapi.com")


def _secret(value: Any) -> SecretStr:
    # The reference was expanded already; an empty result is a variable set to "".
    if isinstance(value, str) and value.strip():
        return SecretStr(value.strip())
    raise _problem("empty, expected the variable named here to hold the secret")


def _optional_secret(value: Any) -> SecretStr | None:
    return SecretStr(value.strip()) if isinstance(value, str) and value.strip() else None


def _existing_file(value: Any) -> Path | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # "${HUBSPOT_CA_BUNDLE:-}" unset: the system's trust store
    path = Path(str(value).strip())
    if not path.is_file():
        raise _fail(str(value), "the path of a PEM file of CA certificates that exists")
    return path


def _property(value: Any) -> str:
    if isinstance(value, str) and _PROPERTY.match(value):
        return value
    raise _fail(value, "a HubSpot property's internal name (lowercase, digits, _)")


def _fraction(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1:
        return float(value)
    raise _fail(value, "a fraction above 0 and at most 1, such as 0.5")


def _positive_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise _fail(value, "a whole number above 0")


def _optional_positive_int(value: Any) -> int | None:
    return None if value is None else _positive_int(value)


def _optional_count(value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise _fail(value, "a whole number, 0 or above")


_Seconds = Annotated[float, PlainValidator(_seconds)]
_Url = Annotated[str, PlainValidator(_url)]
_Secret = Annotated[SecretStr, PlainValidator(_secret)]
_OptionalSecret = Annotated[SecretStr | None, PlainValidator(_optional_secret)]
_CaBundle = Annotated[Path | None, PlainValidator(_existing_file)]
_Property = Annotated[str, PlainValidator(_property)]
_Fraction = Annotated[float, PlainValidator(_fraction)]
_PositiveInt = Annotated[int, PlainValidator(_positive_int)]
_Limit = Annotated[int | None, PlainValidator(_optional_positive_int)]
_Floor = Annotated[int | None, PlainValidator(_optional_count)]
_Refused = Annotated[None, PlainValidator(_look_back)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Budget(_Model):
    """HubSpot's limits for the portal, and leadbridge's part of them.

    The daily limits mean what Salesforce's mean, because X-HubSpot-RateLimit-Daily(-Remaining)
    counts every app of the portal: max_own_calls_per_day caps the calls leadbridge itself
    sends (its own count); min_portal_calls_left pauses leadbridge while the portal's remaining
    daily calls (from the headers) are below it, leaving them to the other apps.
    """

    ten_second_limit: _Limit = 100  # the portal's rolling 10-second limit (None: unpaced)
    headroom: _Fraction = 0.95  # of the 10-second limit: 5% stays free for the portal's other apps
    daily_limit: _Limit = 250_000  # replaced by X-HubSpot-RateLimit-Daily once HubSpot answers
    max_own_calls_per_day: _Limit = None
    min_portal_calls_left: _Floor = None
    # Before max_own_calls_per_day: kept for old files, read as "leadbridge's own calls may be
    # this share of the portal's daily allocation" (its own count, not the portal's). Ignored
    # when max_own_calls_per_day is set.
    daily_share: _Fraction = 0.5
    search_per_second: _Limit = 5  # search's own limit; its answers carry no headers

    @model_validator(mode="after")
    def _one_own_cap(self) -> Budget:
        if "daily_share" in self.model_fields_set and self.max_own_calls_per_day is not None:
            raise _problem(
                "daily_share and max_own_calls_per_day both cap leadbridge's own calls; "
                "keep max_own_calls_per_day (and min_portal_calls_left for the portal's headroom)"
            )
        return self


class Retry(_Model):
    attempts: _PositiveInt = 8
    base: _Seconds = 0.5  # the first back-off; each retry doubles it, with full jitter
    cap: _Seconds = 30.0


class Reconcile(_Model):
    """How often to read, past search, what changed since the last time (sync.reconcile)."""

    every: _Seconds = 24 * 3600.0  # 0: never


class Push(_Model):
    enabled: bool = False
    app_secret: _OptionalSecret = Field(default=None, validate_default=True)
    signature_versions: tuple[Literal["v1", "v2", "v3"], ...] = ("v3",)
    public_url: _Url | None = Field(default=None, validate_default=True)  # as HubSpot signs it

    # Field validators, not a model validator, so the problem points at the field's own line.
    @field_validator("app_secret")
    @classmethod
    def _secret_when_enabled(cls, value: SecretStr | None, info: ValidationInfo) -> Any:
        if value is None and info.data.get("enabled"):
            raise _problem("empty while push is enabled, expected ${HUBSPOT_APP_SECRET} to hold it")
        return value

    @field_validator("signature_versions")
    @classmethod
    def _some_version(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise _problem("no signature_versions, expected at least one of v1, v2, v3")
        return value

    @field_validator("public_url")
    @classmethod
    def _url_when_enabled(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("enabled"):
            raise _problem("missing while push is enabled, expected the URL HubSpot calls")
        return value


class HubSpotSettings(_Model):
    base_url: _Url = "https://api.hubapi.com"
    token: _Secret
    ca_bundle: _CaBundle = None
    # Extras only: what the mappings use is read without being listed (properties_to_read).
    properties: tuple[_Property, ...] = ()
    poll_interval: _Seconds = 60.0
    # How late a change may become findable in search and still be read: a poll's cursor
    # trails its read by this much, and the next poll starts there. Later ones: reconcile.
    lag_tolerance: _Seconds = 60.0
    look_back: _Refused = None  # older files: refused, naming lag_tolerance's value
    timeout: _Seconds = 30.0  # per request; the client sets none of its own
    budget: Budget = Budget()
    retry: Retry = Retry()
    reconcile: Reconcile = Reconcile()
    push: Push = Push()

    @property
    def read_properties(self) -> tuple[str, ...]:
        """The listed properties plus the ones the connector itself needs, each once (after
        `for_mappings`, everything a sync reads)."""
        return tuple(dict.fromkeys((*_REQUIRED_PROPERTIES, *self.properties)))

    def for_mappings(self, funnel: Funnel) -> HubSpotSettings:
        """These settings reading what `funnel` uses, the listed properties as extras."""
        return self.model_copy(update={"properties": properties_to_read(funnel, self.properties)})


def properties_to_read(funnel: Funnel, extras: Iterable[str] = ()) -> tuple[str, ...]:
    """Every contact property a sync reads, each once, derived from the mappings so that a
    rule on a property nobody listed still fires: what the connector needs itself, every
    property fields.yaml maps (written ones too: a write is planned against the value
    there), the stage's properties (stages.yaml), leadbridge's own, then `extras` (the
    connection file's `properties:`, for anything else worth having in the snapshots)."""
    mapped = [fmap.hubspot for fmap in funnel.fields.values() if fmap.hubspot]
    if any(stage.hubspot_lifecycle or stage.hubspot_lifecycles for stage in funnel.stages):
        mapped.append(_LIFECYCLE)
    if any(stage.hubspot_lead_status for stage in funnel.stages):
        mapped.append(_LEAD_STATUS)
    own = funnel.own_hubspot_properties
    return tuple(dict.fromkeys((*_REQUIRED_PROPERTIES, *mapped, *own, *extras)))


def load_hubspot_settings(path: Path, env: Mapping[str, str]) -> HubSpotSettings:
    """The connection file validated, variables taken from `env`; or ConfigError (file:line)."""
    return load_settings(path, HubSpotSettings, env)
