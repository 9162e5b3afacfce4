"""What a REST handler gets: the org's parts, and the one call it is answering."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from leadbridge.sandbox.clock import SimClock
from leadbridge.sandbox.http import read_json
from leadbridge.sandbox.salesforce.cursors import QueryCursors
from leadbridge.sandbox.salesforce.errors import json_parser_error
from leadbridge.sandbox.salesforce.limits import ApiUsage
from leadbridge.sandbox.salesforce.oauth import Sessions
from leadbridge.sandbox.salesforce.state import OrgState


@dataclass
class Org:
    clock: SimClock
    state: OrgState
    sessions: Sessions
    usage: ApiUsage
    cursors: QueryCursors
    org_id: str


@dataclass
class Call:
    request: Request
    org: Org
    version: str  # "59.0"
    user_id: str  # whose session made the call
    params: dict[str, str]  # the path's named parts, e.g. sobject and id

    def url_for(self, sobject: str, record_id: str) -> str:
        return f"/services/data/v{self.version}/sobjects/{sobject}/{record_id}"

    async def json_body(self) -> Any:
        try:
            return await read_json(self.request)
        except ValueError as exc:
            raise json_parser_error(str(exc)) from None

    async def json_object(self) -> dict[str, Any]:
        body = await self.json_body()
        if not isinstance(body, dict):
            raise json_parser_error(
                "Cannot deserialize instance of SObject from START_ARRAY value or request may be "
                "missing a required field"
            )
        return body


Handler = Callable[[Call], Awaitable[Response]]
