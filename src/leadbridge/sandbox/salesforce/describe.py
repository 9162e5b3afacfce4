"""The describe resources: what an sObject and its fields are, as the REST API reports them."""

from __future__ import annotations

from typing import Any

from leadbridge.sandbox.salesforce.schema import SOBJECTS, Field, SObject

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


def urls(obj: SObject, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "sobject": base,
        "describe": f"{base}/describe",
        "rowTemplate": f"{base}/{{ID}}",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
    }


def summary(obj: SObject, version: str) -> dict[str, Any]:
    """The per-object entry of the global describe (and of the basic-information resource)."""
    return {
        "name": obj.name,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "keyPrefix": obj.key_prefix,
        "custom": False,
        "customSetting": False,
        "createable": obj.createable,
        "updateable": obj.updateable,
        "deletable": obj.deletable,
        "undeletable": obj.deletable,
        "mergeable": obj.name in ("Lead", "Contact", "Account"),
        "queryable": True,
        "retrieveable": True,
        "searchable": obj.name != "LeadStatus",
        "replicateable": True,
        "triggerable": obj.name != "LeadStatus",
        "layoutable": obj.name != "LeadStatus",
        "feedEnabled": False,
        "activateable": False,
        "deprecatedAndHidden": False,
        "urls": urls(obj, version),
    }


def global_describe(version: str) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [summary(obj, version) for obj in SOBJECTS.values()],
    }


def describe(obj: SObject, version: str) -> dict[str, Any]:
    return {
        **summary(obj, version),
        "fields": [_field(f) for f in obj.fields],
        "childRelationships": [],
        "recordTypeInfos": [],
        "supportedScopes": [{"label": "All leads", "name": "everything"}]
        if obj.name == "Lead"
        else [],
    }


def _field(f: Field) -> dict[str, Any]:
    text_like = f.type not in _SOAP_TYPES
    return {
        "name": f.name,
        "label": f.label,
        "type": f.type,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "length": f.length if text_like or f.type in ("id", "reference") else 0,
        "byteLength": f.length * 3 if text_like or f.type in ("id", "reference") else 0,
        "digits": 9 if f.type == "int" else 0,
        "precision": 18 if f.type in ("double", "currency", "percent") else 0,
        "scale": 2 if f.type in ("double", "currency", "percent") else 0,
        "nillable": f.nillable,
        "createable": f.createable,
        "updateable": f.updateable,
        "defaultedOnCreate": f.defaulted,
        "defaultValue": f.default if f.type == "picklist" else None,
        "calculated": f.name == "Name" and not f.createable,
        "custom": f.custom,
        "externalId": f.external_id,
        "unique": f.unique,
        "caseSensitive": False,
        "idLookup": f.name == "Id" or f.external_id,
        "nameField": f.name_field,
        "filterable": f.type != "textarea",
        "sortable": f.type != "textarea",
        "groupable": f.type not in ("textarea", "double", "currency", "percent", "datetime"),
        "aggregatable": f.type != "textarea",
        "autoNumber": False,
        "htmlFormatted": False,
        "dependentPicklist": False,
        "restrictedPicklist": f.restricted,
        "picklistValues": [
            {
                "value": value,
                "label": value,
                "active": True,
                "defaultValue": value == f.default,
                "validFor": None,
            }
            for value in f.picklist
        ],
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship,
        "deprecatedAndHidden": False,
    }
