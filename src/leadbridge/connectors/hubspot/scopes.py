"""The private app's scopes: the ones leadbridge needs, and what its token was granted.

HubSpot answers a missing scope with a 403 on the call that needs it; the token
introspection endpoint answers the granted scopes up front, so `leadbridge doctor`
can name every missing one at once. The call goes through the transport like any
other: paced, retried by the policy, counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadbridge.connectors.hubspot.transport import Transport

INTROSPECTION = "/oauth/v2/private-apps/get/access-token-info"

# docs/setup-hubspot.md section 1: contacts read (polls, reads by id, webhooks) and write
# (upserts, stage writes), contact schemas read (list the properties at start) and write
# (create leadbridge's own properties where missing).
CONTACTS_READ = "crm.objects.contacts.read"
CONTACTS_WRITE = "crm.objects.contacts.write"
SCHEMAS_READ = "crm.schemas.contacts.read"
SCHEMAS_WRITE = "crm.schemas.contacts.write"
REQUIRED_SCOPES = (CONTACTS_READ, CONTACTS_WRITE, SCHEMAS_READ, SCHEMAS_WRITE)


@dataclass(frozen=True)
class TokenInfo:
    """What HubSpot says about the private app's access token."""

    scopes: frozenset[str]
    hub_id: int | None = None
    app_id: int | None = None
    user_id: int | None = None


def introspect(transport: Transport) -> TokenInfo:
    """POST the token to HubSpot's introspection endpoint; raises RemoteError (401: the token
    is not valid) like every other call."""
    api = transport.properties.api_client
    body = {"tokenKey": transport.settings.token.get_secret_value()}

    def invoke(**kwargs: Any) -> Any:
        return api.call_api(
            INTROSPECTION,
            "POST",
            header_params={"Content-Type": "application/json", "Accept": "application/json"},
            body=body,
            response_types_map={},
            auth_settings=[],
            _return_http_data_only=True,
            **kwargs,
        )

    answer = transport.call("introspect", invoke)
    raw = answer.body if isinstance(answer.body, dict) else {}
    return TokenInfo(
        scopes=frozenset(str(scope) for scope in raw.get("scopes") or ()),
        hub_id=_int(raw.get("hubId")),
        app_id=_int(raw.get("appId")),
        user_id=_int(raw.get("userId")),
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
