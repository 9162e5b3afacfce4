"""The org's own data model: the prepared schema, less what an unprepared org lacks.

A prepared org has leadbridge's custom fields, every Lead Status value, edit access
for the run-as (integration) user to every field, and `Leadbridge_Id__c` as a unique
External ID. An unprepared one may lack custom fields and Lead Status values, give
the run-as user read-only access (field-level security) to chosen fields, and hold
an external id field as plain text. `deploy` plays what a Metadata API deploy (the
Salesforce CLI's `project deploy start`) would do: custom fields, picklist values,
and a permission set granting the run-as user edit access.

Field-level security as Salesforce applies it: a field the user cannot see is absent
from describe and answers INVALID_FIELD ("No such column"); a read-only one shows
`createable`/`updateable` false and a write answers INVALID_FIELD_FOR_INSERT_UPDATE.
A custom field deployed into the org arrives with no access for anyone until a
permission set (or profile) grants it, as with a Metadata API deploy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace

from leadbridge.sandbox.salesforce.schema import (
    CONVERTED_STATUSES,
    LEAD_STATUSES,
    SOBJECTS,
    Field,
    SObject,
)

EDIT, READ, NONE = "edit", "read", "none"


@dataclass(frozen=True)
class Unprepared:
    """What an org lacks. Field names are `Sobject.Field` or a bare custom field name
    (every sObject holding it)."""

    missing_fields: tuple[str, ...] = ()
    missing_statuses: tuple[str, ...] = ()
    read_only_fields: tuple[str, ...] = ()
    plain_external_ids: tuple[str, ...] = ()


# `Sandbox(prepared=False)`: everything leadbridge's setup would have to do.
LEADBRIDGE_FIELDS = (
    "Lead.Leadbridge_Id__c",
    "Lead.HubSpot_Contact_Id__c",
    "Lead.Recycle_Reason__c",
    "Opportunity.Loss_Reason__c",
    "Lead.Leadbridge_Score__c",
    "Lead.Leadbridge_Grade__c",
)
LEADBRIDGE_STATUSES = ("Nurture", "Recycled", "Disqualified")
UNPREPARED = Unprepared(missing_fields=LEADBRIDGE_FIELDS, missing_statuses=LEADBRIDGE_STATUSES)


def resolve(names: Iterable[str], *, custom_only: bool = False) -> list[tuple[str, str]]:
    """(sObject, canonical field) for each name; ValueError for one the prepared org lacks."""
    found: list[tuple[str, str]] = []
    for raw in names:
        obj_name, dot, field_name = str(raw).rpartition(".")
        candidates = [SOBJECTS.get(obj_name)] if dot else list(SOBJECTS.values())
        hits = [
            (obj.name, f.name)
            for obj in candidates
            if obj is not None
            for f in (obj.field(field_name),)
            if f is not None and (dot or f.custom)
        ]
        if not hits:
            raise ValueError(f"no field {raw!r} in the org's schema")
        for obj_name_, name in hits:
            if custom_only and not name.endswith("__c"):
                raise ValueError(f"{obj_name_}.{name} is a standard field: it cannot be missing")
            if (obj_name_, name) not in found:
                found.append((obj_name_, name))
    return found


def statuses(values: Iterable[str]) -> list[str]:
    wanted = [str(v) for v in values]
    unknown = [v for v in wanted if v not in LEAD_STATUSES]
    if unknown:
        raise ValueError(f"unknown Lead Status values {unknown}; expected some of {LEAD_STATUSES}")
    if any(v in CONVERTED_STATUSES for v in wanted):
        raise ValueError("the converted Lead Status cannot be missing")
    return wanted


class OrgSchema:
    """The org's sObjects as they stand now, and each as the run-as user sees it."""

    def __init__(self, unprepared: Unprepared, run_as: str) -> None:
        self.run_as = run_as
        self._lock = threading.Lock()
        self._missing: set[tuple[str, str]] = set(
            resolve(unprepared.missing_fields, custom_only=True)
        )
        self._plain: set[tuple[str, str]] = {
            key
            for key in resolve(unprepared.plain_external_ids, custom_only=True)
            if SOBJECTS[key[0]].field(key[1]) is not None
        }
        for obj_name, name in self._plain:
            if not _prepared(obj_name, name).external_id:
                raise ValueError(f"{obj_name}.{name} is no external id in a prepared org")
        self.missing_statuses: list[str] = statuses(unprepared.missing_statuses)
        self._access: dict[tuple[str, str], str] = {}
        for key in resolve(unprepared.read_only_fields):
            f = _prepared(*key)
            if not (f.createable or f.updateable):
                raise ValueError(f"{key[0]}.{key[1]} is read-only for everyone already")
            self._access[key] = READ
        for key in self._missing:
            # Deployed later, it arrives with no access until a permission set grants it.
            self._access.setdefault(key, NONE)
        self._objects: dict[str, SObject] = {}
        self._views: dict[str, SObject] = {}
        self._rebuild()

    # -- reading

    def sobject(self, name: str) -> SObject | None:
        """The org's sObject, as the org itself (and every user but the run-as one) sees it."""
        return self._objects.get(name.lower())

    def view(self, name: str, user: str | None) -> SObject | None:
        """The sObject as `user` sees it: the run-as user through field-level security."""
        key = name.lower()
        return self._views.get(key) if user == self.run_as else self._objects.get(key)

    def sobject_for_id(self, record_id: str) -> SObject | None:
        for obj in SOBJECTS.values():
            if obj.key_prefix == record_id[:3]:
                return self._objects[obj.name.lower()]
        return None

    def access(self, obj_name: str, field_name: str) -> str:
        return self._access.get((obj_name, field_name), EDIT)

    def unique_fields(self) -> list[tuple[str, str]]:
        return [(o.name, f.name) for o in self._objects.values() for f in o.fields if f.unique]

    def status(self) -> dict[str, object]:
        """What the org still lacks, for the /_sandbox/setup answer."""
        with self._lock:
            return {
                "missingFields": sorted(f"{o}.{n}" for o, n in self._missing),
                "missingStatuses": list(self.missing_statuses),
                "plainExternalIds": sorted(f"{o}.{n}" for o, n in self._plain),
                "fieldAccess": {
                    f"{o}.{n}": level
                    for (o, n), level in sorted(self._access.items())
                    if (o, n) not in self._missing
                },
            }

    # -- changing (OrgState.deploy holds the store's lock around these)

    def add_fields(self, keys: list[tuple[str, str]]) -> None:
        with self._lock:
            for key in keys:
                self._missing.discard(key)
                self._plain.discard(key)
            self._rebuild()

    def add_statuses(self, values: list[str]) -> None:
        with self._lock:
            self.missing_statuses = [v for v in self.missing_statuses if v not in values]
            self._rebuild()

    def grant(self, keys: list[tuple[str, str]]) -> None:
        with self._lock:
            for key in keys:
                self._access.pop(key, None)
            self._rebuild()

    def is_missing(self, key: tuple[str, str]) -> bool:
        return key in self._missing

    def is_plain(self, key: tuple[str, str]) -> bool:
        return key in self._plain

    def _rebuild(self) -> None:
        objects: dict[str, SObject] = {}
        views: dict[str, SObject] = {}
        for obj in SOBJECTS.values():
            fields: list[Field] = []
            seen: list[Field] = []
            for f in obj.fields:
                key = (obj.name, f.name)
                if key in self._missing:
                    continue
                if key in self._plain:
                    f = replace(f, external_id=False, unique=False)
                if obj.name == "Lead" and f.name == "Status":
                    f = replace(
                        f, picklist=tuple(v for v in f.picklist if v not in self.missing_statuses)
                    )
                fields.append(f)
                level = self._access.get(key, EDIT)
                if level == READ:
                    seen.append(replace(f, createable=False, updateable=False))
                elif level == EDIT:
                    seen.append(f)
            objects[obj.name.lower()] = _copy(obj, fields)
            views[obj.name.lower()] = _copy(obj, seen)
        self._objects, self._views = objects, views


def _prepared(obj_name: str, field_name: str) -> Field:
    found = SOBJECTS[obj_name].field(field_name)
    assert found is not None
    return found


def _copy(obj: SObject, fields: list[Field]) -> SObject:
    if tuple(fields) == obj.fields:
        return obj
    return SObject(
        obj.name,
        obj.label,
        obj.label_plural,
        tuple(fields),
        createable=obj.createable,
        updateable=obj.updateable,
        deletable=obj.deletable,
    )
