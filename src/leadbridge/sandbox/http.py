"""Small response helpers shared by the simulated services."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response


class JSON(Response):
    """A JSON answer serialised with orjson: the sandbox must never be a benchmark's bottleneck."""

    media_type = "application/json;charset=utf-8"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def read_json(request: Request) -> Any:
    """The body as JSON; raises ValueError with a message the service turns into its own 400."""
    body = await request.body()
    if not body:
        raise ValueError("request body is empty")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from exc
