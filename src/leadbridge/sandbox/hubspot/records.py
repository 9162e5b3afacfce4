"""A contact as the simulator holds it, and how it is rendered on the wire."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Present on every contact, in every answer, whatever properties were asked for.
ALWAYS = ("hs_object_id", "createdate", "lastmodifieddate")
# What HubSpot answers when a request names no properties.
DEFAULT_NAMES = ("firstname", "lastname", "email", *ALWAYS)

# A value as history remembers it: (value, ISO timestamp, sourceType).
HistoryEntry = tuple[str, str, str]


@dataclass(eq=False)
class Contact:
    id: int
    props: dict[str, str]  # a cleared property holds ""; a never-set one is absent (null)
    created_at: str
    updated_at: str
    archived: bool = False
    archived_at: str | None = None
    merged_into: int | None = None
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)  # oldest first
    # What search sees, for a simulated indexing delay: (simulated time, snapshot or None).
    versions: list[tuple[float, Contact | None]] = field(default_factory=list)

    def snapshot(self) -> Contact:
        return Contact(self.id, dict(self.props), self.created_at, self.updated_at)


@dataclass(frozen=True)
class Change:
    """One fact a webhook subscription may hear about."""

    kind: str  # creation | propertyChange | deletion | merge
    object_id: int
    occurred_ms: int
    source: str  # HubSpot's changeSource: INTEGRATION, CRM_UI, FORM, CALCULATED, ...
    name: str | None = None
    value: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def selected_names(requested: Sequence[str] | None) -> tuple[str, ...]:
    """The property names an answer carries: the defaults unless some were asked for.
    Unknown names are answered as null, as HubSpot does, rather than refused."""
    if not requested:
        return DEFAULT_NAMES
    names: dict[str, None] = {}
    for item in requested:
        for name in item.split(","):  # clients also send "a,b" in one parameter
            if name:
                names[name] = None
    for name in ALWAYS:
        names[name] = None
    return tuple(names)


def render(
    contact: Contact,
    names: Sequence[str] | None,
    history_names: Sequence[str] = (),
) -> dict[str, Any]:
    """The wire form. `names=None` means every property the contact has (write answers)."""
    props = contact.props
    properties = dict(props) if names is None else {name: props.get(name) for name in names}
    body: dict[str, Any] = {
        "id": str(contact.id),
        "properties": properties,
        "createdAt": contact.created_at,
        "updatedAt": contact.updated_at,
        "archived": contact.archived,
    }
    if contact.archived_at:
        body["archivedAt"] = contact.archived_at
    if history_names:
        body["propertiesWithHistory"] = {
            name: [
                {"value": value, "timestamp": stamp, "sourceType": source}
                for value, stamp, source in reversed(contact.history.get(name, []))
            ]
            for name in history_names
        }
    return body


def public(contact: Contact) -> dict[str, Any]:
    """The Python API's view: every property, detached from the store."""
    return render(contact, None)
