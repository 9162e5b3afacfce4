"""leadbridge's own contact properties, made where missing, through the transport.

HubSpot refuses writes to unknown properties, so `leadbridge_stage` and the
hand-back reason must exist before the first write. Like every other call these go
through the transport: paced by the governor, retried by the policy (a 429 or a 5xx at
start-up costs a wait, not the process), and counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from leadbridge.connectors.errors import RemoteError
from leadbridge.connectors.hubspot.transport import Transport

# Where HubSpot shows them in the contact's record; every portal has this group.
_GROUP = "contactinformation"


def ensure(transport: Transport, wanted: Mapping[str, str]) -> list[str]:
    """Create the properties in `wanted` (name -> label) the portal lacks; returns those made.

    One read of the contact properties, then one create per missing one. A 409 means
    another replica made it between our read and our create: it exists, which is the point.
    """
    listed = transport.call("properties", partial(transport.properties.get_all, "contacts"))
    have = {str(raw.get("name")) for raw in (listed.body or {}).get("results") or ()}
    created = []
    for name, label in wanted.items():
        if name in have:
            continue
        body = {
            "name": name,
            "label": label,
            "type": "string",
            "fieldType": "text",
            "groupName": _GROUP,
        }
        invoke = partial(transport.properties.create, "contacts", property_create=body)
        try:
            transport.call("properties", invoke)
        except RemoteError as exc:
            if exc.failure.status != 409:
                raise
        created.append(name)
    return created
