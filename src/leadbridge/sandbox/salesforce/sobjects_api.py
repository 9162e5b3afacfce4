"""REST handlers for one sObject: describe, create, read, update, delete, upsert, replication."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from leadbridge.sandbox.http import JSON
from leadbridge.sandbox.salesforce import describe as describing
from leadbridge.sandbox.salesforce import ids, replication
from leadbridge.sandbox.salesforce.context import Call
from leadbridge.sandbox.salesforce.errors import SfError, not_found
from leadbridge.sandbox.salesforce.schema import SObject

# From this version on, an upsert answers `created` and a 200 with a body when it updated.
UPSERT_BODY_SINCE = 46.0


def target(call: Call) -> SObject:
    obj = call.org.state.schema.view(call.params["sobject"], call.user_id)
    if obj is None:
        raise not_found()
    return obj


def render(
    call: Call, obj: SObject, record: dict[str, Any], names: list[str] | None = None
) -> dict[str, Any]:
    """A record as REST returns it: `attributes` first, then the fields in describe order."""
    out: dict[str, Any] = {
        "attributes": {"type": obj.name, "url": call.url_for(obj.name, record["Id"])}
    }
    for name in names if names is not None else [f.name for f in obj.fields]:
        out[name] = record.get(name)
    return out


def selected_fields(obj: SObject, raw: str | None) -> list[str] | None:
    """The `fields=` parameter of a read, in canonical names; None means every field."""
    if not raw:
        return None
    names = []
    for name in (part.strip() for part in raw.split(",")):
        found = obj.field(name)
        if found is None:
            raise SfError(
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )
        names.append(found.name)
    return names


def save_result(record_id: str, created: bool | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if created is not None:
        result["created"] = created
    return result


async def global_describe(call: Call) -> Response:
    return JSON(describing.global_describe(call.version))


async def basic_info(call: Call) -> Response:
    return JSON(
        {"objectDescribe": describing.summary(target(call), call.version), "recentItems": []}
    )


async def describe(call: Call) -> Response:
    return JSON(describing.describe(target(call), call.version))


async def create(call: Call) -> Response:
    obj = target(call)
    body = await call.json_object()
    record_id = call.org.state.create(obj.name, body, actor=call.user_id)
    return JSON(save_result(record_id), status_code=201)


async def read(call: Call) -> Response:
    obj = target(call)
    record = call.org.state.locate(obj, call.params["id"], writing=False)
    names = selected_fields(obj, call.request.query_params.get("fields"))
    return JSON(render(call, obj, record, names))


async def update(call: Call) -> Response:
    obj = target(call)
    body = await call.json_object()
    # An Id in the body that names the same record is harmless; any other is a write to Id.
    if "Id" in body and ids.normalize(str(body["Id"])) == ids.normalize(call.params["id"]):
        body = {k: v for k, v in body.items() if k != "Id"}
    call.org.state.update(obj.name, call.params["id"], body, actor=call.user_id)
    return Response(status_code=204)


async def delete(call: Call) -> Response:
    call.org.state.delete(target(call).name, call.params["id"], actor=call.user_id)
    return Response(status_code=204)


async def read_by_external_id(call: Call) -> Response:
    obj = target(call)
    record = _by_external_id(call, obj)
    names = selected_fields(obj, call.request.query_params.get("fields"))
    return JSON(render(call, obj, record, names))


async def upsert(call: Call) -> Response:
    obj = target(call)
    body = await call.json_object()
    record_id, created = call.org.state.upsert(
        obj.name, call.params["field"], call.params["value"], body, actor=call.user_id
    )
    modern = float(call.version) >= UPSERT_BODY_SINCE
    if created:
        return JSON(save_result(record_id, True if modern else None), status_code=201)
    if modern:
        return JSON(save_result(record_id, False), status_code=200)
    return Response(status_code=204)


async def delete_by_external_id(call: Call) -> Response:
    obj = target(call)
    record = _by_external_id(call, obj)
    call.org.state.delete(obj.name, record["Id"], actor=call.user_id)
    return Response(status_code=204)


async def updated(call: Call) -> Response:
    params = call.request.query_params
    obj = target(call)
    return JSON(replication.updated(call.org.state, obj, params.get("start"), params.get("end")))


async def deleted(call: Call) -> Response:
    params = call.request.query_params
    obj = target(call)
    return JSON(replication.deleted(call.org.state, obj, params.get("start"), params.get("end")))


def _by_external_id(call: Call, obj: SObject) -> dict[str, Any]:
    name, value = call.params["field"], call.params["value"]
    key = obj.field(name)
    if key is None or not key.external_id:
        raise SfError(
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {name}",
            status=404,
        )
    record = call.org.state.by_external_id(obj.name, key.name, value)
    if record is None:
        raise not_found()
    return record
