"""leadbridge's own contact properties, made where missing, through the transport.

HubSpot refuses writes to unknown properties, so `leadbridge_stage` and the
hand-back reason must exist before the first write. Like every other call these go
through the transport: paced by the governor, retried by the policy (a 429 or a 5xx at
start-up costs a wait, not the process), and counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def add_options(transport: Transport, name: str, values: Sequence[str]) -> list[str]:
    """Add `values` to the options of the enumeration property `name` where missing;
    returns those added.

    HubSpot's PATCH replaces the whole option list, so it is read first and sent back with
    the new options after the existing ones (hidden ones included, their order kept).
    """
    read = partial(transport.properties.get_by_name, "contacts", name)
    current = transport.call("properties", read).body or {}
    options = [dict(raw) for raw in current.get("options") or () if isinstance(raw, dict)]
    have = {str(option.get("value")) for option in options}
    added = [value for value in dict.fromkeys(values) if value not in have]
    if not added:
        return []
    order = max((int(option.get("displayOrder") or 0) for option in options), default=-1)
    kept = [
        {key: option[key] for key in _OPTION_KEYS if option.get(key) is not None}
        for option in options
    ]
    new = [
        {"label": value, "value": value, "displayOrder": order + 1 + i, "hidden": False}
        for i, value in enumerate(added)
    ]
    body = {"options": [*kept, *new]}
    update = partial(transport.properties.update, "contacts", name, property_update=body)
    transport.call("properties", update)
    return added


_OPTION_KEYS = ("label", "value", "description", "displayOrder", "hidden")
