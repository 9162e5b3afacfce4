"""The simulated portal's contacts: one lock, numeric ids, unique emails, merges and history.

Every mutation goes through here, so the rules HubSpot applies to any writer
(forward-only lifecycle stage, unique email, lastmodifieddate) live in one
place, and every change is announced to the webhook listeners.
"""

from __future__ import annotations

import bisect
import random
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from leadbridge.sandbox.clock import SimClock, iso_millis
from leadbridge.sandbox.hubspot.errors import bad_request, conflict, not_found
from leadbridge.sandbox.hubspot.merging import merged_values
from leadbridge.sandbox.hubspot.properties import Catalog
from leadbridge.sandbox.hubspot.records import Change, Contact, public
from leadbridge.sandbox.hubspot.values import validate_write

Listener = Callable[[list[Change]], None]
# Sources a person uses by hand in HubSpot's UI may move a lifecycle stage back; others may not.
MANUAL_SOURCES = frozenset({"CRM_UI"})


class ContactStore:
    def __init__(
        self, clock: SimClock, catalog: Catalog, *, seed: int = 0, search_lag_seconds: float = 0.0
    ) -> None:
        self.clock = clock
        self.catalog = catalog
        self.search_lag_seconds = search_lag_seconds
        self.lock = threading.RLock()
        self.listeners: list[Listener] = []
        self._depth = 0
        self._pending: list[Change] = []
        self._rng = random.Random(f"ids-{seed}")
        # Real ids are large and sparse; sequential small ones would hide id/row mix-ups.
        self._next_id = 10**11 + self._rng.randrange(10**10)
        self._by_id: dict[int, Contact] = {}
        self._ids: list[int] = []  # ascending, every id ever issued
        self._by_email: dict[str, int] = {}
        self._alias: dict[int, int] = {}  # merged-away id -> the record it lives on in

    # ---- the Python API (HubSpot's own hands: may set calculated properties) ----

    def create_contact(
        self, properties: dict[str, Any], *, source: str = "CRM_UI"
    ) -> dict[str, Any]:
        values = validate_write(self.catalog, properties, trusted=True)
        with self.transaction():
            return public(self.create(values, source))

    def update_contact(
        self, contact_id: int | str, properties: dict[str, Any], *, source: str = "CRM_UI"
    ) -> dict[str, Any]:
        values = validate_write(self.catalog, properties, trusted=True)
        with self.transaction():
            return public(self.update(str(contact_id), values, source))

    def get_contact(
        self, contact_id: int | str, *, archived: bool = False
    ) -> dict[str, Any] | None:
        with self.lock:
            contact = self.lookup(str(contact_id), archived=archived)
            return public(contact) if contact else None

    def find_by_email(self, email: str) -> dict[str, Any] | None:
        with self.lock:
            contact = self.lookup(email, "email")
            return public(contact) if contact else None

    def archive_contact(self, contact_id: int | str, *, source: str = "CRM_UI") -> bool:
        with self.transaction():
            return self.archive(str(contact_id), source)

    def merge_contacts(
        self, primary_id: int | str, secondary_id: int | str, *, source: str = "CRM_UI"
    ) -> dict[str, Any]:
        with self.transaction():
            return public(self.merge(str(primary_id), str(secondary_id), source))

    def define_property(
        self,
        name: str,
        *,
        type: str,  # HubSpot's own field name
        field_type: str,
        label: str | None = None,
        group_name: str = "contactinformation",
        options: Iterable[str | dict[str, Any]] = (),
        description: str = "",
    ) -> dict[str, Any]:
        spec = {
            "name": name,
            "label": label or name.replace("_", " ").title(),
            "type": type,
            "fieldType": field_type,
            "groupName": group_name,
            "description": description,
            "options": [
                item if isinstance(item, dict) else {"label": item, "value": item}
                for item in options
            ],
        }
        return self.catalog.create(spec, self.now()[1]).to_json()

    def all_contacts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [public(c) for c in self.live()]

    # ---- the primitives the routes compose (callers hold self.lock) ----

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The lock, plus one announcement of every change made inside: a batch call's
        changes reach webhooks together, so they can share POSTs as HubSpot's do."""
        with self.lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._pending:
                    pending, self._pending = self._pending, []
                    for listener in self.listeners:
                        listener(pending)

    def now(self) -> tuple[float, str]:
        moment = self.clock.time()
        return moment, iso_millis(datetime.fromtimestamp(moment, UTC))

    def live(self) -> list[Contact]:
        return [
            c
            for c in (self._by_id[i] for i in self._ids)
            if not c.archived and c.merged_into is None
        ]

    def lookup(
        self, key: str, id_property: str | None = None, *, archived: bool = False
    ) -> Contact | None:
        """By id (following merges, as HubSpot does) or by a unique property."""
        if id_property in (None, "hs_object_id"):
            try:
                number = int(key)
            except ValueError:
                return None
            contact = self._by_id.get(self._alias.get(number, number))
        elif id_property == "email":
            found = self._by_email.get(key.strip().lower())
            contact = self._by_id.get(found) if found is not None else None
        else:
            raise bad_request(f"Unable to perform lookup by non-unique 0-1 property {id_property}")
        if contact is None or contact.archived != archived:
            return None
        return contact

    def require(self, key: str, id_property: str | None = None) -> Contact:
        contact = self.lookup(key, id_property)
        if contact is None:
            raise not_found()
        return contact

    def create(self, values: dict[str, str], source: str) -> Contact:
        email = values.get("email")
        if email and email in self._by_email:
            raise conflict(self._by_email[email])
        moment, stamp = self.now()
        contact_id = self._issue_id()
        props = {key: value for key, value in values.items() if value != ""}
        # A trusted writer (an import, the sandbox's preload) may backdate the creation.
        created = props.get("createdate") or stamp
        props.update(hs_object_id=str(contact_id), createdate=created, lastmodifieddate=stamp)
        contact = Contact(contact_id, props, created, stamp)
        contact.history = {name: [(value, stamp, source)] for name, value in props.items()}
        self._add(contact, moment)
        ms = int(moment * 1000)
        changes = [Change("creation", contact_id, ms, source)]
        changes += [
            Change("propertyChange", contact_id, ms, source, k, v) for k, v in values.items() if v
        ]
        self._emit(changes)
        return contact

    def update(
        self, key: str, values: dict[str, str], source: str, id_property: str | None = None
    ) -> Contact:
        contact = self.require(key, id_property)
        email = values.get("email")
        if email and self._by_email.get(email, contact.id) != contact.id:
            raise conflict(self._by_email[email])
        self.apply(contact, values, source)
        return contact

    def apply(self, contact: Contact, values: dict[str, str], source: str) -> list[str]:
        """Writes what differs; answers the names that changed (none: nothing is touched)."""
        props = contact.props
        changed: dict[str, str] = {}
        for name, value in values.items():
            current = props.get(name)
            if current == value or (current is None and value == ""):
                continue
            if name == "lifecyclestage" and not self._stage_move_allowed(current, value, source):
                continue  # HubSpot drops a backward move silently: the harsher reading
            changed[name] = value
        if not changed:
            return []
        moment, stamp = self.now()
        if "email" in changed:
            old = props.get("email")
            if old:
                self._by_email.pop(old, None)
            if changed["email"]:
                self._by_email[changed["email"]] = contact.id
        changed["lastmodifieddate"] = stamp
        for name, value in changed.items():
            props[name] = value
            contact.history.setdefault(name, []).append((value, stamp, source))
        contact.updated_at = stamp
        self._version(contact, moment)
        ms = int(moment * 1000)
        self._emit(
            [
                Change("propertyChange", contact.id, ms, source, name, value)
                for name, value in changed.items()
                if name != "lastmodifieddate"
            ]
        )
        return list(changed)

    def _stage_move_allowed(self, current: str | None, value: str, source: str) -> bool:
        if value == "" or not current or source in MANUAL_SOURCES:
            return True
        return self.catalog.stage_rank(value) >= self.catalog.stage_rank(current)

    def archive(self, key: str, source: str) -> bool:
        """HubSpot answers 204 for an id it does not know, so a miss is not an error."""
        contact = self.lookup(key)
        if contact is None:
            return False
        moment, stamp = self.now()
        contact.archived, contact.archived_at, contact.updated_at = True, stamp, stamp
        email = contact.props.get("email")
        if email and self._by_email.get(email) == contact.id:
            del self._by_email[email]  # the address may be used again, as in HubSpot
        self._gone(contact, moment)
        self._emit([Change("deletion", contact.id, int(moment * 1000), source)])
        return True

    def merge(self, primary_key: str, secondary_key: str, source: str) -> Contact:
        """HubSpot's current merge: a new record with a new id replaces both; both old ids
        keep answering with it (see the developer changelog "Updated merge functionality")."""
        primary, secondary = self.lookup(primary_key), self.lookup(secondary_key)
        if primary is None or secondary is None:
            raise not_found(
                f"Object not found: {primary_key if primary is None else secondary_key}"
            )
        if primary is secondary:
            raise bad_request("Cannot merge an object with itself.")
        moment, stamp = self.now()
        values, moved = merged_values(primary, secondary, self.catalog)
        created = min(primary.created_at, secondary.created_at)
        new_id = self._issue_id()
        merged_ids = [*_ids(primary), *_ids(secondary), str(primary.id), str(secondary.id)]
        values.update(
            hs_object_id=str(new_id),
            createdate=created,
            lastmodifieddate=stamp,
            hs_merged_object_ids=";".join(merged_ids),
        )
        contact = Contact(new_id, values, created, stamp)
        for old in (primary, secondary):
            for name, entries in old.history.items():
                contact.history.setdefault(name, []).extend(entries)
            old.merged_into = new_id
            self._alias[old.id] = new_id
            email = old.props.get("email")
            if email and self._by_email.get(email) == old.id:
                del self._by_email[email]
            self._gone(old, moment)
        for entries in contact.history.values():
            entries.sort(key=lambda entry: entry[1])
        for name, value in values.items():  # the merged record's own values are its newest
            entries = contact.history.setdefault(name, [])
            if not entries or entries[-1][0] != value:
                entries.append((value, stamp, source))
        for old_id, target in self._alias.items():
            if target in (primary.id, secondary.id):
                self._alias[old_id] = new_id
        self._add(contact, moment)
        extra = {
            "primaryObjectId": primary.id,
            "mergedObjectIds": [secondary.id],
            "newObjectId": new_id,
            "numberOfPropertiesMoved": moved,
        }
        self._emit([Change("merge", new_id, int(moment * 1000), source, extra=extra)])
        return contact

    def page(self, after: int, limit: int, archived: bool) -> tuple[list[Contact], int | None]:
        """Contacts in id order from `after`; the id to continue from, if any remain."""
        found: list[Contact] = []
        for index in range(bisect.bisect_left(self._ids, after), len(self._ids)):
            contact = self._by_id[self._ids[index]]
            if contact.merged_into is not None or contact.archived != archived:
                continue
            if len(found) == limit:
                return found, contact.id
            found.append(contact)
        return found, None

    def searchable(self) -> list[Contact]:
        """What the search index holds now: each contact as it was `search_lag_seconds` ago."""
        lag = self.search_lag_seconds
        if lag <= 0:
            return self.live()
        cutoff = self.clock.time() - lag
        seen: list[Contact] = []
        for contact_id in self._ids:
            contact = self._by_id[contact_id]
            if not contact.versions:
                if not contact.archived and contact.merged_into is None:
                    seen.append(contact)
                continue
            visible = None
            for moment, version in contact.versions:
                if moment > cutoff:
                    break
                visible = version
            if visible is not None:
                seen.append(visible)
        return seen

    # ---- bookkeeping ----

    def _issue_id(self) -> int:
        issued = self._next_id
        self._next_id += self._rng.randint(1, 40)
        return issued

    def _add(self, contact: Contact, moment: float) -> None:
        self._by_id[contact.id] = contact
        self._ids.append(contact.id)  # ids only grow, so the list stays sorted
        email = contact.props.get("email")
        if email:
            self._by_email[email] = contact.id
        self._version(contact, moment)

    def _version(self, contact: Contact, moment: float) -> None:
        if self.search_lag_seconds > 0:
            self._keep(contact, moment, contact.snapshot())

    def _gone(self, contact: Contact, moment: float) -> None:
        if self.search_lag_seconds > 0:
            self._keep(contact, moment, None)

    def _keep(self, contact: Contact, moment: float, version: Contact | None) -> None:
        versions = contact.versions
        versions.append((moment, version))
        # Only the newest version older than the lag can still be seen; drop the rest.
        cutoff = moment - self.search_lag_seconds
        while len(versions) > 1 and versions[1][0] <= cutoff:
            versions.pop(0)

    def _emit(self, changes: list[Change]) -> None:
        if self._depth:
            self._pending.extend(changes)
        elif changes:
            for listener in self.listeners:
                listener(changes)


def _ids(contact: Contact) -> list[str]:
    merged = contact.props.get("hs_merged_object_ids")
    return merged.split(";") if merged else []
