"""Contact property definitions: the HubSpot defaults leadbridge needs, custom ones, their types."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from leadbridge.sandbox.hubspot.errors import ApiError, bad_request

TYPES = {"string", "number", "date", "datetime", "enumeration", "bool"}
FIELD_TYPES = {
    "textarea",
    "text",
    "date",
    "file",
    "number",
    "select",
    "radio",
    "checkbox",
    "booleancheckbox",
    "calculation_equation",
    "phonenumber",
}
# HubSpot stamps its own definitions with the portal's birth; any fixed moment will do.
DEFINED_AT = "2019-08-06T02:43:01.569Z"

LIFECYCLE_STAGES = (
    ("Subscriber", "subscriber"),
    ("Lead", "lead"),
    ("Marketing Qualified Lead", "marketingqualifiedlead"),
    ("Sales Qualified Lead", "salesqualifiedlead"),
    ("Opportunity", "opportunity"),
    ("Customer", "customer"),
    ("Evangelist", "evangelist"),
    ("Other", "other"),
)
LEAD_STATUSES = (
    ("New", "NEW"),
    ("Open", "OPEN"),
    ("In Progress", "IN_PROGRESS"),
    ("Open Deal", "OPEN_DEAL"),
    ("Unqualified", "UNQUALIFIED"),
    ("Attempted to Contact", "ATTEMPTED_TO_CONTACT"),
    ("Connected", "CONNECTED"),
    ("Bad Timing", "BAD_TIMING"),
)
ANALYTICS_SOURCES = (
    ("Organic Search", "ORGANIC_SEARCH"),
    ("Paid Search", "PAID_SEARCH"),
    ("Email Marketing", "EMAIL_MARKETING"),
    ("Organic Social", "SOCIAL_MEDIA"),
    ("Referrals", "REFERRALS"),
    ("Other Campaigns", "OTHER_CAMPAIGNS"),
    ("Direct Traffic", "DIRECT_TRAFFIC"),
    ("Offline Sources", "OFFLINE"),
    ("Paid Social", "PAID_SOCIAL"),
)
EMPLOYEE_BANDS = ("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+")


@dataclass(frozen=True)
class Option:
    label: str
    value: str
    display_order: int
    hidden: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "displayOrder": self.display_order,
            "hidden": self.hidden,
        }


@dataclass(frozen=True)
class PropertyDef:
    name: str
    label: str
    type: str
    field_type: str
    group_name: str = "contactinformation"
    description: str = ""
    options: tuple[Option, ...] = ()
    read_only: bool = False  # calculated or system-owned: refused on API writes
    hubspot_defined: bool = True
    has_unique_value: bool = False
    created_at: str = DEFINED_AT
    option_values: frozenset[str] = field(default=frozenset(), compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": [option.to_json() for option in self.options],
            "displayOrder": -1,
            "calculated": self.read_only and self.hubspot_defined,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": False,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "formField": not self.read_only,
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "archived": False,
        }


def make(name: str, label: str, type_: str, field_type: str, **extra: Any) -> PropertyDef:
    options = tuple(extra.pop("options", ()))
    return PropertyDef(
        name, label, type_, field_type, options=options, option_values=_values(options), **extra
    )


def _values(options: tuple[Option, ...]) -> frozenset[str]:
    return frozenset(option.value for option in options)


def _options(pairs: tuple[tuple[str, str], ...]) -> tuple[Option, ...]:
    return tuple(Option(label, value, order) for order, (label, value) in enumerate(pairs))


def default_properties() -> list[PropertyDef]:
    text, info, conv = "text", "contactinformation", "conversioninformation"
    return [
        make("email", "Email", "string", text, has_unique_value=True),
        make("firstname", "First Name", "string", text),
        make("lastname", "Last Name", "string", text),
        make("company", "Company Name", "string", text),
        make("jobtitle", "Job Title", "string", text),
        make("phone", "Phone Number", "string", "phonenumber"),
        make("industry", "Industry", "string", text),
        make("country", "Country/Region", "string", text),
        make(
            "numemployees",
            "Number of Employees",
            "enumeration",
            "select",
            options=_options(tuple((band, band) for band in EMPLOYEE_BANDS)),
        ),
        make(
            "lifecyclestage",
            "Lifecycle Stage",
            "enumeration",
            "radio",
            options=_options(LIFECYCLE_STAGES),
        ),
        make(
            "hs_lead_status", "Lead Status", "enumeration", "radio", options=_options(LEAD_STATUSES)
        ),
        make("hubspotscore", "HubSpot Score", "number", "number", read_only=True),
        make(
            "hs_analytics_source",
            "Original Source",
            "enumeration",
            "select",
            group_name="analyticsinformation",
            options=_options(ANALYTICS_SOURCES),
            read_only=True,
        ),
        make(
            "recent_conversion_event_name",
            "Recent Conversion",
            "string",
            text,
            group_name=conv,
            read_only=True,
        ),
        make(
            "recent_conversion_date",
            "Recent Conversion Date",
            "datetime",
            "date",
            group_name=conv,
            read_only=True,
        ),
        make(
            "first_conversion_event_name",
            "First Conversion",
            "string",
            text,
            group_name=conv,
            read_only=True,
        ),
        make(
            "first_conversion_date",
            "First Conversion Date",
            "datetime",
            "date",
            group_name=conv,
            read_only=True,
        ),
        make(
            "num_conversion_events",
            "Number of Form Submissions",
            "number",
            "number",
            group_name=conv,
            read_only=True,
        ),
        make(
            "hs_merged_object_ids", "Merged Contact IDs", "enumeration", "checkbox", read_only=True
        ),
        make(
            "hs_additional_emails",
            "Additional email addresses",
            "enumeration",
            "checkbox",
            read_only=True,
        ),
        make("createdate", "Create Date", "datetime", "date", group_name=info, read_only=True),
        make(
            "lastmodifieddate",
            "Last Modified Date",
            "datetime",
            "date",
            group_name=info,
            read_only=True,
        ),
        make(
            "hs_object_id", "Record ID", "number", "number", read_only=True, has_unique_value=True
        ),
    ]


class Catalog:
    """The portal's contact properties. Definitions are immutable values; the dict is guarded."""

    def __init__(
        self,
        missing_options: Mapping[str, Iterable[str]] | None = None,
        custom: Mapping[str, str] | None = None,
    ) -> None:
        """`missing_options` (property -> option values) plays a portal whose admin removed
        those options (e.g. {"hs_lead_status": ["BAD_TIMING"]}): writing one is a 400.
        `custom` (name -> label): custom text properties the portal already has."""
        self._lock = threading.Lock()
        self._defs = {definition.name: definition for definition in default_properties()}
        for name, label in (custom or {}).items():
            self._defs[name] = make(name, label, "string", "text", hubspot_defined=False)
        for name, values in (missing_options or {}).items():
            self._defs[name] = _without(self._defs.get(name), name, set(values))
        self._stage_rank = _ranks(self._defs["lifecyclestage"])
        self._next_stage = 1_021_365_847  # custom stages get numeric internal names

    def get(self, name: str) -> PropertyDef | None:
        return self._defs.get(name)

    def all(self) -> list[PropertyDef]:
        with self._lock:
            return list(self._defs.values())

    def stage_rank(self, value: str) -> int:
        """A lifecycle stage's place in the funnel; unknown stages sort last, like custom ones."""
        return self._stage_rank.get(value, len(self._stage_rank))

    def add_lifecycle_stage(self, label: str, *, before: str | None = None) -> str:
        """A portal's own lifecycle stage, placed before `before` (else last); answers its
        numeric internal name. It takes part in the forward-only rule at that place."""
        with self._lock:
            stage = self._defs["lifecyclestage"]
            values = [option.value for option in stage.options]
            if before is not None and before not in values:
                raise ValueError(f"no lifecycle stage {before!r}; expected one of {values}")
            value = str(self._next_stage)
            self._next_stage += 1
            at = values.index(before) if before is not None else len(values)
            pairs = [(o.label, o.value) for o in stage.options]
            pairs.insert(at, (label, value))
            options = _options(tuple(pairs))
            updated = replace(stage, options=options, option_values=_values(options))
            self._defs = {**self._defs, "lifecyclestage": updated}
            self._stage_rank = _ranks(updated)
        return value

    def update(self, name: str, spec: Any) -> PropertyDef:
        """PATCH of a property (HubSpot's PropertyUpdate): label, description, group and the
        options (which replace the list). Calculated and read-only properties refuse it."""
        if not isinstance(spec, dict):
            raise bad_request("Invalid input JSON: expected an object")
        with self._lock:
            current = self._defs.get(name)
            if current is None:
                raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
            if current.read_only:
                raise bad_request(f"Property {name} is read-only and cannot be updated")
            changes: dict[str, Any] = {}
            for key, attr in (("label", "label"), ("description", "description")):
                if key in spec:
                    changes[attr] = str(spec[key])
            if "groupName" in spec:
                changes["group_name"] = str(spec["groupName"])
            if "options" in spec:
                if current.type not in ("enumeration", "bool"):
                    raise bad_request(f"Property {name} of type {current.type} takes no options")
                options = _parse_options(spec["options"], current.type)
                changes.update(options=options, option_values=_values(options))
            updated = replace(current, **changes)
            if name == "lifecyclestage" and "options" in changes:
                self._stage_rank = _ranks(updated)
            self._defs = {**self._defs, name: updated}
        return updated

    def create(self, spec: dict[str, Any], created_at: str) -> PropertyDef:
        """A custom property from a POST body (HubSpot's PropertyCreate)."""
        if not isinstance(spec, dict):
            raise bad_request("Invalid input JSON: expected an object")
        missing = [
            key for key in ("name", "label", "type", "fieldType", "groupName") if not spec.get(key)
        ]
        if missing:
            raise bad_request(f"Missing required fields: {', '.join(missing)}")
        name, type_, field_type = str(spec["name"]), str(spec["type"]), str(spec["fieldType"])
        if type_ not in TYPES:
            raise bad_request(f"Invalid property type {type_!r}; expected one of {sorted(TYPES)}")
        if field_type not in FIELD_TYPES:
            raise bad_request(f"Invalid fieldType {field_type!r}")
        if not name.replace("_", "").isalnum() or name != name.lower() or name[0].isdigit():
            raise bad_request(f"Property name {name!r} must be lowercase letters, digits and _")
        options = _parse_options(spec.get("options") or [], type_)
        definition = make(
            name,
            str(spec["label"]),
            type_,
            field_type,
            group_name=str(spec["groupName"]),
            description=str(spec.get("description") or ""),
            options=options,
            hubspot_defined=False,
            has_unique_value=bool(spec.get("hasUniqueValue", False)),
            created_at=created_at,
        )
        with self._lock:
            if name in self._defs:
                raise ApiError(
                    409, "OBJECT_ALREADY_EXISTS", f"A property named '{name}' already exists."
                )
            self._defs = {**self._defs, name: definition}
        return definition


def _without(definition: PropertyDef | None, name: str, values: set[str]) -> PropertyDef:
    if definition is None or definition.type != "enumeration":
        raise ValueError(f"no enumeration property {name!r} in the portal")
    unknown = values - definition.option_values
    if unknown:
        raise ValueError(f"{name} has no options {sorted(unknown)}")
    kept = tuple(o for o in definition.options if o.value not in values)
    options = tuple(replace(o, display_order=i) for i, o in enumerate(kept))
    return replace(definition, options=options, option_values=_values(options))


def _ranks(stage: PropertyDef) -> dict[str, int]:
    return {option.value: rank for rank, option in enumerate(stage.options)}


def _parse_options(raw: Any, type_: str) -> tuple[Option, ...]:
    if not isinstance(raw, list):
        raise bad_request("options must be a list")
    if type_ == "enumeration" and not raw:
        raise bad_request("Enumeration properties need at least one option")
    options = []
    for order, item in enumerate(raw):
        if not isinstance(item, dict) or "value" not in item or "label" not in item:
            raise bad_request("Each option needs a label and a value")
        display = item.get("displayOrder", order)
        if not isinstance(display, int) or isinstance(display, bool):
            raise bad_request(f"Option displayOrder must be an integer, got {display!r}")
        options.append(
            Option(str(item["label"]), str(item["value"]), display, bool(item.get("hidden", False)))
        )
    return tuple(options)
