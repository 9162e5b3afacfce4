"""The Salesforce metadata package `leadbridge setup` writes (pure, but for `write`).

Source format, as `sf project deploy start` takes it from a project directory:

    sfdx-project.json
    manifest/package.xml
    force-app/main/default/objects/<Object>/fields/<Field>.field-meta.xml
    force-app/main/default/standardValueSets/LeadStatus.standardValueSet-meta.xml
    force-app/main/default/permissionsets/<Name>.permissionset-meta.xml
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

API_VERSION = "62.0"
NAMESPACE = "http://soap.sforce.com/2006/04/metadata"
SOURCE = "force-app/main/default"
MANIFEST = "manifest/package.xml"
PERMISSION_SET = "Leadbridge_Integration"
PERMISSION_SET_LABEL = "leadbridge integration"


@dataclass(frozen=True)
class CustomField:
    """One custom field, as docs/setup-salesforce.md section 3 defines it."""

    object: str
    name: str
    type: str  # Text, Picklist, Number, Date, DateTime
    length: int | None = None  # Text
    external_id: bool = False
    unique: bool = False
    values: tuple[str, ...] = ()  # Picklist
    restricted: bool = False  # Picklist

    @property
    def label(self) -> str:
        return self.name.removesuffix("__c").replace("_", " ")

    def describe(self) -> str:
        """`Text(64), External ID, Unique` as the docs write it."""
        kind = f"{self.type}({self.length})" if self.length else self.type
        flags = [kind]
        if self.external_id:
            flags.append("External ID")
        if self.unique:
            flags.append("Unique")
        if self.values:
            restricted = "restricted " if self.restricted else ""
            flags.append(f"{restricted}values {', '.join(self.values)}")
        return ", ".join(flags)


@dataclass(frozen=True)
class StatusValue:
    value: str
    converted: bool = False
    default: bool = False


@dataclass(frozen=True)
class ObjectAccess:
    object: str
    create: bool = False
    edit: bool = False


@dataclass(frozen=True)
class Package:
    fields: tuple[CustomField, ...] = ()
    # The whole Lead Status set (a StandardValueSet deploy replaces it): () leaves it alone.
    lead_statuses: tuple[StatusValue, ...] = ()
    objects: tuple[ObjectAccess, ...] = ()
    field_access: Mapping[str, bool] = field(default_factory=dict)  # Object.Field -> editable

    @property
    def empty(self) -> bool:
        return not (self.fields or self.lead_statuses or self.field_access)


def files(package: Package) -> dict[str, str]:
    """Relative path -> content of every file of the package."""
    found: dict[str, str] = {}
    for custom in package.fields:
        path = f"{SOURCE}/objects/{custom.object}/fields/{custom.name}.field-meta.xml"
        found[path] = _xml(_custom_field(custom))
    if package.lead_statuses:
        path = f"{SOURCE}/standardValueSets/LeadStatus.standardValueSet-meta.xml"
        found[path] = _xml(_lead_statuses(package.lead_statuses))
    if package.field_access or package.objects:
        path = f"{SOURCE}/permissionsets/{PERMISSION_SET}.permissionset-meta.xml"
        found[path] = _xml(_permission_set(package))
    found[MANIFEST] = _xml(_manifest(package))
    project = {
        "packageDirectories": [{"path": "force-app", "default": True}],
        "name": "leadbridge-salesforce",
        "sourceApiVersion": API_VERSION,
    }
    found["sfdx-project.json"] = json.dumps(project, indent=2) + "\n"
    return found


def write(package: Package, directory: Path) -> list[Path]:
    """Write the package's files under `directory` (made if missing); returns them."""
    written = []
    for relative, content in files(package).items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def _root(tag: str) -> ET.Element:
    return ET.Element(tag, xmlns=NAMESPACE)


def _add(parent: ET.Element, tag: str, value: object) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return child


def _xml(root: ET.Element) -> str:
    ET.indent(root, space="    ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _custom_field(custom: CustomField) -> ET.Element:
    root = _root("CustomField")
    _add(root, "fullName", custom.name)
    _add(root, "externalId", custom.external_id)
    _add(root, "label", custom.label)
    if custom.length:
        _add(root, "length", custom.length)
    if custom.type == "Number":
        _add(root, "precision", 18)
        _add(root, "scale", 2)
    _add(root, "required", False)
    _add(root, "trackHistory", False)
    _add(root, "type", custom.type)
    if custom.type == "Text":
        _add(root, "unique", custom.unique)
        if custom.unique:
            _add(root, "caseSensitive", True)
    if custom.type == "Picklist":
        value_set = ET.SubElement(root, "valueSet")
        _add(value_set, "restricted", custom.restricted)
        definition = ET.SubElement(value_set, "valueSetDefinition")
        _add(definition, "sorted", False)
        for value in custom.values:
            item = ET.SubElement(definition, "value")
            _add(item, "fullName", value)
            _add(item, "default", False)
            _add(item, "label", value)
    return root


def _lead_statuses(values: tuple[StatusValue, ...]) -> ET.Element:
    root = _root("StandardValueSet")
    _add(root, "sorted", False)
    for status in values:
        item = ET.SubElement(root, "standardValue")
        _add(item, "fullName", status.value)
        _add(item, "default", status.default)
        _add(item, "label", status.value)
        _add(item, "converted", status.converted)
    return root


def _permission_set(package: Package) -> ET.Element:
    root = _root("PermissionSet")
    _add(
        root,
        "description",
        "leadbridge's integration user: the objects and fields it reads and writes "
        "(docs/setup-salesforce.md section 4)",
    )
    for name, editable in sorted(package.field_access.items()):
        item = ET.SubElement(root, "fieldPermissions")
        _add(item, "editable", editable)
        _add(item, "field", name)
        _add(item, "readable", True)
    _add(root, "hasActivationRequired", False)
    _add(root, "label", PERMISSION_SET_LABEL)
    for access in package.objects:
        item = ET.SubElement(root, "objectPermissions")
        _add(item, "allowCreate", access.create)
        _add(item, "allowDelete", False)
        _add(item, "allowEdit", access.edit)
        _add(item, "allowRead", True)
        _add(item, "modifyAllRecords", False)
        _add(item, "object", access.object)
        _add(item, "viewAllRecords", True)
    return root


def _manifest(package: Package) -> ET.Element:
    root = _root("Package")
    members = {
        "CustomField": [f"{custom.object}.{custom.name}" for custom in package.fields],
        "PermissionSet": [PERMISSION_SET] if package.field_access or package.objects else [],
        "StandardValueSet": ["LeadStatus"] if package.lead_statuses else [],
    }
    for kind, names in members.items():
        if not names:
            continue
        types = ET.SubElement(root, "types")
        for name in sorted(names):
            _add(types, "members", name)
        _add(types, "name", kind)
    _add(root, "version", API_VERSION)
    return root
