"""The shape of connectors/salesforce.yaml, and its loader with file:line errors.

Secrets (client_secret, password) are accepted only as ${ENV_VAR} references
(settings.load_settings refuses anything else) and are held as SecretStr, so
printing the settings never prints them. The JWT bearer flow's private key is
named by its file's path; the key is read once, here, into a SecretStr, so a
missing or unreadable key is a config error at its line and the redactor learns
the key's text (telemetry.logs.secrets_of finds it inside `PrivateKey`).

Object and field names end up inside SOQL, where names cannot be quoted, so
they are checked here against the identifier shape: a typo or an injection
attempt is a config error at its line, never a query.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

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
from leadbridge.config.values import duration, problem, refuse_look_back
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


def _lag_tolerance(value: Any) -> timedelta:
    span = _duration(value)
    if span < timedelta(minutes=1):
        # sobjects/X/deleted answers whole minutes: a deletion in the last, partial minute of
        # one check is read by the next only if that one starts at least a minute earlier.
        raise _fail(value, "at least 1m")
    return span


def _look_back(value: Any) -> None:
    raise refuse_look_back(value, _duration)


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


class PrivateKey(NamedTuple):
    """The connected app's private key: where it came from, and its PEM text.

    A tuple (not a model) so the YAML key stays one key, `auth.private_key_file`,
    while telemetry.logs.secrets_of, which walks tuples, still finds the SecretStr.
    """

    path: Path
    pem: SecretStr

    def __repr__(self) -> str:
        return f"PrivateKey(path={str(self.path)!r}, pem=SecretStr('**********'))"


def _private_key(value: Any) -> PrivateKey | None:
    text = _optional_text(value)
    if text is None:
        return None
    path = Path(text).expanduser()
    try:
        pem = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise _fail(
            value, "the path of a PEM private key file that exists and can be read"
        ) from None
    if "PRIVATE KEY-----" not in pem:
        # Never quote the file: it may be the key in another encoding.
        raise _fail(value, "a PEM private key (-----BEGIN PRIVATE KEY-----), not another file")
    return PrivateKey(path, SecretStr(pem))


def _optional_https_url(value: Any) -> str | None:
    return None if value is None or value == "" else _https_url(value)


def _text(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise _fail(value, "text that is not empty")


_ApiName = Annotated[str, PlainValidator(_name)]
_Duration = Annotated[timedelta, PlainValidator(_duration)]
_Text = Annotated[str, PlainValidator(_text)]
_LagTolerance = Annotated[timedelta, PlainValidator(_lag_tolerance)]
_Refused = Annotated[None, PlainValidator(_look_back)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Auth(_Strict):
    grant: Literal["client_credentials", "password", "jwt_bearer"]
    client_id: _Text
    client_secret: SecretStr | None = None  # client_credentials and password
    username: Annotated[str | None, PlainValidator(_optional_text)] = None
    password: SecretStr | None = None
    # jwt_bearer: the key whose certificate the connected app holds, and the assertion's
    # audience (None: login_url).
    private_key_file: Annotated[PrivateKey | None, PlainValidator(_private_key)] = None
    audience: Annotated[str | None, PlainValidator(_optional_https_url)] = None

    @model_validator(mode="after")
    def _each_grant_has_what_it_needs(self) -> Auth:
        if self.grant == "jwt_bearer":
            if self.username is None or self.private_key_file is None:
                raise problem(
                    "grant jwt_bearer needs username (the run-as user) and private_key_file "
                    "(${SALESFORCE_PRIVATE_KEY_FILE}, a PEM file)"
                )
            return self
        if self.client_secret is None:
            raise problem(f"grant {self.grant} needs client_secret (as ${{ENV_VAR}})")
        if self.grant == "password" and (self.username is None or self.password is None):
            raise problem("grant password needs username and password (as ${ENV_VAR})")
        return self


class ObjectSettings(_Strict):
    # Extras only: the fields the mappings use are read without being listed (fields_to_read).
    fields: tuple[_ApiName, ...] = ()
    deletions: bool = True  # also ask sobjects/X/deleted, every deletions_every


class Objects(_Strict):
    """The objects listed in the file: each object the mappings read is read whether listed
    or not; listing it adds fields or turns its deletions off."""

    Lead: ObjectSettings | None = None
    Contact: ObjectSettings | None = None
    Account: ObjectSettings | None = None
    Opportunity: ObjectSettings | None = None
    OpportunityContactRole: ObjectSettings | None = None

    def get(self, name: str) -> ObjectSettings | None:
        found = getattr(self, name, None) if name in type(self).model_fields else None
        return found if isinstance(found, ObjectSettings) else None


class Budget(_Strict):
    """Two limits that mean different things, because Sforce-Limit-Info counts the whole org.

    max_own_calls_per_day caps the calls leadbridge itself sends (its own count);
    min_org_calls_left pauses leadbridge while the org's remaining daily calls (from the
    header, every integration's spending) are below it, leaving them to the others.
    """

    # The org's daily allocation until Sforce-Limit-Info reports the real one.
    daily_limit: Annotated[int, Field(gt=0)] | None = None
    max_own_calls_per_day: Annotated[int, Field(gt=0)] | None = None
    min_org_calls_left: Annotated[int, Field(ge=0)] | None = None
    # Before max_own_calls_per_day: kept for old files, read as "leadbridge's own calls may be
    # this share of the org's daily allocation" (its own count, not the org's). Ignored when
    # max_own_calls_per_day is set.
    daily_share: Annotated[float, Field(gt=0, le=1)] = 1.0

    @model_validator(mode="after")
    def _one_own_cap(self) -> Budget:
        if "daily_share" in self.model_fields_set and self.max_own_calls_per_day is not None:
            raise problem(
                "daily_share and max_own_calls_per_day both cap leadbridge's own calls; "
                "keep max_own_calls_per_day (and min_org_calls_left for the org's headroom)"
            )
        return self


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
    objects: Objects = Objects()
    external_id_field: _ApiName = "Leadbridge_Id__c"
    poll_interval: _Duration = timedelta(minutes=1)
    # How late a record may become visible with an older SystemModstamp (a long transaction
    # commits it) and still be read: a poll's cursor trails its read by this much, and the
    # next poll starts there.
    lag_tolerance: _LagTolerance = timedelta(minutes=10)
    # How often to ask for deleted records (sobjects/X/deleted); 0: every poll.
    deletions_every: _Duration = timedelta(minutes=5)
    look_back: _Refused = None  # older files: refused, naming lag_tolerance's value
    timeout: _Duration = timedelta(minutes=2)
    budget: Budget = Budget()
    push: Push = Push()

    @field_validator("push")
    @classmethod
    def _org_to_check_against(cls, push: Push, info: ValidationInfo) -> Push:
        if push.outbound_messages and push.check_org_id and info.data.get("org_id") is None:
            raise _fail(push.check_org_id, "org_id set, to compare OrganizationId with")
        return push

    def for_mappings(self, funnel: Funnel) -> SalesforceSettings:
        """These settings reading what `funnel` uses (fields_to_read), the listed fields as
        extras; an object the mappings read but the file leaves out gets the defaults."""
        listed = {name: self.objects.get(name) for name in Objects.model_fields}
        objects = {
            name: ObjectSettings(
                fields=fields, deletions=(found := listed[name]) is None or found.deletions
            )
            for name, fields in fields_to_read(funnel, self).items()
        }
        return self.model_copy(update={"objects": Objects(**objects)})


# What the sync reads of an object whatever the mappings say: the email it matches people
# by, and the Account a deal is found by (sync.resolve). Id, SystemModstamp and a Lead's
# conversion fields are the connector's own (reads.fields_for); a Lead's external id is
# added from `external_id_field`.
_SYNC_NEEDS = {"Lead": ("Email",), "Contact": ("Email",), "Opportunity": ("AccountId",)}
# The fields stages.yaml reads or writes a stage in (salesforce.status, opportunity_stages).
_LEAD_STATUS, _DEAL_STAGE = ("Lead", "Status"), ("Opportunity", "StageName")


def fields_to_read(funnel: Funnel, settings: SalesforceSettings) -> dict[str, tuple[str, ...]]:
    """Per object read (every object the mappings map a field on, and any the file lists),
    every field a sync reads of it, each once, derived from the mappings so that a rule on a
    field nobody listed still fires: what the sync needs itself, every field fields.yaml maps
    there (written ones too: a write is planned against the value there), the stage's
    fields, then the file's `fields:` as extras."""
    mapped: dict[str, list[str]] = {}
    for fmap in funnel.fields.values():
        for obj, name in fmap.salesforce.items():
            mapped.setdefault(obj, []).append(name)
    if any(stage.salesforce_status for stage in funnel.stages):
        mapped.setdefault(_LEAD_STATUS[0], []).append(_LEAD_STATUS[1])
    if any(stage.opportunity_stages for stage in funnel.stages):
        mapped.setdefault(_DEAL_STAGE[0], []).append(_DEAL_STAGE[1])
    found: dict[str, tuple[str, ...]] = {}
    for obj in Objects.model_fields:
        listed = settings.objects.get(obj)
        if obj not in mapped and listed is None:
            continue
        own = (settings.external_id_field,) if obj == "Lead" else ()
        extras = listed.fields if listed is not None else ()
        found[obj] = _once((*_SYNC_NEEDS.get(obj, ()), *mapped.get(obj, ()), *own, *extras))
    return found


def _once(names: tuple[str, ...]) -> tuple[str, ...]:
    """Each field once; API names are case-insensitive (SOQL refuses a field named twice)."""
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    return tuple(seen.values())


def load_salesforce_settings(
    path: Path, env: Mapping[str, str] | None = None
) -> SalesforceSettings:
    """connectors/salesforce.yaml validated; ConfigError lists every problem at file:line."""
    return load_settings(path, SalesforceSettings, os.environ if env is None else env)
