"""Private apps: the tokens a portal accepts and the scopes each was granted.

Every app on a portal draws on the portal's one rate-limit budget, so a second
app can starve the first, as on HubSpot. A call that needs a scope the app was
not granted is a 403 MISSING_SCOPES (hubspot-api-client's ForbiddenException).
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterable
from typing import Any

CONTACTS_READ = "crm.objects.contacts.read"
CONTACTS_WRITE = "crm.objects.contacts.write"
SCHEMAS_READ = "crm.schemas.contacts.read"
SCHEMAS_WRITE = "crm.schemas.contacts.write"
CUSTOM_SCHEMAS_READ = "crm.schemas.custom.read"  # GET /crm/v3/schemas (custom objects)
SCOPES = frozenset(
    {CONTACTS_READ, CONTACTS_WRITE, SCHEMAS_READ, SCHEMAS_WRITE, CUSTOM_SCHEMAS_READ}
)
MISSING_SCOPES_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. "
    "Read more about required scopes here: https://developers.hubspot.com/scopes."
)


class Apps:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._granted: dict[bytes, frozenset[str]] = {}
        self._app_ids: dict[bytes, int] = {}

    def add(self, token: str, scopes: Iterable[str] | None = None, *, app_id: int = 0) -> None:
        """Installs an app, or changes an installed app's scopes (its token stays, as when an
        admin edits a private app's scopes); `scopes=None` grants every scope the sandbox knows."""
        granted = SCOPES if scopes is None else frozenset(scopes)
        unknown = granted - SCOPES
        if unknown:
            raise ValueError(f"unknown scopes {sorted(unknown)}; expected some of {sorted(SCOPES)}")
        key = f"Bearer {token}".encode()
        with self._lock:
            self._granted[key] = granted
            self._app_ids.setdefault(key, app_id)

    def installed(self, token: str) -> tuple[int, frozenset[str]] | None:
        """(app id, scopes) of the app behind a bare token, or None for one nobody issued."""
        key = f"Bearer {token}".encode()
        with self._lock:
            apps = [(k, v, self._app_ids.get(k, 0)) for k, v in self._granted.items()]
        found = None
        for expected, scopes, app_id in apps:
            if hmac.compare_digest(key, expected):
                found = (app_id, scopes)
        return found

    def scopes_for(self, authorization: str) -> frozenset[str] | None:
        """The scopes behind an Authorization header, or None for a token nobody issued."""
        given = authorization.encode()
        with self._lock:
            apps = list(self._granted.items())
        found = None
        for expected, scopes in apps:  # compare with every token: no timing hint which is close
            if hmac.compare_digest(given, expected):
                found = scopes
        return found


def missing_scopes_body(scope: str, correlation_id: str) -> dict[str, Any]:
    """HubSpot's 403: the required scopes ride in errors[].context.requiredGranularScopes."""
    return {
        "status": "error",
        "message": MISSING_SCOPES_MESSAGE,
        "correlationId": correlation_id,
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": [scope]},
            }
        ],
        "links": {"scopes": "https://developers.hubspot.com/scopes"},
        "category": "MISSING_SCOPES",
    }
