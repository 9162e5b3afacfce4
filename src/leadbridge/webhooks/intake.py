"""What both webhook endpoints share: a refusal with its status, a capped body read, the result."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request

from leadbridge.model import Hint

# HubSpot sends at most 100 events and Salesforce at most 100 notifications a request;
# either fits in a few hundred KiB, so 1 MiB leaves room without letting a sender make
# the daemon buffer whatever it likes.
MAX_BODY = 1024 * 1024

_DIGITS = re.compile(r"[0-9]{1,19}")


class Rejected(Exception):
    """A request refused on purpose: `status` is the answer, `outcome` the metric label.

    `reason` is fixed text chosen here, never a copy of the request, so it can be
    logged and sent back without echoing an attacker's bytes or any secret.
    """

    def __init__(self, status: int, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.outcome = outcome
        self.reason = reason


def malformed(reason: str) -> Rejected:
    return Rejected(400, "malformed", reason)


def unauthorized(reason: str) -> Rejected:
    return Rejected(401, "unauthorized", reason)


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The raw body, refused with 413 as soon as it passes `limit` bytes.

    Content-Length is checked first so an honest oversized request is refused
    unread, but the stream is counted too: a chunked body has no length, and a
    lying one must not get past the cap by declaring a small number.
    """
    declared = request.headers.getlist("content-length")
    if len(declared) > 1 or (declared and not _DIGITS.fullmatch(declared[0])):
        raise malformed("bad Content-Length")
    if declared and int(declared[0]) > limit:
        raise Rejected(413, "too_large", f"body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Rejected(413, "too_large", f"body over {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # Nobody is left to read the answer; the sender retries what it did not finish.
        raise malformed("client went away mid-body") from None
    return b"".join(chunks)


@dataclass(frozen=True)
class Intake:
    """What a verified request asks for: the hints to store, and how many events were
    not ours to act on (other objects, subscription types we do not handle)."""

    hints: tuple[Hint, ...]
    ignored: int = 0


def unique(hints: Iterable[Hint]) -> tuple[Hint, ...]:
    """Each (system, object, id) once, first arrival kept: one request often names a
    record several times (a creation plus a propertyChange per property)."""
    seen: dict[tuple[str, str, str], Hint] = {}
    for hint in hints:
        seen.setdefault((hint.system, hint.object, hint.id), hint)
    return tuple(seen.values())
