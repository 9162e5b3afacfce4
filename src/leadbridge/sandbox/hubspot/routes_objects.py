"""Single-contact routes: list, create, read, update, archive, merge, and search."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.sandbox.http import JSON
from leadbridge.sandbox.hubspot import search
from leadbridge.sandbox.hubspot.apps import CONTACTS_READ as READ
from leadbridge.sandbox.hubspot.apps import CONTACTS_WRITE as WRITE
from leadbridge.sandbox.hubspot.errors import ApiError, bad_request
from leadbridge.sandbox.hubspot.guard import API_SOURCE, Api, flag, json_body
from leadbridge.sandbox.hubspot.records import render, selected_names
from leadbridge.sandbox.hubspot.values import validate_write

BASE = "/crm/v3/objects/contacts"
MAX_PAGE = 100


def object_routes(api: Api) -> list[Route]:
    store, catalog = api.store, api.catalog

    async def list_page(request: Request) -> Response:
        query = request.query_params
        try:
            limit = int(query.get("limit", "10"))
            after = int(query.get("after", "0") or "0")
        except ValueError:
            raise bad_request("limit and after must be integers") from None
        if not 1 <= limit <= MAX_PAGE:
            raise bad_request(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
        if after < 0:
            raise bad_request(f"after must be a paging cursor from an earlier answer, got {after}")
        names = selected_names(query.getlist("properties"))
        history = query.getlist("propertiesWithHistory")
        with store.lock:
            found, next_after = store.page(after, limit, flag(request, "archived"))
            body: dict[str, object] = {"results": [render(c, names, history) for c in found]}
        if next_after is not None:
            params = [(k, v) for k, v in query.multi_items() if k != "after"]
            params.append(("after", str(next_after)))
            link = f"{request.base_url}{BASE.lstrip('/')}?{urlencode(params)}"
            body["paging"] = {"next": {"after": str(next_after), "link": link}}
        return JSON(body)

    async def create(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise bad_request("Invalid input JSON: expected an object with properties")
        values = validate_write(catalog, body.get("properties", {}), trusted=False)
        with store.transaction():
            return JSON(render(store.create(values, API_SOURCE), None), status_code=201)

    async def read(request: Request) -> Response:
        query = request.query_params
        names = selected_names(query.getlist("properties"))
        with store.lock:
            contact = store.lookup(
                request.path_params["contact_id"],
                query.get("idProperty"),
                archived=flag(request, "archived"),
            )
            if contact is None:
                # HubSpot answers a missing object with an empty 404.
                raise ApiError(404, "OBJECT_NOT_FOUND", "resource not found", empty_body=True)
            return JSON(render(contact, names, query.getlist("propertiesWithHistory")))

    async def update(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise bad_request("Invalid input JSON: expected an object with properties")
        values = validate_write(catalog, body.get("properties", {}), trusted=False)
        with store.transaction():
            contact = store.update(
                request.path_params["contact_id"],
                values,
                API_SOURCE,
                request.query_params.get("idProperty"),
            )
            return JSON(render(contact, None))

    async def archive(request: Request) -> Response:
        with store.transaction():
            store.archive(request.path_params["contact_id"], API_SOURCE)
        return Response(status_code=204)

    async def merge(request: Request) -> Response:
        body = await json_body(request)
        if (
            not isinstance(body, dict)
            or not body.get("primaryObjectId")
            or not body.get("objectIdToMerge")
        ):
            raise bad_request("primaryObjectId and objectIdToMerge are required")
        with store.transaction():
            merged = store.merge(
                str(body["primaryObjectId"]), str(body["objectIdToMerge"]), API_SOURCE
            )
            return JSON(render(merged, None))

    async def do_search(request: Request) -> Response:
        query = search.parse(await json_body(request), catalog)
        with store.lock:
            return JSON(search.run(query, store.searchable(), catalog))

    guard = api.guard
    return [
        Route(BASE, guard(list_page, READ), methods=["GET"]),
        Route(BASE, guard(create, WRITE), methods=["POST"]),
        Route(f"{BASE}/search", guard(do_search, READ, search=True), methods=["POST"]),
        Route(f"{BASE}/merge", guard(merge, WRITE), methods=["POST"]),
        Route(BASE + "/{contact_id}", guard(read, READ), methods=["GET"]),
        Route(BASE + "/{contact_id}", guard(update, WRITE), methods=["PATCH"]),
        Route(BASE + "/{contact_id}", guard(archive, WRITE), methods=["DELETE"]),
    ]
