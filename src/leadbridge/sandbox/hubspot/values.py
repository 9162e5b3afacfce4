"""Property values: HubSpot validates every write against the property's type and options."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from leadbridge.sandbox.clock import iso_millis
from leadbridge.sandbox.hubspot.errors import validation_failure
from leadbridge.sandbox.hubspot.properties import Catalog, PropertyDef

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_DIGITS = re.compile(r"^-?\d+$")


class InvalidValue(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def as_text(raw: Any) -> str:
    """HubSpot accepts JSON numbers and booleans for any property and stores their text."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float | str):
        return str(raw)
    raise InvalidValue("INVALID_TYPE", f"{raw!r} is not a valid property value")


def normalize(definition: PropertyDef, raw: Any) -> str:
    """The stored form of a value, or InvalidValue. An empty string clears the property."""
    value = as_text(raw)
    if value == "":
        return ""
    kind = definition.type
    if definition.name == "email":
        if not _EMAIL.match(value.strip()):
            raise InvalidValue("INVALID_EMAIL", f"Email address {value} is invalid")
        return value.strip().lower()
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            raise InvalidValue("INVALID_DECIMAL", f"{value} was not a valid number.") from None
        if not math.isfinite(number):
            raise InvalidValue("INVALID_DECIMAL", f"{value} was not a valid number.")
        return value.strip()
    if kind == "bool":
        if value.lower() not in ("true", "false"):
            raise InvalidValue("INVALID_BOOLEAN", f"{value} was not a valid boolean.")
        return value.lower()
    if kind == "datetime":
        moment = _instant(value)
        if moment is None:
            raise InvalidValue(
                "INVALID_DATE", f"{value} was not a valid long or ISO 8601 date-time."
            )
        return iso_millis(moment)
    if kind == "date":
        return _date(value)
    if kind == "enumeration":
        parts = value.split(";") if definition.field_type == "checkbox" else [value]
        allowed = definition.option_values
        for part in parts:
            if part not in allowed:
                listed = ", ".join(option.value for option in definition.options)
                raise InvalidValue(
                    "INVALID_OPTION", f"{part} was not one of the allowed options: [{listed}]"
                )
        return value
    return value


def _date(value: str) -> str:
    """Date properties hold midnight UTC; HubSpot refuses any other time of day."""
    if _DIGITS.match(value):
        moment = _instant(value)
        if moment is None:
            raise InvalidValue("INVALID_DATE", f"{value} was not a valid date.")
        if int(value) % 86_400_000:
            raise InvalidValue(
                "INVALID_DATE", f"{value} is not at midnight UTC; date properties hold dates only."
            )
        return moment.date().isoformat()
    try:
        return datetime.strptime(value, "%Y-%m-%d").date().isoformat()
    except ValueError:
        raise InvalidValue("INVALID_DATE", f"{value} was not a valid date.") from None


def to_millis(value: str) -> float | None:
    """Epoch milliseconds from either form HubSpot accepts: a millisecond string or ISO 8601."""
    text = value.strip()
    if _DIGITS.match(text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp() * 1000
    except (ValueError, OverflowError):
        return None


def _instant(value: str) -> datetime | None:
    """The UTC moment a stored value stands for, or None when no calendar holds it."""
    millis = to_millis(value)
    if millis is None:
        return None
    try:
        return datetime.fromtimestamp(millis / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def validate_write(catalog: Catalog, properties: Any, *, trusted: bool) -> dict[str, str]:
    """Normalized values for a write, or HubSpot's 400 naming every bad property.

    `trusted` writes come from HubSpot itself (forms, scoring, the sandbox's own API):
    they may set calculated properties the public API refuses.
    """
    if not isinstance(properties, dict):
        raise validation_failure(
            [_detail("properties", "INVALID_TYPE", "properties must be an object")]
        )
    clean: dict[str, str] = {}
    errors: list[dict[str, Any]] = []
    for name, raw in properties.items():
        definition = catalog.get(name)
        if definition is None:
            errors.append(
                _detail(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
            )
            continue
        if definition.read_only and not trusted:
            errors.append(
                _detail(
                    name,
                    "READ_ONLY_VALUE",
                    f"{name} is a read only property; its value cannot be set.",
                )
            )
            continue
        try:
            clean[name] = normalize(definition, raw)
        except InvalidValue as exc:
            errors.append(_detail(name, exc.code, exc.message))
    if errors:
        raise validation_failure(errors)
    return clean


def _detail(name: str, code: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
    }
