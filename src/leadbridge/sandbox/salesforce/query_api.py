"""REST handlers for SOQL: `query`, `queryAll`, and the pages behind `nextRecordsUrl`.

At most 2,000 records a page; fewer when the client asks with
`Sforce-Query-Options: batchSize=N` (200 to 2,000). The whole answer is taken
when the query runs, so later pages show the records as they were then.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.responses import Response

from leadbridge.sandbox.http import JSON
from leadbridge.sandbox.salesforce.context import Call
from leadbridge.sandbox.salesforce.errors import SfError
from leadbridge.sandbox.salesforce.soql import (
    FieldRef,
    Query,
    SoqlError,
    parse_soql,
    unknown_sobject_error,
)
from leadbridge.sandbox.salesforce.soql_eval import run_query

MAX_BATCH = 2000
MIN_BATCH = 200


async def query(call: Call) -> Response:
    return _answer(call, _run(call, include_deleted=False), "query")


async def query_all(call: Call) -> Response:
    return _answer(call, _run(call, include_deleted=True), "queryAll")


async def more(call: Call) -> Response:
    """GET .../query/01gD0000002HU6KIAW-2000: the page starting at that offset."""
    locator, _, offset = call.params["locator"].rpartition("-")
    if not locator or not offset.isdigit():
        raise SfError("INVALID_QUERY_LOCATOR", "invalid query locator")
    rows, total = call.org.cursors.page(call.user_id, locator, int(offset))
    body: dict[str, Any] = {"totalSize": total, "done": True}
    end = int(offset) + len(rows)
    if end < total:
        endpoint = "queryAll" if "/queryAll/" in call.request.url.path else "query"
        body["done"] = False
        body["nextRecordsUrl"] = f"/services/data/v{call.version}/{endpoint}/{locator}-{end}"
    body["records"] = rows
    return JSON(body)


def _answer(call: Call, result: tuple[list[dict[str, Any]], int], endpoint: str) -> Response:
    rows, total = result
    batch = _batch_size(call.request.headers.get("sforce-query-options", ""))
    body: dict[str, Any] = {"totalSize": total, "done": True}
    if len(rows) > batch:
        locator = call.org.cursors.open(call.user_id, rows, batch)
        body["done"] = False
        body["nextRecordsUrl"] = f"/services/data/v{call.version}/{endpoint}/{locator}-{batch}"
        rows = rows[:batch]
    body["records"] = rows
    return JSON(body)


def _run(call: Call, *, include_deleted: bool) -> tuple[list[dict[str, Any]], int]:
    """(rendered records, totalSize); COUNT() answers no records and the count."""
    text = call.request.query_params.get("q")
    if not text:
        raise SfError("MALFORMED_QUERY", "A query string has to be specified")
    try:
        parsed = parse_soql(text)
        obj = call.org.state.schema.view(parsed.sobject, call.user_id)
        if obj is None:
            raise unknown_sobject_error(parsed)
        wants_id = any(ref.name.lower() == "id" for ref in parsed.field_refs)
        # The record's url needs its Id even when the SELECT list leaves it out.
        run = parsed if wants_id or parsed.count_only else _with_id(parsed)
        records = call.org.state.records(obj.name, include_deleted=include_deleted)
        rows = run_query(run, records, obj.types(), call.org.clock.now())
    except SoqlError as exc:
        raise SfError(exc.error_code, exc.message) from None
    if parsed.count_only:
        return [], len(rows)
    rendered = []
    for row in rows:
        out: dict[str, Any] = {
            "attributes": {"type": obj.name, "url": call.url_for(obj.name, row["Id"])}
        }
        out.update(row if wants_id else {k: v for k, v in row.items() if k != "Id"})
        rendered.append(out)
    return rendered, len(rendered)


def _with_id(parsed: Query) -> Query:
    return dataclasses.replace(
        parsed,
        fields=(*parsed.fields, "Id"),
        field_refs=(*parsed.field_refs, FieldRef("Id", parsed.sobject_at)),
    )


def _batch_size(header: str) -> int:
    for option in header.replace(";", ",").split(","):
        name, _, value = option.partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return min(max(int(value), MIN_BATCH), MAX_BATCH)
    return MAX_BATCH
