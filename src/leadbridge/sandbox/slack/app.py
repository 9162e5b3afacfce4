"""Slack incoming webhooks: POST {text, blocks} to a secret URL, get `ok` or a plain-text code.

Answers as Slack does (API-FACTS.md): 200 `ok`; 400 `invalid_payload`,
`no_text`, `invalid_blocks`; 403 `invalid_token` (revoked hook) and
`action_prohibited` (posting restricted); 404 `no_service` for an unknown hook
and `channel_not_found` once its channel is deleted; 410 `channel_is_archived`;
and 429 with Retry-After past one message a second per webhook. The body is
the bare code, as Slack's; why a block was refused travels in a sandbox-only
`X-Sandbox-Detail` header.
"""

from __future__ import annotations

import math
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from leadbridge.sandbox.clock import SimClock, iso_millis
from leadbridge.sandbox.control import control_routes
from leadbridge.sandbox.faults import FaultInjector, FaultMiddleware
from leadbridge.sandbox.http import JSON
from leadbridge.sandbox.ratelimit import RollingWindow
from leadbridge.sandbox.served import CountingMiddleware, Endpoints, RequestCounts
from leadbridge.sandbox.slack.blocks import MAX_MESSAGE_TEXT, InvalidBlocks, check_blocks

TEAM_ID = "T0SANDBOX"


@dataclass(frozen=True)
class Message:
    channel: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    received_at: datetime


@dataclass
class _Hook:
    channel: str
    limiter: RollingWindow
    archived: bool = False
    revoked: bool = False
    deleted: bool = False
    restricted: bool = False


@dataclass
class SlackSim:
    """Incoming webhooks, one per channel, and every message they accepted."""

    clock: SimClock
    seed: int = 0
    per_second: int | None = 1
    messages: list[Message] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._hooks: dict[str, _Hook] = {}
        self.faults = FaultInjector(seed=self.seed)
        self.served = RequestCounts()
        routes = self._routes()
        self.app = CountingMiddleware(
            FaultMiddleware(
                Starlette(routes=routes),
                self.faults,
                lambda request, status: PlainTextResponse("internal_error", status),
                lambda request, status: PlainTextResponse(
                    "rate_limited", 429, headers={"Retry-After": "1"}
                ),
            ),
            self.served,
            # A hook's path is its secret: counted as /services/{id}/{id}/{id}.
            Endpoints(route.path for route in routes),
        )

    def requests(self) -> dict[str, Any]:
        """Every request served so far, as GET /_sandbox/requests answers."""
        return self.served.report()

    def add_webhook(self, channel: str) -> str:
        """Creates a hook for `channel` and returns its path (/services/T.../B.../secret)."""
        path = f"/services/{TEAM_ID}/B{secrets.token_hex(5).upper()}/{secrets.token_urlsafe(18)}"
        limit = self.per_second if self.per_second is not None else 1_000_000
        with self._lock:
            self._hooks[path] = _Hook(channel, RollingWindow(limit, 1.0, self.clock))
        return path

    def archive_channel(self, channel: str) -> None:
        self._mark(channel, "archived")

    def delete_channel(self, channel: str) -> None:
        self._mark(channel, "deleted")

    def restrict_channel(self, channel: str) -> None:
        """An admin limits who may post there: its hooks get 403 action_prohibited."""
        self._mark(channel, "restricted")

    def _mark(self, channel: str, flag: str) -> None:
        with self._lock:
            for hook in self._hooks.values():
                if hook.channel == channel:
                    setattr(hook, flag, True)

    def revoke(self, path: str) -> None:
        with self._lock:
            self._hooks[path].revoked = True

    def messages_in(self, channel: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.channel == channel]

    async def _incoming(self, request: Request) -> Response:
        with self._lock:
            hook = self._hooks.get(request.url.path)
        if hook is None:
            return PlainTextResponse("no_service", 404)
        if hook.revoked:
            return PlainTextResponse("invalid_token", 403)
        if hook.deleted:
            return PlainTextResponse("channel_not_found", 404)
        if hook.archived:
            return PlainTextResponse("channel_is_archived", 410)
        if hook.restricted:
            return PlainTextResponse("action_prohibited", 403)
        verdict = hook.limiter.hit()
        if not verdict.allowed:
            wait = str(max(math.ceil(verdict.retry_after), 1))
            return PlainTextResponse("rate_limited", 429, headers={"Retry-After": wait})
        try:
            payload = _payload(await request.body(), request.headers.get("content-type", ""))
        except ValueError:
            return PlainTextResponse("invalid_payload", 400)
        text, blocks = payload.get("text"), payload.get("blocks")
        if text is not None and not isinstance(text, str):
            return PlainTextResponse("invalid_payload", 400)
        if blocks is not None:
            try:
                check_blocks(blocks)
            except InvalidBlocks as exc:
                return PlainTextResponse(
                    "invalid_blocks", 400, headers={"X-Sandbox-Detail": str(exc)}
                )
        if not text and not blocks:
            return PlainTextResponse("no_text", 400)
        if text and len(text) > MAX_MESSAGE_TEXT:
            return PlainTextResponse("msg_too_long", 400)
        with self._lock:
            self.messages.append(Message(hook.channel, text, blocks, self.clock.now()))
        return PlainTextResponse("ok")

    async def _list_messages(self, request: Request) -> Response:
        channel = request.query_params.get("channel")
        with self._lock:
            chosen = [m for m in self.messages if channel is None or m.channel == channel]
        return JSON(
            [
                {
                    "channel": m.channel,
                    "text": m.text,
                    "blocks": m.blocks,
                    "received_at": iso_millis(m.received_at),
                }
                for m in chosen
            ]
        )

    def _routes(self) -> list[Route]:
        return [
            Route("/services/{team}/{bot}/{secret}", self._incoming, methods=["POST"]),
            Route("/_sandbox/messages", self._list_messages, methods=["GET"]),
            *control_routes(self.clock, self.faults, self.served),
        ]


def _payload(body: bytes, content_type: str) -> dict[str, Any]:
    """JSON, or the legacy form encoding `payload=<json>` that Slack still accepts."""
    raw = body
    if content_type.startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("utf-8", "replace")).get("payload")
        if not values:
            raise ValueError("no payload field")
        raw = values[0].encode()
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(str(exc)) from exc
    if not isinstance(payload, dict):
        raise ValueError("payload must be an object")
    return payload
