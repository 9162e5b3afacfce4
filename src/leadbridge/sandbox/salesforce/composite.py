"""The Composite resource: up to 25 REST subrequests in one call, which the allocation counts once.

POST /services/data/vXX.X/composite takes `{allOrNone?, collateSubrequests?,
compositeRequest: [{method, url, referenceId, body?, httpHeaders?}]}`. Each subrequest
is answered, in order, by the handler a direct call to its url reaches (no second session
check, no second call against the allocation), and reported as `{body, httpHeaders,
httpStatusCode, referenceId}` under `compositeResponse`; the top level answers 200
whatever the subrequests did.

What the real resource checks before running anything answers a top-level 400 and runs
nothing: a body that is not a composite request, a subrequest without method, url or
referenceId, a referenceId that is not letters, digits and underscores or is used twice,
a header a subrequest may not set (Accept, Authorization, Content-Type), more than 25
subrequests or more than 5 queries (query, queryAll and the pages behind nextRecordsUrl
count alike). The codes of those refusals are not recorded publicly: the errors keep the
API's `[{message, errorCode}]` shape with codes of our choosing.

A subrequest may use an earlier one's answer as `@{referenceId.field}` (`.name` for a
field, `[n]` for a list item) in its url or body. One whose reference has no value (the
subrequest it names failed, or is later, or unknown) is not run: 400 PROCESSING_HALTED.
With allOrNone every write is undone once a subrequest fails, the failure keeps its own
error, and every other subrequest reports 400 PROCESSING_HALTED; allOrNone also holds for
sObject Collections inside it, whatever their own flag says.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response

from leadbridge.sandbox.http import JSON
from leadbridge.sandbox.salesforce.context import Call, Handler
from leadbridge.sandbox.salesforce.errors import SfError, json_parser_error, not_found
from leadbridge.sandbox.salesforce.routing import Routes, answer, match

MAX_SUBREQUESTS = 25
MAX_QUERIES = 5
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]+$")
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_PATH_PART = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")
_INHERITED_HEADERS = ("accept", "authorization", "content-type")
_QUERIES = ("query", "queryAll")
_ROLLED_BACK = (
    "PROCESSING_HALTED",
    "The transaction was rolled back since another operation in the same transaction failed.",
)


@dataclass(frozen=True)
class _Subrequest:
    method: str
    url: str
    reference_id: str
    body: Any
    headers: dict[str, str]


class _Unresolved(Exception):
    """A reference with no value yet: the subrequest that holds it is not run."""


def endpoint(routes: Routes, versions: Collection[str]) -> Handler:
    """The Composite handler, routing subrequests through `routes` (which must not hold the
    Composite resource itself) for any API version in `versions`."""

    async def composite(call: Call) -> Response:
        body = await call.json_object()
        subrequests = _parse(body)
        all_or_none = body.get("allOrNone") is True
        if not all_or_none:
            outputs: dict[str, Any] = {}
            results = [await _result(call, sub, routes, versions, outputs) for sub in subrequests]
            return JSON({"compositeResponse": results})
        with call.org.state.atomic() as transaction:
            results, failed = await _all_or_none(call, subrequests, routes, versions)
            if failed is not None:
                transaction.rollback()
        if failed is not None:
            results = [
                result if index == failed else _halted(sub, *_ROLLED_BACK)
                for index, (sub, result) in enumerate(zip(subrequests, results, strict=True))
            ]
        return JSON({"compositeResponse": results})

    return composite


async def _all_or_none(
    call: Call, subrequests: list[_Subrequest], routes: Routes, versions: Collection[str]
) -> tuple[list[dict[str, Any]], int | None]:
    """Runs the subrequests until one fails: their results (padded for those not run), and
    the index of the failure."""
    outputs: dict[str, Any] = {}
    results: list[dict[str, Any]] = []
    for index, sub in enumerate(subrequests):
        result = await _result(call, _forced(sub), routes, versions, outputs)
        results.append(result)
        if _failed(result):
            results.extend({} for _ in subrequests[index + 1 :])
            return results, index
    return results, None


async def _result(
    call: Call,
    sub: _Subrequest,
    routes: Routes,
    versions: Collection[str],
    outputs: dict[str, Any],
) -> dict[str, Any]:
    """One subrequest's entry of compositeResponse; a success's body is kept for references."""
    try:
        url = _resolve_text(sub.url, outputs)
        body = _resolve(sub.body, outputs)
    except _Unresolved as exc:
        return _halted(sub, "PROCESSING_HALTED", str(exc))
    response = await _run(call, sub, url, body, routes, versions)
    raw = bytes(response.body)
    content = orjson.loads(raw) if raw else None
    headers = {"Location": response.headers["location"]} if "location" in response.headers else {}
    if response.status_code == 201 and isinstance(content, dict) and "id" in content:
        headers.setdefault("Location", f"{urlsplit(url).path.rstrip('/')}/{content['id']}")
    result = {
        "body": content,
        "httpHeaders": headers,
        "httpStatusCode": response.status_code,
        "referenceId": sub.reference_id,
    }
    if not _failed(result):
        outputs[sub.reference_id] = content
    return result


async def _run(
    call: Call, sub: _Subrequest, url: str, body: Any, routes: Routes, versions: Collection[str]
) -> Response:
    parts = urlsplit(url)
    segments = [unquote(part) for part in parts.path.split("/")]
    while segments and segments[-1] == "":
        segments.pop()
    if segments[:3] != ["", "services", "data"] or len(segments) < 4:
        return not_found().response()
    version = segments[3][1:]
    if segments[3][:1] != "v" or version not in versions:
        return not_found().response()
    try:
        handler, params = match(routes, segments[4:], sub.method)
    except SfError as exc:
        return exc.response()
    request = _request(call.request, sub, parts.path, parts.query, body)
    return await answer(handler, Call(request, call.org, version, call.user_id, params))


def _request(parent: Request, sub: _Subrequest, path: str, query: str, body: Any) -> Request:
    """The subrequest as an HTTP request of its own, with the parent's session and host."""
    content = b"" if body is None else orjson.dumps(body)
    headers = [
        (name, value)
        for name, value in parent.scope["headers"]
        if name.lower() in (b"authorization", b"host")
    ]
    headers.append((b"content-type", b"application/json"))
    headers.extend(
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in sub.headers.items()
    )
    scope = {
        **{key: parent.scope[key] for key in ("scheme", "server", "client") if key in parent.scope},
        "type": "http",
        "http_version": "1.1",
        "method": sub.method,
        "root_path": "",
        "path": unquote(path),
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "headers": headers,
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": content, "more_body": False}

    return Request(scope, receive)


def _parse(body: dict[str, Any]) -> list[_Subrequest]:
    """The subrequests, or the top-level 400 the real resource answers before running any."""
    items = body.get("compositeRequest")
    if not isinstance(items, list):
        raise json_parser_error("'compositeRequest' is a required field.")
    if not items:
        raise SfError("INVALID_API_INPUT", "compositeRequest must hold at least one subrequest")
    if len(items) > MAX_SUBREQUESTS:
        raise SfError(
            "LIMIT_EXCEEDED",
            f"A composite request may hold at most {MAX_SUBREQUESTS} subrequests; "
            f"this one holds {len(items)}",
        )
    out = [_subrequest(item) for item in items]
    seen: set[str] = set()
    for sub in out:
        if sub.reference_id in seen:
            raise SfError(
                "INVALID_API_INPUT", f"Duplicate referenceId provided: {sub.reference_id}"
            )
        seen.add(sub.reference_id)
    queries = sum(1 for sub in out if _is_query(sub.url))
    if queries > MAX_QUERIES:
        raise SfError(
            "LIMIT_EXCEEDED",
            f"A composite request may hold at most {MAX_QUERIES} query operations; "
            f"this one holds {queries}",
        )
    return out


def _subrequest(item: Any) -> _Subrequest:
    if not isinstance(item, dict):
        raise json_parser_error("Each compositeRequest item must be an object")
    for key in ("method", "url", "referenceId"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise json_parser_error(f"'{key}' is a required field.")
    method, url, reference_id = item["method"], item["url"], item["referenceId"]
    if method not in _METHODS:
        raise json_parser_error(f"Invalid method: {method}; expected one of {', '.join(_METHODS)}")
    if not _REFERENCE_ID.match(reference_id):
        raise SfError(
            "INVALID_API_INPUT",
            f"Invalid referenceId {reference_id!r}: only letters, numbers and underscores",
        )
    headers = item.get("httpHeaders") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise json_parser_error("httpHeaders must map header names to text")
    for name in headers:
        if str(name).lower() in _INHERITED_HEADERS:
            raise SfError(
                "INVALID_API_INPUT",
                f"The {name} header is set by the composite request and cannot be set "
                "in a subrequest",
            )
    return _Subrequest(method, url, reference_id, item.get("body"), dict(headers))


def _is_query(url: str) -> bool:
    segments = [part for part in urlsplit(url).path.split("/") if part]
    return len(segments) >= 4 and segments[3] in _QUERIES


def _forced(sub: _Subrequest) -> _Subrequest:
    """Under the composite's allOrNone, an sObject Collections subrequest is all or none too."""
    path = urlsplit(sub.url).path.rstrip("/")
    if not path.endswith("/composite/sobjects"):
        return sub
    if sub.method == "DELETE":
        joiner = "&" if "?" in sub.url else "?"
        return _Subrequest(
            sub.method, f"{sub.url}{joiner}allOrNone=true", sub.reference_id, sub.body, sub.headers
        )
    body = {**sub.body, "allOrNone": True} if isinstance(sub.body, dict) else sub.body
    return _Subrequest(sub.method, sub.url, sub.reference_id, body, sub.headers)


def _failed(result: dict[str, Any]) -> bool:
    """An error status, or a collection's 200 holding a record that failed."""
    status = int(result.get("httpStatusCode") or 0)
    body = result.get("body")
    if status >= 400:
        return True
    return isinstance(body, list) and any(
        isinstance(item, dict) and item.get("success") is False for item in body
    )


def _halted(sub: _Subrequest, code: str, message: str) -> dict[str, Any]:
    return {
        "body": [{"errorCode": code, "message": message}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": sub.reference_id,
    }


def _resolve(value: Any, outputs: dict[str, Any]) -> Any:
    """`value` with every reference replaced; a string that is one reference takes the
    referenced value itself (a number stays a number)."""
    if isinstance(value, dict):
        return {key: _resolve(item, outputs) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, outputs) for item in value]
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole is not None:
            return _lookup(whole, outputs)
        return _resolve_text(value, outputs)
    return value


def _resolve_text(text: str, outputs: dict[str, Any]) -> str:
    return _REFERENCE.sub(lambda found: _text(_lookup(found, outputs)), text)


def _lookup(found: re.Match[str], outputs: dict[str, Any]) -> Any:
    name, path = found.group(1), found.group(2)
    if name not in outputs:
        raise _Unresolved(
            f"Invalid reference specified. No value for {name}{path} found in {name}. "
            f"Provided referenceId ('{name}') must be that of an earlier subrequest "
            "that succeeded."
        )
    value = outputs[name]
    for field, index in _PATH_PART.findall(path):
        if field and isinstance(value, dict) and field in value:
            value = value[field]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            raise _Unresolved(
                f"Invalid reference specified. No value for {name}{path} found in {name}."
            )
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
