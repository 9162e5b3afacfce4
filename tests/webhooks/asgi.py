"""A tiny synchronous ASGI caller: the app in-process, no sockets, one event loop reused.

starlette's TestClient needs httpx, which leadbridge does not depend on; this drives
the ASGI interface directly, which also lets a test send a body in chunks, omit or
falsify Content-Length, or break the connection mid-body. Exceptions the app lets
escape reach the caller: the tests count on seeing them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


# One loop for every caller in the test process: a loop per app would be a loop per test
# left for the garbage collector to close.
_LOOP = asyncio.new_event_loop()


@dataclass
class Caller:
    app: ASGIApp
    loop: asyncio.AbstractEventLoop = field(default=_LOOP)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: Iterable[tuple[str, str]] = (),
        query: bytes = b"",
        chunks: Sequence[bytes] | None = None,
        content_length: bool = True,
        receive_error: BaseException | None = None,
    ) -> Answer:
        """One request. `chunks` splits the body (default: one piece); `content_length`
        False sends none (as a chunked request would); `receive_error` makes the second
        read of the body raise it, as a broken server stack might."""
        pieces = list(chunks) if chunks is not None else [body]
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        if content_length and not any(k == b"content-length" for k, _ in raw):
            raw.append((b"content-length", str(sum(map(len, pieces))).encode()))
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": raw,
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
        }
        return self.loop.run_until_complete(self._call(scope, pieces, receive_error))

    async def _call(
        self, scope: dict[str, Any], pieces: list[bytes], receive_error: BaseException | None
    ) -> Answer:
        reads = 0
        sent: list[Message] = []

        async def receive() -> Message:
            nonlocal reads
            reads += 1
            if receive_error is not None and reads == 2:
                raise receive_error
            if reads <= len(pieces):
                return {
                    "type": "http.request",
                    "body": pieces[reads - 1],
                    "more_body": reads < len(pieces),
                }
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
        return Answer(start["status"], headers, body)
