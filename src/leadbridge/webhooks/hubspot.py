"""POST /webhooks/hubspot: a signed JSON array of contact events becomes contact hints.

Only the ids matter: the daemon reads each contact by id before deciding anything,
so the event's property values (possibly stale, possibly out of order) are never
trusted. The signature is checked before the body is parsed: unauthenticated bytes
never reach the JSON parser.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request

from leadbridge.connectors.hubspot.settings import Push
from leadbridge.model import Hint, System
from leadbridge.webhooks.intake import Intake, Rejected, malformed, read_body, unique
from leadbridge.webhooks.signature import verify

_MAX_EVENTS = 100
# Contact events that name the changed contact in objectId. Others (companies, deals,
# associationChange, the newer object.* types) are not leads' business: counted, ignored.
CONTACT_EVENTS = frozenset(
    {
        "contact.creation",
        "contact.propertyChange",
        "contact.deletion",
        "contact.merge",
        "contact.restore",
        "contact.privacyDeletion",
    }
)
_MAX_ID = 2**63 - 1  # HubSpot ids are 64-bit; a larger number is not one of them


async def read_hints(request: Request, push: Push | None, now: datetime) -> Intake:
    """Verify and parse one delivery; Rejected says why not (404 while push is off)."""
    if push is None or not push.enabled:
        raise Rejected(404, "disabled", "not found")
    body = await read_body(request)
    query = request.scope.get("query_string")
    raw_query = query if isinstance(query, bytes) else b""  # raw bytes, as HubSpot sent them
    verify(push, request.method, raw_query, body, request.headers, now)
    return _parse_events(body, now)


def _parse_events(body: bytes, received_at: datetime) -> Intake:
    """The contact hints in a verified body; Rejected (400) for anything not HubSpot's shape."""
    try:
        events = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise malformed("body is not JSON") from None
    if not isinstance(events, list):
        raise malformed("body is not a JSON array of events")
    if len(events) > _MAX_EVENTS:
        # 400, not 413: HubSpot retries every answer but 400, 401, 403, 404 and 405, and
        # a batch over its own limit of 100 would fail the same way on every retry.
        raise Rejected(400, "too_many_events", f"more than {_MAX_EVENTS} events")
    hints: list[Hint] = []
    ignored = 0
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("subscriptionType"), str):
            raise malformed("an event is not an object with a subscriptionType")
        if event["subscriptionType"] not in CONTACT_EVENTS:
            ignored += 1
            continue
        hints.extend(
            Hint(System.HUBSPOT, "contact", contact, received_at) for contact in _contact_ids(event)
        )
    return Intake(unique(hints), ignored)


def _contact_ids(event: dict[str, Any]) -> Iterator[str]:
    """objectId; for a merge also the primary and every merged-away contact, since the
    daemon must see each of them to follow the merge to the surviving record."""
    yield _id(event.get("objectId"))
    if event["subscriptionType"] != "contact.merge":
        return
    yield _id(event.get("primaryObjectId"))
    merged = event.get("mergedObjectIds")
    if not isinstance(merged, list) or not merged:
        raise malformed("a merge event without mergedObjectIds")
    yield from (_id(value) for value in merged)
    if "newObjectId" in event:
        yield _id(event["newObjectId"])


def _id(value: Any) -> str:
    # bool is an int in Python; `true` is not a contact id.
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _MAX_ID:
        return str(value)
    raise malformed("an event's contact id is not a positive integer")
