"""What the org checks on a write before it touches a record: field names, access, types, picklists.

Checks that need other records (references, uniqueness, required after merge)
live in the store; this module only looks at the body and the schema.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from leadbridge.sandbox.clock import sf_datetime
from leadbridge.sandbox.salesforce import ids
from leadbridge.sandbox.salesforce.errors import SfError, json_parser_error
from leadbridge.sandbox.salesforce.schema import (
    CONVERTED_STATUSES,
    NUMBER_TYPES,
    TEXT_TYPES,
    Field,
    SObject,
)

# Loose on purpose: Salesforce accepts most addresses a person would type and refuses the rest.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")

Exists = Callable[[str, str], bool]  # (sObject name, 18-char id) -> a live record?


def prepare_write(
    obj: SObject, body: Mapping[str, Any], *, creating: bool, exists: Exists
) -> dict[str, Any]:
    """The body's values under canonical field names, checked and converted to stored form."""
    chosen: dict[Field, Any] = {}
    for name, raw in body.items():
        if name == "attributes":
            continue
        found = obj.field(name)
        if found is None:
            raise SfError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")
        chosen[found] = raw
    locked = [f.name for f in chosen if not (f.createable if creating else f.updateable)]
    if locked:
        raise SfError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(locked)}. Please check the security "
            "settings of this field and verify that it is read/write for your profile or "
            "permission set.",
            fields=locked,
        )
    values = {f.name: coerce(obj, f, raw) for f, raw in chosen.items()}
    for f in chosen:
        if f.type == "reference" and values[f.name] is not None:
            values[f.name] = _check_reference(f, values[f.name], exists)
    return values


def missing_required(obj: SObject, record: Mapping[str, Any], names: list[str]) -> None:
    """REQUIRED_FIELD_MISSING for any of `names` that is required and empty in `record`."""
    missing = [n for n in names if _must_have(obj.field(n)) and record.get(n) in (None, "")]
    if missing:
        raise SfError(
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            fields=missing,
        )


def _must_have(f: Field | None) -> bool:
    return f is not None and not f.nillable and f.type != "boolean"


def coerce(obj: SObject, f: Field, raw: Any) -> Any:
    if raw is None:
        return False if f.type == "boolean" else None
    if isinstance(raw, dict | list):
        raise json_parser_error(
            f"Cannot deserialize instance of {f.type} from {_token(raw)} value or request may be "
            "missing a required field"
        )
    if f.type in TEXT_TYPES:
        return _text(obj, f, raw)
    if f.type == "boolean":
        return _boolean(f, raw)
    if f.type in NUMBER_TYPES:
        return _number(f, raw)
    if f.type == "date":
        return _date(f, raw)
    if f.type == "datetime":
        return _datetime(f, raw)
    if f.type in ("reference", "id"):
        if not isinstance(raw, str):
            raise _bad_type(f, raw)
        return raw or None
    raise _bad_type(f, raw)


def _text(obj: SObject, f: Field, raw: Any) -> str | None:
    if isinstance(raw, bool):
        raw = "true" if raw else "false"
    text = raw if isinstance(raw, str) else str(raw)
    if text == "":
        return None  # Salesforce stores an empty string as null
    if len(text) > f.length:
        raise SfError(
            "STRING_TOO_LONG",
            f"{f.label}: data value too large: {text} (max length={f.length})",
            fields=[f.name],
        )
    if f.type == "email" and not _EMAIL.match(text):
        raise SfError(
            "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {text}", fields=[f.name]
        )
    if f.type == "picklist" and f.restricted:
        # A converted status is set by conversion only, never by a write.
        settable = text in f.picklist and not (
            obj.name == "Lead" and f.name == "Status" and text in CONVERTED_STATUSES
        )
        if not settable:
            raise SfError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{f.label}: bad value for restricted picklist field: {text}",
                fields=[f.name],
            )
    return text


def _boolean(f: Field, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise _bad_type(f, raw)


# What an int field holds (Salesforce's int is 32-bit); a double is finite.
INT_RANGE = (-(2**31), 2**31 - 1)


def _number(f: Field, raw: Any) -> int | float:
    value: float
    if isinstance(raw, bool):
        raise _bad_type(f, raw)
    if isinstance(raw, int | float):
        value = raw
    else:
        try:
            value = float(str(raw))
        except ValueError:
            raise _bad_type(f, raw) from None
    if not math.isfinite(value):
        raise _bad_type(f, raw)
    if f.type == "int":
        if value != int(value) or not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise _bad_type(f, raw)
        return int(value)
    return float(value)


def _date(f: Field, raw: Any) -> str:
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw[:10]).isoformat()
        except ValueError:
            pass
    raise _bad_type(f, raw)


def _datetime(f: Field, raw: Any) -> str:
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            return sf_datetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    raise _bad_type(f, raw)


def _check_reference(f: Field, raw: str, exists: Exists) -> str:
    """The 18-character form of a reference that points at a live record of the right kind."""
    canonical = ids.normalize(raw)
    targets = {ids.KEY_PREFIXES[name]: name for name in f.reference_to}
    if canonical is None or canonical[:3] not in targets:
        raise SfError(
            "MALFORMED_ID", f"{f.label}: id value of incorrect type: {raw}", fields=[f.name]
        )
    if not exists(targets[canonical[:3]], canonical):
        raise SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[])
    return canonical


def _bad_type(f: Field, raw: Any) -> SfError:
    kind = {"int": "int", "boolean": "boolean", "date": "Date", "datetime": "DateTime"}
    return json_parser_error(
        f"Cannot deserialize instance of {kind.get(f.type, f.type)} from {_token(raw)} value "
        f"{raw} or request may be missing a required field"
    )


def _token(raw: Any) -> str:
    if isinstance(raw, bool):
        return "VALUE_TRUE" if raw else "VALUE_FALSE"
    if isinstance(raw, int):
        return "VALUE_NUMBER_INT"
    if isinstance(raw, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(raw, dict):
        return "START_OBJECT"
    if isinstance(raw, list):
        return "START_ARRAY"
    return "VALUE_STRING"
