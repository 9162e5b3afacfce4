"""Property definition routes: list, read one, create a custom one, update one (contacts only)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.sandbox.http import JSON
from leadbridge.sandbox.hubspot.apps import SCHEMAS_READ, SCHEMAS_WRITE
from leadbridge.sandbox.hubspot.errors import ApiError
from leadbridge.sandbox.hubspot.guard import Api, json_body

BASE = "/crm/v3/properties/{object_type}"
CONTACTS = frozenset({"contacts", "contact", "0-1"})


def property_routes(api: Api) -> list[Route]:
    catalog = api.catalog

    def object_type(request: Request) -> None:
        name = request.path_params["object_type"]
        if name not in CONTACTS:
            raise ApiError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {name}")

    async def list_all(request: Request) -> Response:
        object_type(request)
        return JSON({"results": [definition.to_json() for definition in catalog.all()]})

    async def read(request: Request) -> Response:
        object_type(request)
        name = request.path_params["name"]
        definition = catalog.get(name)
        if definition is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
        return JSON(definition.to_json())

    async def create(request: Request) -> Response:
        object_type(request)
        body = await json_body(request)
        definition = catalog.create(body, api.store.now()[1])
        return JSON(definition.to_json(), status_code=201)

    async def update(request: Request) -> Response:
        object_type(request)
        body = await json_body(request)
        return JSON(catalog.update(request.path_params["name"], body).to_json())

    guard = api.guard
    return [
        Route(BASE + "/{name}", guard(update, SCHEMAS_WRITE), methods=["PATCH"]),
        Route(BASE, guard(list_all, SCHEMAS_READ), methods=["GET"]),
        Route(BASE, guard(create, SCHEMAS_WRITE), methods=["POST"]),
        Route(BASE + "/{name}", guard(read, SCHEMAS_READ), methods=["GET"]),
    ]
