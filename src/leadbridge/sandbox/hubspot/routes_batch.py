"""Batch routes: read, create, update, upsert, archive (100 inputs at most; 207 when some fail)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.sandbox.http import JSON
from leadbridge.sandbox.hubspot.apps import CONTACTS_READ as READ
from leadbridge.sandbox.hubspot.apps import CONTACTS_WRITE as WRITE
from leadbridge.sandbox.hubspot.errors import ApiError, bad_request
from leadbridge.sandbox.hubspot.guard import (
    API_SOURCE,
    Api,
    batch_inputs,
    flag,
    json_body,
    name_list,
)
from leadbridge.sandbox.hubspot.properties import Catalog
from leadbridge.sandbox.hubspot.records import Contact, render, selected_names
from leadbridge.sandbox.hubspot.state import ContactStore
from leadbridge.sandbox.hubspot.values import validate_write

BASE = "/crm/v3/objects/contacts/batch"
NOT_FOUND = (
    "Could not get some CONTACT objects, they may be deleted or not exist. "
    "Check that ids are valid."
)


def batch_routes(api: Api) -> list[Route]:
    store, catalog = api.store, api.catalog

    async def read(request: Request) -> Response:
        body = await json_body(request)
        inputs = batch_inputs(body)
        names = selected_names(name_list(body.get("properties"), "properties"))
        history = name_list(body.get("propertiesWithHistory"), "propertiesWithHistory")
        id_property = body.get("idProperty")
        archived = flag(request, "archived")
        keys = [_input_id(item) for item in inputs]
        started = store.now()[1]
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        seen: set[int] = set()
        with store.lock:
            for key in keys:
                contact = store.lookup(key, id_property, archived=archived)
                if contact is None:
                    missing.append(key)
                elif contact.id not in seen:  # HubSpot answers each object once
                    seen.add(contact.id)
                    results.append(render(contact, names, history))
        errors = [_error("OBJECT_NOT_FOUND", NOT_FOUND, missing)] if missing else []
        return _answer(store, results, errors, started, 200)

    async def create(request: Request) -> Response:
        inputs = batch_inputs(await json_body(request))
        started = store.now()[1]
        rows = [_validated(catalog, item) for item in inputs]
        with store.transaction():
            emails: set[str] = set()
            for values in rows:
                email = values.get("email")
                if email:
                    existing = store.lookup(email, "email")
                    if existing is not None:
                        raise ApiError(
                            409, "CONFLICT", f"Contact already exists. Existing ID: {existing.id}"
                        )
                    if email in emails:
                        raise bad_request(f"Duplicate email in batch input: {email}")
                    emails.add(email)
            created = [store.create(values, API_SOURCE) for values in rows]
            results = [render(c, None) for c in created]
        return _answer(store, results, [], started, 201)

    async def update(request: Request) -> Response:
        inputs = batch_inputs(await json_body(request))
        started = store.now()[1]
        # One invalid value refuses the whole batch before anything is written.
        rows = [
            (_input_id(item), item.get("idProperty"), _validated(catalog, item)) for item in inputs
        ]
        _refuse_duplicates([key for key, _, _ in rows])
        results, errors, missing = [], [], []
        with store.transaction():
            for key, id_property, values in rows:
                contact = store.lookup(key, id_property)
                if contact is None:
                    missing.append(key)
                    continue
                try:
                    store.update(key, values, API_SOURCE, id_property)
                except ApiError as exc:
                    errors.append(_error(exc.category, exc.message, [key]))
                    continue
                results.append(render(contact, None))
        if missing:
            errors.insert(0, _error("OBJECT_NOT_FOUND", NOT_FOUND, missing))
        return _answer(store, results, errors, started, 200)

    async def upsert(request: Request) -> Response:
        inputs = batch_inputs(await json_body(request))
        started = store.now()[1]
        keys = [_input_id(item) for item in inputs]
        _refuse_duplicates([key.lower() for key in keys])
        results, errors = [], []
        with store.transaction():
            for key, item in zip(keys, inputs, strict=True):
                id_property = item.get("idProperty") or "hs_object_id"
                try:
                    contact, new = _upsert_one(store, catalog, key, id_property, item)
                except ApiError as exc:  # upsert reports bad inputs one by one, in a 207
                    errors.append(_error(exc.category, exc.message, [key]))
                    continue
                results.append({**render(contact, None), "new": new})
        return _answer(store, results, errors, started, 200)

    async def archive(request: Request) -> Response:
        inputs = batch_inputs(await json_body(request))
        with store.transaction():
            for item in inputs:
                store.archive(_input_id(item), API_SOURCE)
        return Response(status_code=204)

    guard = api.guard
    return [
        Route(f"{BASE}/read", guard(read, READ), methods=["POST"]),
        Route(f"{BASE}/create", guard(create, WRITE), methods=["POST"]),
        Route(f"{BASE}/update", guard(update, WRITE), methods=["POST"]),
        Route(f"{BASE}/upsert", guard(upsert, WRITE), methods=["POST"]),
        Route(f"{BASE}/archive", guard(archive, WRITE), methods=["POST"]),
    ]


def _upsert_one(
    store: ContactStore, catalog: Catalog, key: str, id_property: str, item: dict[str, Any]
) -> tuple[Contact, bool]:
    if id_property not in ("email", "hs_object_id"):
        raise bad_request(
            f"Unable to perform update/upsert by non-unique 0-1 property {id_property}"
        )
    values = _validated(catalog, item)
    existing = store.lookup(key, id_property)
    if existing is not None:
        store.update(str(existing.id), values, API_SOURCE)
        return existing, False
    if id_property == "hs_object_id":
        raise ApiError(404, "OBJECT_NOT_FOUND", f"Object not found. objectId: {key}")
    values.setdefault("email", validate_write(catalog, {"email": key}, trusted=False)["email"])
    return store.create(values, API_SOURCE), True


def _input_id(item: Any) -> str:
    if not isinstance(item, dict) or item.get("id") in (None, ""):
        raise bad_request("Each input needs an id")
    if not isinstance(item.get("idProperty", ""), str | None):
        raise bad_request("Invalid input JSON: idProperty must be a property name")
    if not isinstance(item["id"], str | int) or isinstance(item["id"], bool):
        raise bad_request("Invalid input JSON: id must be a string")
    return str(item["id"])


def _validated(catalog: Catalog, item: Any) -> dict[str, str]:
    if not isinstance(item, dict):
        raise bad_request("Each input must be an object")
    return validate_write(catalog, item.get("properties", {}), trusted=False)


def _refuse_duplicates(keys: list[str]) -> None:
    seen: set[str] = set()
    duplicates: set[str] = set()
    for key in keys:
        (duplicates if key in seen else seen).add(key)
    if duplicates:
        listed = sorted(duplicates)
        raise bad_request(f"Duplicate IDs found in batch input: {listed}. IDs must be unique")


def _error(category: str, message: str, ids: list[str]) -> dict[str, Any]:
    return {"status": "error", "category": category, "message": message, "context": {"ids": ids}}


def _answer(
    store: ContactStore,
    results: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    started: str,
    ok_status: int,
) -> Response:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": store.now()[1],
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return JSON(body, status_code=207)
    return JSON(body, status_code=ok_status)
