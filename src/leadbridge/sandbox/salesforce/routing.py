"""Routing a REST call to its handler, and a handler's failure to the API's error answer.

Shared by the front door (rest.py), which routes each HTTP request after the session
and allocation checks, and by the Composite resource (composite.py), which routes each
of its subrequests the same way inside one such request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.responses import Response

from leadbridge.sandbox.http import JSON
from leadbridge.sandbox.salesforce.context import Call, Handler
from leadbridge.sandbox.salesforce.errors import MoreThanOneRecord, SfError, not_found

log = logging.getLogger(__name__)

Routes = Sequence[tuple[tuple[str, ...], dict[str, Handler]]]


def match(routes: Routes, segments: list[str], method: str) -> tuple[Handler, dict[str, str]]:
    """The handler for these path segments (after the version) and method, with the path's
    named parts; SfError 404 or 405 when nothing serves them."""
    for pattern, handlers in routes:
        if len(pattern) != len(segments):
            continue
        params: dict[str, str] = {}
        for part, segment in zip(pattern, segments, strict=True):
            if part.startswith("{"):
                params[part[1:-1]] = segment
            elif part != segment:
                break
        else:
            if method == "HEAD" and "GET" in handlers:
                method = "GET"  # the server drops the body; the status and headers stand
            if method not in handlers:
                raise SfError(
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{method}' not allowed. Allowed are {','.join(handlers)}",
                    status=405,
                )
            return handlers[method], params
    raise not_found()


async def answer(handler: Handler, call: Call) -> Response:
    """The handler's response, or the answer the API gives for what it raised."""
    try:
        return await handler(call)
    except MoreThanOneRecord as exc:
        base = f"/services/data/v{call.version}/sobjects/{exc.sobject}"
        return JSON([f"{base}/{record_id}" for record_id in exc.ids], status_code=300)
    except SfError as exc:
        return exc.response()
    except Exception:
        log.exception(
            "the simulated Salesforce failed on %s %s", call.request.method, call.request.url
        )
        return SfError(
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact "
            "support: 1337-4242 (-1729)",
            status=500,
        ).response()
