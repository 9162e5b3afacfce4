"""sObject Collections (`composite/sobjects`): up to 200 records a call, one result each, in order.

A well-formed call answers 200 even when records fail; each failure is a
SaveResult error with `statusCode`. With `allOrNone` one failure undoes the
call and every record that would have succeeded reports
ALL_OR_NONE_OPERATION_ROLLED_BACK instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.responses import Response

from leadbridge.sandbox.http import JSON
from leadbridge.sandbox.salesforce import ids
from leadbridge.sandbox.salesforce.context import Call
from leadbridge.sandbox.salesforce.errors import SfError
from leadbridge.sandbox.salesforce.schema import SObject
from leadbridge.sandbox.salesforce.sobjects_api import render, save_result, selected_fields, target

MAX_RECORDS = 200
_ROLLED_BACK = SfError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header",
    fields=[],
)

Result = dict[str, Any]
T = TypeVar("T")


async def create(call: Call) -> Response:
    records, all_or_none = await _records(call)

    def one(record: dict[str, Any]) -> Result:
        obj = _typed(call, record)
        if any(key.lower() == "id" for key in record):
            raise SfError("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call")
        return save_result(call.org.state.create(obj.name, _fields(record), actor=call.user_id))

    return JSON(_apply(call, records, all_or_none, one))


async def update(call: Call) -> Response:
    records, all_or_none = await _records(call)

    def one(record: dict[str, Any]) -> Result:
        obj = _typed(call, record)
        record_id = next((str(v) for k, v in record.items() if k.lower() == "id" and v), None)
        if record_id is None:
            raise SfError("MISSING_ARGUMENT", "Id not specified in an update call")
        body = {k: v for k, v in _fields(record).items() if k.lower() != "id"}
        call.org.state.update(obj.name, record_id, body, actor=call.user_id)
        return save_result(ids.normalize(record_id) or record_id)

    return JSON(_apply(call, records, all_or_none, one, id_of=_record_id))


async def delete(call: Call) -> Response:
    params = call.request.query_params
    wanted = [part for part in params.get("ids", "").split(",") if part]
    if not wanted:
        raise SfError("MISSING_ARGUMENT", "ids parameter is required")
    _check_size(wanted)
    all_or_none = _flag(params.get("allOrNone", "false"))

    def one(raw_id: str) -> Result:
        canonical = ids.normalize(raw_id)
        obj = call.org.state.schema.sobject_for_id(canonical) if canonical else None
        if canonical is None or obj is None:
            raise SfError("MALFORMED_ID", f"malformed id {raw_id}", fields=[])
        call.org.state.delete(obj.name, canonical, actor=call.user_id)
        return save_result(canonical)

    return JSON(_apply(call, wanted, all_or_none, one, id_of=lambda raw: raw))


async def retrieve(call: Call) -> Response:
    """GET .../composite/sobjects/Lead?ids=a,b&fields=X,Y: records in order, null where missing."""
    obj = target(call)
    params = call.request.query_params
    wanted = [part for part in params.get("ids", "").split(",") if part]
    names = selected_fields(obj, params.get("fields"))
    if not wanted or names is None:
        raise SfError("MISSING_ARGUMENT", "ids and fields parameters are required")
    _check_size(wanted)
    out: list[dict[str, Any] | None] = []
    for raw_id in wanted:
        record = call.org.state.get(obj.name, raw_id)
        alive = record is not None and not record["IsDeleted"]
        out.append(render(call, obj, record, names) if record is not None and alive else None)
    return JSON(out)


async def upsert(call: Call) -> Response:
    """PATCH .../composite/sobjects/Lead/Leadbridge_Id__c: create or update each by external id."""
    obj = target(call)
    key = obj.field(call.params["field"])
    if key is None or not key.external_id:
        raise SfError(
            "NOT_FOUND",
            "Provided external ID field does not exist or is not accessible: "
            f"{call.params['field']}",
            status=404,
        )
    records, all_or_none = await _records(call)
    values = [_external_value(record, key.name) for record in records]
    repeated = {v.lower() for v, n in Counter(v.lower() for v in values if v).items() if n > 1}

    def one(record: dict[str, Any]) -> Result:
        typed = _typed(call, record)
        if typed is not obj:
            raise SfError("INVALID_TYPE", f"Expected records of type {obj.name}")
        value = _external_value(record, key.name)
        if not value:
            raise SfError("MISSING_ARGUMENT", f"{key.name} not specified", fields=[key.name])
        if value.lower() in repeated:
            raise SfError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}")
        record_id, created = call.org.state.upsert(
            obj.name, key.name, value, _fields(record), actor=call.user_id
        )
        return save_result(record_id, created)

    return JSON(_apply(call, records, all_or_none, one))


def _apply(
    call: Call,
    items: list[T],
    all_or_none: bool,
    one: Callable[[T], Result],
    id_of: Callable[[T], str | None] = lambda item: None,
) -> list[Result]:
    """Runs `one` per item in a single transaction; failures become SaveResult errors."""
    results: list[Result] = []
    failed = False
    with call.org.state.atomic() as transaction:
        for item in items:
            try:
                results.append(one(item))
            except SfError as exc:
                failed = True
                error = _per_record(exc)
                result: Result = {"success": False, "errors": [error.save_error()]}
                known = id_of(item)
                results.append({"id": known, **result} if known else result)
        if failed and all_or_none:
            transaction.rollback()
            results = [
                {"id": r["id"], "success": False, "errors": [_ROLLED_BACK.save_error()]}
                if r["success"]
                else r
                for r in results
            ]
    return results


def _per_record(exc: SfError) -> SfError:
    """A record that is not there is a bad reference inside a collection, not a 404."""
    if exc.code == "NOT_FOUND":
        return SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[])
    return exc


async def _records(call: Call) -> tuple[list[dict[str, Any]], bool]:
    body = await call.json_object()
    records = body.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SfError("JSON_PARSER_ERROR", "records must be a list of sObjects")
    _check_size(records)
    return records, _flag(body.get("allOrNone", False))


def _check_size(items: list[Any]) -> None:
    if len(items) > MAX_RECORDS:
        raise SfError(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )


def _flag(raw: Any) -> bool:
    return raw is True or (isinstance(raw, str) and raw.lower() == "true")


def _typed(call: Call, record: dict[str, Any]) -> SObject:
    attributes = record.get("attributes")
    kind = attributes.get("type") if isinstance(attributes, dict) else None
    if not kind:
        raise SfError("INVALID_TYPE", "Must send a concrete entity type.", fields=[])
    obj = call.org.state.schema.view(str(kind), call.user_id)
    if obj is None:
        raise SfError("INVALID_TYPE", f"sObject type '{kind}' is not supported.", fields=[])
    return obj


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


def _record_id(record: dict[str, Any]) -> str | None:
    raw = next((v for k, v in record.items() if k.lower() == "id"), None)
    return (ids.normalize(raw) or raw) if isinstance(raw, str) else None


def _external_value(record: dict[str, Any], name: str) -> str | None:
    raw = next((v for k, v in record.items() if k.lower() == name.lower()), None)
    return str(raw) if raw not in (None, "") else None
