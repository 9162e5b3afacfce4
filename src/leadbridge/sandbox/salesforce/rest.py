"""The REST API's front door: versions, the session check, the daily allocation, and routing.

Every call under /services/data/vXX.X/ passes here in the real org's order:
an unknown version is 404, a dead session 401 (and costs nothing), a spent
allocation 403; then the call costs one and its answer carries
`Sforce-Limit-Info`. Routing is by path segments, so trailing slashes (which
simple-salesforce adds) and percent-encoded external ids behave as they do there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from leadbridge.sandbox.faults import Fault
from leadbridge.sandbox.http import JSON
from leadbridge.sandbox.salesforce import collections, composite, query_api, sobjects_api
from leadbridge.sandbox.salesforce.context import Call, Org
from leadbridge.sandbox.salesforce.errors import SfError, not_found
from leadbridge.sandbox.salesforce.limits import limit_exceeded
from leadbridge.sandbox.salesforce.oauth import bearer_token
from leadbridge.sandbox.salesforce.routing import Routes, answer, match

# What simple-salesforce 1.12 asks for (59.0 by default) lies inside the real range.
VERSIONS = tuple(f"{major}.0" for major in range(31, 63))
_SEASONS = ("Winter", "Spring", "Summer")

Endpoint = Callable[[Request], Awaitable[Response]]


async def _resources(call: Call) -> Response:
    base = f"/services/data/v{call.version}"
    names = ("sobjects", "query", "queryAll", "limits", "composite", "search", "tooling")
    return JSON({name: f"{base}/{name}" for name in names})


async def _composite_resources(call: Call) -> Response:
    """GET .../composite: the composite resources this org serves (batch, tree and graph
    it does not)."""
    return JSON({"sobjects": f"/services/data/v{call.version}/composite/sobjects"})


async def _limits(call: Call) -> Response:
    return JSON(call.org.usage.body())


# Literal segments match themselves; "{name}" captures one segment. First match wins.
# What a Composite subrequest may reach: everything but the Composite resource itself.
SUBREQUEST_ROUTES: Routes = (
    ((), {"GET": _resources}),
    (("limits",), {"GET": _limits}),
    (("sobjects",), {"GET": sobjects_api.global_describe}),
    (("sobjects", "{sobject}"), {"GET": sobjects_api.basic_info, "POST": sobjects_api.create}),
    (("sobjects", "{sobject}", "describe"), {"GET": sobjects_api.describe}),
    (("sobjects", "{sobject}", "updated"), {"GET": sobjects_api.updated}),
    (("sobjects", "{sobject}", "deleted"), {"GET": sobjects_api.deleted}),
    (
        ("sobjects", "{sobject}", "{id}"),
        {"GET": sobjects_api.read, "PATCH": sobjects_api.update, "DELETE": sobjects_api.delete},
    ),
    (
        ("sobjects", "{sobject}", "{field}", "{value}"),
        {
            "GET": sobjects_api.read_by_external_id,
            "PATCH": sobjects_api.upsert,
            "DELETE": sobjects_api.delete_by_external_id,
        },
    ),
    (("query",), {"GET": query_api.query}),
    (("queryAll",), {"GET": query_api.query_all}),
    (("query", "{locator}"), {"GET": query_api.more}),
    (("queryAll", "{locator}"), {"GET": query_api.more}),
    (
        ("composite", "sobjects"),
        {"POST": collections.create, "PATCH": collections.update, "DELETE": collections.delete},
    ),
    (("composite", "sobjects", "{sobject}"), {"GET": collections.retrieve}),
    (("composite", "sobjects", "{sobject}", "{field}"), {"PATCH": collections.upsert}),
)
ROUTES: Routes = (
    *SUBREQUEST_ROUTES,
    (
        ("composite",),
        {"GET": _composite_resources, "POST": composite.endpoint(SUBREQUEST_ROUTES, VERSIONS)},
    ),
)


def version_list() -> list[dict[str, str]]:
    out = []
    for version in VERSIONS:
        step = int(float(version)) - 20  # v20.0 was Winter '11; three releases a year since
        label = f"{_SEASONS[step % 3]} '{11 + step // 3:02d}"
        out.append({"label": label, "url": f"/services/data/v{version}", "version": version})
    return out


async def versions(request: Request) -> Response:
    """GET /services/data/: the one resource that needs no session."""
    return JSON(version_list())


def data_api(org: Org, routes: Routes = ROUTES) -> Endpoint:
    """The endpoint for everything under /services/data/."""

    async def endpoint(request: Request) -> Response:
        # The raw path keeps an external id's encoded "/" inside its segment.
        raw = request.scope.get("raw_path") or request.url.path.encode()
        segments = [unquote(part) for part in raw.decode("latin-1").split("?")[0].split("/")][3:]
        while segments and segments[-1] == "":
            segments.pop()
        if not segments:
            return JSON(version_list())
        if segments[0][:1] != "v" or segments[0][1:] not in VERSIONS:
            return not_found().response()
        user_id = _authenticate(org, request)
        if user_id is None:
            return SfError("INVALID_SESSION_ID", "Session expired or invalid", status=401).response(
                {"WWW-Authenticate": "Token"}
            )
        if not org.usage.spend().allowed:
            return limit_exceeded().response(org.usage.header())
        version = segments[0][1:]
        try:
            handler, params = match(routes, segments[1:], request.method)
        except SfError as exc:
            response = exc.response()
        else:
            response = await answer(handler, Call(request, org, version, user_id, params))
        response.headers.update(org.usage.header())
        return response

    return endpoint


def _authenticate(org: Org, request: Request) -> str | None:
    """The session's user, or None; an injected SESSION_EXPIRED fault kills the session first."""
    token = bearer_token(request)
    if token is None:
        return None
    if request.scope.get("state", {}).get("sandbox_fault") is Fault.SESSION_EXPIRED:
        org.sessions.expire(token)
    session = org.sessions.lookup(token)
    return session.user_id if session is not None else None
